# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plans for segments and the controller veth, asserted exactly; the neighbour-table budget."""
from __future__ import annotations

import json
import shlex
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import neigh
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError, TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

from .conftest import shipped
from .memory_files import MemoryFiles

Record = t.Tuple[t.List[str], int, str, str]
TOPOLOGY = {
    "name": "g",
    "nodes": [{"name": "h", "count": 2}],
    "segments": [{"name": "lan", "members": ["h"], "controller": True, "ipv4": "198.51.100.0/24",
                  "ipv6": "2001:db8:100::/64"}],
}
ROOT_LO = {"ifname": "lo", "mtu": 65536, "flags": ["UP"], "addr_info": [{"local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]}
ETH0 = {"ifname": "eth0", "mtu": 1500, "flags": ["UP"], "addr_info": [{"local": "192.0.2.77", "prefixlen": 24, "scope": "global"}]}

GOLDEN = """\
ip netns add nilab-g-h1
ip netns exec nilab-g-h1 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n nilab-g-h1 link set lo up
ip netns add nilab-g-h2
ip netns exec nilab-g-h2 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n nilab-g-h2 link set lo up
ip netns add nilab-g-lan
ip -n nilab-g-lan link add br0 mtu 1500 type bridge mcast_snooping 0
ip link add nl-lan netns nilab-g-h1 mtu 1500 type veth peer name nl-h1 netns nilab-g-lan mtu 1500
ip -n nilab-g-lan link set nl-h1 master br0 up
ip link add nl-lan netns nilab-g-h2 mtu 1500 type veth peer name nl-h2 netns nilab-g-lan mtu 1500
ip -n nilab-g-lan link set nl-h2 master br0 up
ip link add nl-g mtu 1500 type veth peer name ctl0 netns nilab-g-lan mtu 1500
ip -n nilab-g-lan link set ctl0 master br0 up
ip -n nilab-g-lan link set br0 up
ip netns exec nilab-g-h1 sysctl -q -w net.ipv4.ip_forward=0 'net.ipv4.ping_group_range=0 2147483647' \
net.ipv6.conf.all.forwarding=0
ip netns exec nilab-g-h2 sysctl -q -w net.ipv4.ip_forward=0 'net.ipv4.ping_group_range=0 2147483647' \
net.ipv6.conf.all.forwarding=0
ip -n nilab-g-h1 addr add 198.51.100.2/24 dev nl-lan
ip -n nilab-g-h1 -6 addr add 2001:db8:100::2/64 dev nl-lan nodad
ip -n nilab-g-h2 addr add 198.51.100.3/24 dev nl-lan
ip -n nilab-g-h2 -6 addr add 2001:db8:100::3/64 dev nl-lan nodad
ip addr add 198.51.100.1/24 dev nl-g
ip -6 addr add 2001:db8:100::1/64 dev nl-g nodad
ip -n nilab-g-h1 link set nl-lan up
ip -n nilab-g-h2 link set nl-lan up
ip link set nl-g up
""".replace("\\\n", "")


def ok(*argv: str, out: str = "") -> Record:
    return (list(argv), 0, out, "")


def iface(name: str, *addresses: str, master: t.Optional[str] = None, mtu: int = 1500) -> t.Dict[str, t.Any]:
    entry: t.Dict[str, t.Any] = {
        "ifname": name, "mtu": mtu, "flags": ["UP", "LOWER_UP"],
        "addr_info": [{"local": a.split("/")[0], "prefixlen": int(a.split("/")[1]), "scope": "global"} for a in addresses],
    }
    if master:
        entry["master"] = master
    return entry


SYSCTLS = "0\n0 2147483647\n0\n0\n0\n"  # h1/h2: ip_forward, ping_group_range, accept_dad, forwarding, accept_dad


def live(bridge_ports: t.Optional[t.List[t.Dict[str, t.Any]]] = None, root: t.Optional[t.List[t.Dict[str, t.Any]]] = None) -> t.List[Record]:
    """The reads of the built lab ``g``; parts can be replaced to make drift."""
    script = [ok("ip", "-j", "netns", "list", out=json.dumps(
        [{"name": "nilab-g-h1"}, {"name": "nilab-g-h2"}, {"name": "nilab-g-lan"}]))]
    for number in (1, 2):
        netns = "nilab-g-h%d" % number
        script += [
            ok("ip", "-n", netns, "-j", "addr", "show", out=json.dumps([
                ROOT_LO, iface("nl-lan", "198.51.100.%d/24" % (number + 1), "2001:db8:100::%d/64" % (number + 1))])),
            ok("ip", "-n", netns, "-j", "-4", "route", "show", out="[]"),
            ok("ip", "-n", netns, "-j", "-6", "route", "show", out="[]"),
            ok("ip", "netns", "exec", netns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.ping_group_range",
               "net.ipv6.conf.all.accept_dad", "net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.accept_dad",
               out=SYSCTLS),
        ]
    ports = bridge_ports if bridge_ports is not None else [
        iface("br0"), iface("nl-h1", master="br0"), iface("nl-h2", master="br0"), iface("ctl0", master="br0"),
    ]
    script.append(ok("ip", "-n", "nilab-g-lan", "-j", "addr", "show", out=json.dumps([ROOT_LO] + ports)))
    if root is None:
        root = [ROOT_LO, ETH0, iface("nl-g", "198.51.100.1/24", "2001:db8:100::1/64")]
    script.append(ok("ip", "-j", "addr", "show", out=json.dumps(root)))
    return script


def engine_for(script: t.List[Record], files: t.Optional[MemoryFiles] = None) -> t.Tuple[LabEngine, FakeRunner]:
    runner = FakeRunner(script)
    return LabEngine(runner, files or MemoryFiles(), "/state"), runner


def test_build_from_nothing_is_the_golden_plan() -> None:
    planned = [shlex.split(line) for line in GOLDEN.splitlines()]
    script = [ok("ip", "-j", "netns", "list", out="[]"), ok("ip", "-j", "addr", "show", out=json.dumps([ROOT_LO, ETH0]))]
    engine, runner = engine_for(script + [ok(*argv) for argv in planned])
    outcome = engine.up(parse_topology(TOPOLOGY))
    assert "\n".join(outcome.commands) + "\n" == GOLDEN
    runner.assert_done()
    # The only root-namespace changes: the veth, its addresses, up. Never a route.
    root = [line for line in GOLDEN.splitlines()
            if not line.startswith(("ip -n", "ip netns")) and " netns nilab-g-h" not in line]
    assert root == [
        "ip link add nl-g mtu 1500 type veth peer name ctl0 netns nilab-g-lan mtu 1500",
        "ip addr add 198.51.100.1/24 dev nl-g", "ip -6 addr add 2001:db8:100::1/64 dev nl-g nodad", "ip link set nl-g up",
    ]


def test_built_segment_needs_nothing() -> None:
    engine, runner = engine_for(live())
    assert engine.up(parse_topology(TOPOLOGY), check_mode=True).commands == []
    runner.assert_done()


def test_segment_drift_is_repaired_exactly() -> None:
    ports = [iface("br0", mtu=1400), iface("nl-h1"), iface("ctl0", master="br0"), iface("stray", master="br0")]
    root = [ROOT_LO, ETH0, iface("nl-g", "198.51.100.9/24")]
    engine, _runner = engine_for(live(ports, root))
    assert engine.up(parse_topology(TOPOLOGY), check_mode=True).commands == [
        "ip -n nilab-g-lan link del stray",
        "ip -n nilab-g-lan link set br0 mtu 1500",
        "ip -n nilab-g-lan link set nl-h1 master br0 up",
        "ip -n nilab-g-h2 link del nl-lan",
        "ip link add nl-lan netns nilab-g-h2 mtu 1500 type veth peer name nl-h2 netns nilab-g-lan mtu 1500",
        "ip -n nilab-g-lan link set nl-h2 master br0 up",
        "ip -n nilab-g-h2 addr add 198.51.100.3/24 dev nl-lan",
        "ip -n nilab-g-h2 -6 addr add 2001:db8:100::3/64 dev nl-lan nodad",
        "ip addr del 198.51.100.9/24 dev nl-g",
        "ip addr add 198.51.100.1/24 dev nl-g",
        "ip -6 addr add 2001:db8:100::1/64 dev nl-g nodad",
        "ip -n nilab-g-h2 link set nl-lan up",
    ]


def test_half_a_controller_veth_is_replaced() -> None:
    ports = [iface("br0"), iface("nl-h1", master="br0"), iface("nl-h2", master="br0")]
    engine, _runner = engine_for(live(ports, [ROOT_LO, ETH0, iface("nl-g", "198.51.100.1/24")]))
    assert engine.up(parse_topology(TOPOLOGY), check_mode=True).commands == [
        "ip link del nl-g",
        "ip link add nl-g mtu 1500 type veth peer name ctl0 netns nilab-g-lan mtu 1500",
        "ip -n nilab-g-lan link set ctl0 master br0 up",
        "ip addr add 198.51.100.1/24 dev nl-g",
        "ip -6 addr add 2001:db8:100::1/64 dev nl-g nodad",
        "ip link set nl-g up",
    ]


def test_a_controller_subnet_taken_in_the_init_namespace_is_refused() -> None:
    taken = [ROOT_LO, iface("nl-other", "198.51.100.1/25"), iface("nl-g", "198.51.100.1/24")]
    engine, _runner = engine_for(live(root=taken))
    with pytest.raises(LabError) as caught:
        engine.up(parse_topology(TOPOLOGY), check_mode=True)
    assert str(caught.value) == (
        "segment lan of lab g needs 198.51.100.0/24 on the controller, but interface nl-other of the init namespace "
        "already has 198.51.100.1/25 in that range (another lab, or a real network); tear that down first or give "
        "the segment another prefix"
    )


def test_down_removes_the_controller_veth_first() -> None:
    script = [
        ok("ip", "-j", "netns", "list", out=json.dumps([{"name": "nilab-g-h1"}, {"name": "nilab-g-lan"}])),
        ok("ip", "netns", "pids", "nilab-g-h1", out=""),
        ok("ip", "netns", "pids", "nilab-g-lan", out=""),
        ok("ip", "-j", "link", "show", out=json.dumps([{"ifname": "lo"}, {"ifname": "nl-g"}, {"ifname": "nl-gx"}])),
    ]
    engine, _runner = engine_for(script)
    assert engine.down("g", check_mode=True).commands == [
        "ip link del nl-g", "ip netns del nilab-g-h1", "ip netns del nilab-g-lan",
    ]


ARP_CACHE = """\
entries  allocs   destroys hash_grows lookups  hits
0000012c 00000001 00000000 00000000   00000000 00000000
0000012c 00000001 00000000 00000000   00000008 00000004
"""


def proc(thresh4: str = "1024\n", thresh6: str = "1024\n") -> MemoryFiles:
    return MemoryFiles({
        neigh.GC_THRESH3 % 4: thresh4, neigh.GC_THRESH3 % 6: thresh6,
        neigh.CACHE_STATS[4]: ARP_CACHE, neigh.CACHE_STATS[6]: ARP_CACHE.replace("12c", "002"),
    })


def test_neighbour_limits_are_read_not_written() -> None:
    files = proc()
    engine, _runner = engine_for([], files)
    limits = engine.neighbour_limits()
    assert limits == [neigh.TableLimit(4, 1024, 300), neigh.TableLimit(6, 1024, 2)]
    assert files.modes == {}


def test_a_fleet_over_the_neighbour_table_is_refused_before_anything_runs() -> None:
    topo = parse_topology(shipped("fleet"), fleet_size=200)
    engine, runner = engine_for([], proc(thresh4="256\n"))
    with pytest.raises(TopologyError) as caught:
        engine.up(topo)
    assert str(caught.value) == (
        "lab fleet needs at least 400 IPv4 neighbour table entries (2 per link, 2 per segment member besides one), "
        "more than the host-wide limit /proc/sys/net/ipv4/neigh/default/gc_thresh3 = 256 shared by every namespace; "
        "build a smaller lab (fewer hosts per segment, ipv4: false where not needed) - the lab never changes that limit"
    )
    assert runner.calls == []


def test_a_fleet_close_to_the_limit_gets_a_warning_naming_the_numbers() -> None:
    topo = parse_topology(shipped("fleet"), fleet_size=250)
    warnings = neigh.check_budget(topo, [neigh.TableLimit(4, 1024, 300), neigh.TableLimit(6, 1024, 2)])
    assert warnings == [
        "lab fleet needs at least 500 IPv4 neighbour table entries and 300 are in use now (all namespaces, this "
        "lab's own included if it is up), against the host-wide limit /proc/sys/net/ipv4/neigh/default/gc_thresh3 "
        "= 1024; every pair of lab nodes that talk to each other adds 2 more, and past the limit the kernel drops "
        "packets (neighbour table overflow)",
    ]
    assert neigh.check_budget(parse_topology(shipped("fleet"), fleet_size=100), [neigh.TableLimit(4, 1024, 2)]) == []


@pytest.mark.parametrize("text,expected", [("1024\n", 1024), ("", None), ("x", None), ("١٠", None), (None, None)])
def test_gc_thresh_parser(text: t.Optional[str], expected: t.Optional[int]) -> None:
    assert neigh.parse_gc_thresh(text) == expected


@pytest.mark.parametrize("text", ["", "entries\n", "allocs x\n00000001 1\n", "entries\nzz\n"])
def test_cache_parser_tolerates_odd_input(text: str) -> None:
    assert neigh.parse_cache_entries(text) is None


def test_needed_entries_count_links_and_segments() -> None:
    topo = parse_topology({
        "name": "n", "nodes": ["a", "b", {"name": "r", "role": "router"}],
        "links": [{"a": "a", "b": "r", "ipv6": False}],
        "segments": [{"name": "lan", "members": ["b", "r"], "controller": True}],
    })
    assert neigh.needed_entries(topo, 4) == 2 + 4
    assert neigh.needed_entries(topo, 6) == 4


@pytest.mark.parametrize("state_dir", ["relative", "/run/x\nHostKey /etc/shadow", "/run/a b", "/run/'x'", ""])
def test_state_dir_that_reaches_sshd_config_is_matched_in_full(state_dir: str) -> None:
    with pytest.raises(LabError, match="state_dir .* is refused: use an absolute path"):
        LabEngine(FakeRunner([]), MemoryFiles(), state_dir)
