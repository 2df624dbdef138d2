# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab on a real kernel: reachability, MTU, idempotence, teardown, cleanup, sshd.

Every packet goes to lab addresses inside namespaces these tests built.
"""
from __future__ import annotations

import json
import subprocess
import time
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner

pytestmark = [pytest.mark.root, pytest.mark.lab]


def netns_names() -> t.List[str]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [entry["name"] for entry in json.loads(out or "[]")]


def root_link_names() -> t.List[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [entry["ifname"] for entry in json.loads(out)]


def process_ends(pid: int, limit_s: float = 10.0) -> bool:
    """True once ``pid`` is gone or a zombie (SIGKILL is delivered asynchronously)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def ping(lab: t.Any, node: str, target: str, *extra: str) -> subprocess.CompletedProcess:
    family = "-6" if ":" in target else "-4"
    return lab.run(node, ["ping", family, "-c", "1", "-W", "2", *extra, target], check=False)


# Opens an unprivileged ICMP datagram socket: fails with EACCES outside ping_group_range.
ICMP_SOCKET = ["/usr/bin/python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, "
               "socket.IPPROTO_ICMP).close()"]
# One echo over an unprivileged ICMP datagram socket (the kernel fills in id and checksum).
ICMP_ECHO = ["/usr/bin/python3", "-c", "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, "
             "socket.IPPROTO_ICMP); s.settimeout(2); s.sendto(b'\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x01lab', "
             "(sys.argv[1], 0)); data = s.recv(128); sys.exit(0 if data[0] == 0 else 1)"]


def every_address(lab: t.Any) -> t.List[t.Tuple[str, str]]:
    found = []
    for node in lab.topology.nodes:
        addresses = lab.addresses(node.name)
        found += [(node.name, addr) for addr in addresses["ipv4"] + addresses["ipv6"]]
    return found


def test_default_every_node_reaches_every_address(lab_default: t.Any) -> None:
    failures = []
    for source in ("h1", "r1", "h2", "h3"):
        for owner, target in every_address(lab_default):
            result = ping(lab_default, source, target)
            if result.returncode != 0:
                failures.append("%s -> %s (%s): %s" % (source, owner, target, result.stdout[-200:]))
    assert not failures, "\n".join(failures)


def test_default_addresses_and_links_match_the_contract(lab_default: t.Any) -> None:
    assert lab_default.address("h1") == "198.51.100.10"
    assert lab_default.address("h2", 6) == "2001:db8:2::10"
    assert sorted(lab_default.addresses("r1")["ipv4"]) == ["198.51.100.1", "198.51.100.129", "198.51.100.133", "203.0.113.1"]
    assert "2001:db8:1::1" in lab_default.addresses("r1")["ipv6"]
    mtus = {(link["a"], link["b"]): link["mtu"] for link in lab_default.links()}
    assert mtus == {("r1", "h2"): 1400, ("r1", "e1"): 1500, ("r1", "e2"): 1500, ("e1", "r2"): 1280, ("e2", "r2"): 1280,
                    ("r2", "r3"): 1500, ("r3", "h3"): 1500}
    live = json.loads(lab_default.run("h2", ["ip", "-j", "link", "show", "nl-r1"]).stdout)
    assert live[0]["mtu"] == 1400
    # h1, x1 and r1 share the LAN; r1 reaches r3 over both branches of the diamond.
    assert ping(lab_default, "h1", "198.51.100.66").returncode == 0
    to_r3 = json.loads(lab_default.run("r1", ["ip", "-j", "-4", "route", "show", "198.51.100.144/30"]).stdout)
    assert sorted(hop["dev"] for hop in to_r3[0]["nexthops"]) == ["nl-e1", "nl-e2"]


def test_default_sysctls(lab_default: t.Any) -> None:
    assert lab_default.sysctl("r1", "net.ipv4.ip_forward") == "1"
    assert lab_default.sysctl("r1", "net.ipv6.conf.all.forwarding") == "1"
    assert lab_default.sysctl("h1", "net.ipv4.ip_forward") == "0"
    assert lab_default.sysctl("h1", "net.ipv4.ping_group_range") == "0 2147483647"


def test_unprivileged_icmp_echo_works_in_the_lab(lab_default: t.Any) -> None:
    # Not the system ping: it has cap_net_raw and would pass without ping_group_range.
    result = lab_default.run("h1", ICMP_ECHO + [lab_default.address("h2")], user=65534, check=False)
    assert result.returncode == 0, result.stderr


def test_no_route_out_of_the_lab(lab_default: t.Any) -> None:
    # 192.0.2.1 is a documentation address not used by the default lab: no route.
    result = ping(lab_default, "h1", "192.0.2.1")
    assert result.returncode != 0
    assert "unreachable" in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("family,fits,too_big", [(4, 1372, 1373), (6, 1352, 1353)])
def test_default_mtu_bottleneck(lab_default: t.Any, family: int, fits: int, too_big: int) -> None:
    target = lab_default.address("h2", family)
    assert ping(lab_default, "h1", target, "-M", "do", "-s", str(fits)).returncode == 0
    result = ping(lab_default, "h1", target, "-M", "do", "-s", str(too_big))
    assert result.returncode != 0
    text = (result.stdout + result.stderr).lower()
    assert "1400" in text or "too long" in text, text


def test_chain_reaches_every_hop_both_families(lab_chain: t.Any) -> None:
    assert len([node for node in lab_chain.topology.nodes if node.role == "router"]) >= 6
    failures = []
    for owner, target in every_address(lab_chain):
        result = ping(lab_chain, "h1", target)
        if result.returncode != 0:
            failures.append("h1 -> %s (%s)" % (owner, target))
    assert not failures, failures


def test_chain_has_1400_and_1280_bottlenecks(lab_chain: t.Any) -> None:
    mtus = sorted(link["mtu"] for link in lab_chain.links())
    assert mtus[:2] == [1280, 1400]
    target = lab_chain.address("h2", 6)
    assert ping(lab_chain, "h1", target, "-M", "do", "-s", "1232").returncode == 0
    assert ping(lab_chain, "h1", target, "-M", "do", "-s", "1233").returncode != 0


def test_second_up_changes_nothing(lab_default: t.Any) -> None:
    outcome = lab_default.engine.up(lab_default.topology)
    assert outcome.commands == []
    assert outcome.changed is False


def test_up_repairs_drift_then_is_idempotent(make_lab: t.Any) -> None:
    lab = make_lab("default")
    h1 = lab.netns("h1")
    subprocess.run(["ip", "-n", h1, "addr", "del", "198.51.100.10/25", "dev", "nl-lan"], check=True)
    subprocess.run(["ip", "-n", lab.netns("r1"), "link", "set", "nl-h2", "mtu", "1500"], check=True)
    lab.sysctl("r1", "net.ipv4.ip_forward", "0")
    outcome = lab.engine.up(lab.topology)
    # Deleting the address took its connected and static routes with it: every IPv4 route of h1 comes back.
    routes = ["ip -n %s -4 route add %s via 198.51.100.1 dev nl-lan proto static" % (h1, route.destination)
              for route in lab.topology.routes if route.node == "h1" and route.family == 4]
    assert len(routes) == 7
    assert outcome.commands == [
        "ip -n %s link set nl-h2 mtu 1400" % lab.netns("r1"),
        "ip netns exec %s sysctl -q -w net.ipv4.ip_forward=1" % lab.netns("r1"),
        "ip -n %s addr add 198.51.100.10/25 dev nl-lan" % h1,
        *routes,
    ]
    assert ping(lab, "h1", lab.address("h2")).returncode == 0
    assert lab.engine.up(lab.topology).changed is False


def test_down_leaves_nothing(make_lab: t.Any) -> None:
    topology = {
        "name": "ignored",
        "nodes": [{"name": "a"}, {"name": "gw", "role": "router"}, {"name": "b", "sshd": True}],
        "links": [{"a": "a", "b": "gw"}, {"a": "gw", "b": "b", "mtu": 1400}],
    }
    lab = make_lab(topology)
    pid_file = lab.paths.pid_file("b")
    with open(pid_file, encoding="utf-8") as handle:
        sshd_pid = int(handle.read())
    prefix = "nilab-%s-" % lab.name
    assert len([name for name in netns_names() if name.startswith(prefix)]) == 3
    outcome = lab.engine.down(lab.name)
    assert outcome.changed
    assert [name for name in netns_names() if name.startswith(prefix)] == []
    assert [name for name in root_link_names() if name.startswith("nl-")] == []
    assert process_ends(sshd_pid)
    assert lab.engine.down(lab.name).changed is False


def test_cleanup_removes_a_crashed_lab_and_nothing_else(make_lab: t.Any, tmp_path: t.Any) -> None:
    survivor = make_lab("default")  # a live lab that a scoped cleanup must not touch
    crashed = ("x%s" % survivor.name[1:])[:7]  # short: root link names below have 15 characters at most
    ns_h1, ns_r1, decoy = "nilab-%s-h1" % crashed, "nilab-%s-r1" % crashed, "nidecoy-%s" % crashed
    engine = LabEngine(SubprocessRunner(), state_dir=str(tmp_path))
    (tmp_path / crashed).mkdir()
    sleeper = None
    try:
        for name in (ns_h1, ns_r1, decoy):
            subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "link", "add", "nl-r1", "netns", ns_h1, "type", "veth", "peer", "name", "nl-h1",
                        "netns", ns_r1], check=True)
        # Debris in the root namespace (labs never create links there).
        subprocess.run(["ip", "link", "add", "nl-%s" % crashed, "type", "veth", "peer", "name",
                        "nilab-%s-p" % crashed], check=True)
        sleeper = subprocess.Popen(["ip", "netns", "exec", ns_h1, "sleep", "300"])

        everything = engine.cleanup(check_mode=True)
        planned = "\n".join(everything.commands)
        assert "ip netns del %s" % ns_h1 in planned
        assert "ip link del nl-%s" % crashed in planned
        assert decoy not in planned
        assert all(
            "nilab-" in line or "nl-" in line or line.startswith(("kill", "rm -rf"))
            for line in everything.commands
        ), everything.commands

        outcome = engine.cleanup(labs=[crashed])
        assert outcome.changed
        assert sleeper.wait(timeout=30) != 0  # killed, so the namespace can go away
        names_now = netns_names()
        assert ns_h1 not in names_now and ns_r1 not in names_now
        assert decoy in names_now
        assert "nl-%s" % crashed not in root_link_names()
        assert "nilab-%s-p" % crashed not in root_link_names()
        assert not (tmp_path / crashed).exists()
        assert ping(survivor, "h1", survivor.address("h2")).returncode == 0
        assert engine.cleanup(labs=[crashed]).changed is False
    finally:
        if sleeper is not None and sleeper.poll() is None:
            sleeper.kill()
        for name in (ns_h1, ns_r1, decoy):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", "nl-%s" % crashed], capture_output=True, check=False)


def test_sshd_node_reachable_over_the_lab_path(make_lab: t.Any) -> None:
    topology = {
        "name": "ignored",
        "nodes": [{"name": "h1"}, {"name": "r1", "role": "router"}, {"name": "h2", "sshd": True}],
        "links": [{"a": "h1", "b": "r1"}, {"a": "r1", "b": "h2", "mtu": 1400}],
    }
    lab = make_lab(topology)
    for family in (4, 6):
        result = lab.run("h1", lab.ssh_argv("h1", "h2", ["ip", "-j", "addr", "show", "nl-r1"], family), check=False)
        assert result.returncode == 0, result.stderr
        addresses = [info["local"] for info in json.loads(result.stdout)[0]["addr_info"]]
        assert lab.address("h2", family) in addresses
    # h1 and h2 share no link, so the session was routed through r1.
    assert {frozenset((link["a"], link["b"])) for link in lab.links()} == {
        frozenset(("h1", "r1")), frozenset(("r1", "h2")),
    }
    # A running sshd is recognised: building again changes nothing.
    assert lab.engine.up(lab.topology).commands == []


def test_fixture_helpers_nft_sysctl_user_popen(make_lab: t.Any) -> None:
    lab = make_lab({
        "name": "ignored",
        "nodes": [{"name": "h1", "ping_group_range": "1 0"}, {"name": "r1", "role": "router"}, {"name": "h2"}],
        "links": [{"a": "h1", "b": "r1"}, {"a": "r1", "b": "h2"}],
    })
    target = lab.address("h2")
    # The topology's ping_group_range forbids unprivileged ICMP sockets on h1 only. (The
    # system ping has cap_net_raw and proves nothing here; open the socket directly.)
    assert lab.sysctl("h1", "net.ipv4.ping_group_range") == "1 0"
    assert lab.run("h1", ICMP_SOCKET, user=65534, check=False).returncode != 0
    assert lab.run("h2", ICMP_SOCKET, user=65534, check=False).returncode == 0
    assert lab.run("h1", ["id", "-u"], user=65534).stdout.strip() == "65534"
    lab.sysctl("h1", "net.ipv4.ping_group_range", "0 2147483647")
    assert lab.run("h1", ICMP_SOCKET, user=65534, check=False).returncode == 0

    # A firewall in r1 drops forwarded echo requests; the lab's other traffic still flows.
    lab.nft("r1", "table inet labtest {\n  chain transit {\n    type filter hook forward priority 0;\n"
                  "    icmp type echo-request drop\n  }\n}\n")
    assert ping(lab, "h1", target).returncode != 0
    assert ping(lab, "h1", lab.address("h2", 6)).returncode == 0
    assert ping(lab, "h1", lab.address("r1")).returncode == 0

    # popen runs inside the namespace too, and a process left running does not block teardown.
    proc = lab.popen("h2", ["sh", "-c", "ip -j addr show nl-r1; sleep 300"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert target in first
    lab.down()
    assert proc.wait(timeout=30) != 0
    assert not [name for name in netns_names() if name.startswith("nilab-%s-" % lab.name)]


SEGMENT_TOPOLOGY = {
    "name": "ignored",
    "nodes": [{"name": "h", "count": 3, "sshd": True}, {"name": "r1", "role": "router"}, {"name": "far"}],
    # Explicit: 192.0.2.0/24 (the allocation pool) may be a real network of the controller,
    # which the lab refuses to shadow.
    "segments": [{"name": "lan", "members": ["h", "r1"], "controller": True, "ipv4": "203.0.113.0/24"}],
    "links": [{"a": "r1", "b": "far", "mtu": 1400}],
}


def root_routes(ifname: str, family: int) -> t.List[t.Dict[str, t.Any]]:
    out = subprocess.run(["ip", "-j", "-%d" % family, "route", "show", "dev", ifname],
                         capture_output=True, text=True, check=True).stdout
    return t.cast(t.List[t.Dict[str, t.Any]], json.loads(out or "[]"))


def test_segment_with_the_controller(make_lab: t.Any) -> None:
    lab = make_lab(SEGMENT_TOPOLOGY)
    segment = lab.topology.segments[0]
    controller = "nl-%s" % lab.name
    assert controller in root_link_names()
    for family in (4, 6):
        # Members reach each other across the bridge, and the far side through r1.
        assert ping(lab, "h1", lab.address("h3", family)).returncode == 0
        assert ping(lab, "h2", lab.address("far", family)).returncode == 0
        # The init namespace has only the connected subnet on the veth: no route was added.
        routes = root_routes(controller, family)
        assert [route["dst"] for route in routes if route.get("protocol") != "kernel" or "gateway" in route] == []
        assert str(segment.prefix(family)) in [route["dst"] for route in routes]
        # The controller reaches every sshd member directly (no relay, no ProxyCommand).
        for node in ("h1", "h3"):
            result = subprocess.run(
                ["ssh", *ssh_options(lab), "root@%s" % lab.address(node, family), "ip", "-j", "addr", "show", "nl-lan"],
                capture_output=True, text=True, timeout=30, check=False,
            )
            assert result.returncode == 0, result.stderr
            assert lab.address(node, family) in result.stdout
    assert lab.engine.up(lab.topology).commands == []

    # Drift: the controller veth deleted by hand (its bridge port goes with it) is put back.
    subprocess.run(["ip", "link", "del", controller], check=True)
    repaired = lab.engine.up(lab.topology)
    assert repaired.commands[0] == "ip link add %s mtu 1500 type veth peer name ctl0 netns %s mtu 1500" % (
        controller, segment.netns)
    result = subprocess.run(["ssh", *ssh_options(lab), "root@%s" % lab.address("h2"), "true"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    # A crashed lab's leftovers, the controller veth included, go with the scoped cleanup.
    assert lab.engine.cleanup(labs=[lab.name]).changed
    assert controller not in root_link_names()
    assert not [name for name in netns_names() if name.startswith("nilab-%s-" % lab.name)]


def ssh_options(lab: t.Any) -> t.List[str]:
    from ansible_collections.netdevops.icmp.plugins.module_utils._lab.sshd import ssh_client_options

    return ssh_client_options(lab.paths) + ["-o", "ConnectTimeout=10"]
