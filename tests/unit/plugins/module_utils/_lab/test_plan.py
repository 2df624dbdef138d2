# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's plans, asserted exactly: build, idempotence on recorded state, drift, down, cleanup."""
from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

from .conftest import live_script
from .memory_files import MemoryFiles

Script = t.List[t.Tuple[t.List[str], int, str, str]]
STATE_DIR = "/state"

GOLDEN_BUILD = """\
ip netns add nilab-golden-h1
ip netns exec nilab-golden-h1 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n nilab-golden-h1 link set lo up
ip netns add nilab-golden-r1
ip netns exec nilab-golden-r1 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n nilab-golden-r1 link set lo up
ip netns add nilab-golden-h2
ip netns exec nilab-golden-h2 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n nilab-golden-h2 link set lo up
ip link add nl-r1 netns nilab-golden-h1 mtu 1500 type veth peer name nl-h1 netns nilab-golden-r1 mtu 1500
ip link add nl-h2 netns nilab-golden-r1 mtu 1400 type veth peer name nl-r1 netns nilab-golden-h2 mtu 1400
ip netns exec nilab-golden-h1 sysctl -q -w net.ipv4.ip_forward=0 'net.ipv4.ping_group_range=0 2147483647' \
net.ipv6.conf.all.forwarding=0
ip netns exec nilab-golden-r1 sysctl -q -w net.ipv4.ip_forward=1 'net.ipv4.ping_group_range=0 2147483647' \
net.ipv6.conf.all.forwarding=1
ip netns exec nilab-golden-h2 sysctl -q -w net.ipv4.ip_forward=0 'net.ipv4.ping_group_range=0 2147483647' \
net.ipv6.conf.all.forwarding=0
ip -n nilab-golden-h1 addr add 198.51.100.10/24 dev nl-r1
ip -n nilab-golden-h1 -6 addr add 2001:db8:1::10/64 dev nl-r1 nodad
ip -n nilab-golden-r1 addr add 198.51.100.1/24 dev nl-h1
ip -n nilab-golden-r1 -6 addr add 2001:db8:1::1/64 dev nl-h1 nodad
ip -n nilab-golden-r1 addr add 203.0.113.1/24 dev nl-h2
ip -n nilab-golden-r1 -6 addr add 2001:db8:2::1/64 dev nl-h2 nodad
ip -n nilab-golden-h2 addr add 203.0.113.10/24 dev nl-r1
ip -n nilab-golden-h2 -6 addr add 2001:db8:2::10/64 dev nl-r1 nodad
ip -n nilab-golden-h1 link set nl-r1 up
ip -n nilab-golden-r1 link set nl-h1 up
ip -n nilab-golden-r1 link set nl-h2 up
ip -n nilab-golden-h2 link set nl-r1 up
ip -n nilab-golden-h1 -4 route add 203.0.113.0/24 via 198.51.100.1 dev nl-r1 proto static
ip -n nilab-golden-h1 -6 route add 2001:db8:2::/64 via 2001:db8:1::1 dev nl-r1 proto static
ip -n nilab-golden-h2 -4 route add 198.51.100.0/24 via 203.0.113.1 dev nl-r1 proto static
ip -n nilab-golden-h2 -6 route add 2001:db8:1::/64 via 2001:db8:2::1 dev nl-r1 proto static
""".replace("\\\n", "")


def golden(default_topology: t.Dict[str, t.Any]) -> t.Any:
    return parse_topology(default_topology, name="golden")


def ok(*argv: str, out: str = "") -> t.Tuple[t.List[str], int, str, str]:
    return (list(argv), 0, out, "")


def engine_for(script: Script, files: t.Optional[MemoryFiles] = None) -> t.Tuple[LabEngine, FakeRunner]:
    runner = FakeRunner(script)
    return LabEngine(runner, files or MemoryFiles(), STATE_DIR), runner


def test_build_from_nothing_is_the_golden_plan(default_topology: t.Dict[str, t.Any]) -> None:
    import shlex

    planned = [shlex.split(line) for line in GOLDEN_BUILD.splitlines()]
    engine, runner = engine_for([ok("ip", "-j", "netns", "list", out="[]")] + [ok(*argv) for argv in planned])
    outcome = engine.up(golden(default_topology))
    assert outcome.changed is True
    assert "\n".join(outcome.commands) + "\n" == GOLDEN_BUILD
    runner.assert_done()


def test_check_mode_plans_the_same_and_runs_nothing(default_topology: t.Dict[str, t.Any]) -> None:
    engine, runner = engine_for([ok("ip", "-j", "netns", "list", out="[]")])
    outcome = engine.up(golden(default_topology), check_mode=True)
    assert "\n".join(outcome.commands) + "\n" == GOLDEN_BUILD
    runner.assert_done()  # only the read ran


def test_recorded_live_lab_needs_nothing(default_topology: t.Dict[str, t.Any]) -> None:
    engine, runner = engine_for(live_script())
    outcome = engine.up(golden(default_topology))
    assert outcome.changed is False and outcome.commands == []
    runner.assert_done()


def edit(script: Script, argv: t.Sequence[str], change: t.Callable[[t.Any], t.Any]) -> Script:
    """Apply ``change`` to the parsed JSON output recorded for ``argv``."""
    edited = []
    for rec_argv, rc, out, err in script:
        if tuple(rec_argv) == tuple(argv):
            out = json.dumps(change(json.loads(out)))
        edited.append((rec_argv, rc, out, err))
    return edited


def test_drift_is_repaired_exactly(default_topology: t.Dict[str, t.Any]) -> None:
    script = live_script()

    def drop_address_and_lower_mtu(interfaces: t.Any) -> t.Any:
        for iface in interfaces:
            if iface["ifname"] == "nl-h2":
                iface["mtu"] = 1500
                iface["addr_info"] = [a for a in iface["addr_info"] if a["local"] != "2001:db8:2::1"]
                iface["addr_info"].append({"family": "inet", "local": "192.0.2.99", "prefixlen": 24, "scope": "global"})
        return interfaces

    def extra_route(routes: t.Any) -> t.Any:
        return routes + [{"dst": "192.0.2.0/24", "gateway": "198.51.100.1", "dev": "nl-r1", "protocol": "static"}]

    script = edit(script, ("ip", "-n", "nilab-golden-r1", "-j", "addr", "show"), drop_address_and_lower_mtu)
    script = edit(script, ("ip", "-n", "nilab-golden-h1", "-j", "-4", "route", "show"), extra_route)
    script = edit(script, ("ip", "-n", "nilab-golden-h2", "-j", "-6", "route", "show"),
                  lambda routes: [r for r in routes if r.get("protocol") != "static"])
    script = [
        (argv, rc, "0\n1\t0\n1\n1\n0\n" if argv[:4] == ["ip", "netns", "exec", "nilab-golden-r1"] else out, err)
        for argv, rc, out, err in script
    ]
    engine, _runner = engine_for(script)
    outcome = engine.up(golden(default_topology), check_mode=True)
    assert outcome.commands == [
        "ip -n nilab-golden-r1 link set nl-h2 mtu 1400",
        "ip netns exec nilab-golden-r1 sysctl -q -w net.ipv4.ip_forward=1 "
        "'net.ipv4.ping_group_range=0 2147483647' net.ipv6.conf.all.accept_dad=0",
        "ip -n nilab-golden-r1 addr del 192.0.2.99/24 dev nl-h2",
        "ip -n nilab-golden-r1 -6 addr add 2001:db8:2::1/64 dev nl-h2 nodad",
        "ip -n nilab-golden-h1 -4 route del 192.0.2.0/24 proto static",
        "ip -n nilab-golden-h2 -6 route add 2001:db8:1::/64 via 2001:db8:2::1 dev nl-r1 proto static",
    ]


def test_stale_node_namespace_and_half_veth_are_replaced(default_topology: t.Dict[str, t.Any]) -> None:
    script = live_script()
    script[0] = ok("ip", "-j", "netns", "list", out=json.dumps(
        [{"name": "nilab-golden-h1"}, {"name": "nilab-golden-h2"}, {"name": "nilab-golden-r1"},
         {"name": "nilab-golden-old"}, {"name": "nilab-goldenx-h1"}]))
    script = edit(script, ("ip", "-n", "nilab-golden-h2", "-j", "addr", "show"),
                  lambda ifaces: [i for i in ifaces if i["ifname"] == "lo"])
    script.append(ok("ip", "netns", "pids", "nilab-golden-old", out="4242\n"))
    engine, _runner = engine_for(script)
    outcome = engine.up(golden(default_topology), check_mode=True)
    assert outcome.commands == [
        "kill -KILL 4242",
        "ip netns del nilab-golden-old",
        "ip -n nilab-golden-r1 link del nl-h2",
        "ip link add nl-h2 netns nilab-golden-r1 mtu 1400 type veth peer name nl-r1 netns nilab-golden-h2 mtu 1400",
        "ip -n nilab-golden-r1 addr add 203.0.113.1/24 dev nl-h2",
        "ip -n nilab-golden-r1 -6 addr add 2001:db8:2::1/64 dev nl-h2 nodad",
        "ip -n nilab-golden-h2 addr add 203.0.113.10/24 dev nl-r1",
        "ip -n nilab-golden-h2 -6 addr add 2001:db8:2::10/64 dev nl-r1 nodad",
        "ip -n nilab-golden-r1 link set nl-h2 up",
        "ip -n nilab-golden-h2 link set nl-r1 up",
    ]


def sshd_topology(default_topology: t.Dict[str, t.Any]) -> t.Any:
    default_topology["nodes"][2]["sshd"] = True
    return golden(default_topology)


def test_sshd_first_start(default_topology: t.Dict[str, t.Any]) -> None:
    topo = sshd_topology(default_topology)
    script = live_script()
    script.append(ok("ip", "netns", "pids", "nilab-golden-h2", out=""))
    # The pids read happens right after h2's sysctl read.
    index = next(i for i, rec in enumerate(script) if rec[0][:4] == ["ip", "netns", "exec", "nilab-golden-h2"])
    script.insert(index + 1, script.pop())
    files = MemoryFiles()
    engine, runner = engine_for(script, files)
    outcome = engine.up(topo, check_mode=True)
    paths = sshd.LabPaths(STATE_DIR, "golden")
    assert outcome.commands == [
        "mkdir -p /state/golden",
        "mkdir -p /run/sshd",
        "ssh-keygen -q -t ed25519 -N '' -C nilab-golden -f /state/golden/id_ed25519",
        "write /state/golden/tcp_relay.py",
        "mkdir -p /state/golden/h2",
        "ssh-keygen -q -t ed25519 -N '' -C nilab-golden-h2 -f /state/golden/h2/ssh_host_ed25519_key",
        "write /state/golden/h2/sshd_config",
        "ip netns exec nilab-golden-h2 /usr/sbin/sshd -f /state/golden/h2/sshd_config",
        "wait for /state/golden/h2/sshd.pid",
    ]
    config = next(step.content for step in outcome.steps if step.path == paths.sshd_config("h2"))
    assert "ListenAddress 203.0.113.10\nListenAddress [2001:db8:2::10]\n" in config
    assert "AuthorizedKeysFile /state/golden/id_ed25519.pub\n" in config
    assert "PidFile /state/golden/h2/sshd.pid\n" in config
    runner.assert_done()


@pytest.mark.parametrize("pid,config_matches,expected", [
    ("777", True, []),
    ("777", False, ["write /state/golden/h2/sshd_config", "kill -TERM 777",
                    "ip netns exec nilab-golden-h2 /usr/sbin/sshd -f /state/golden/h2/sshd_config",
                    "wait for /state/golden/h2/sshd.pid"]),
    ("999", True, ["ip netns exec nilab-golden-h2 /usr/sbin/sshd -f /state/golden/h2/sshd_config",
                   "wait for /state/golden/h2/sshd.pid"]),
])
def test_sshd_running_or_not(default_topology: t.Dict[str, t.Any], pid: str, config_matches: bool,
                             expected: t.List[str]) -> None:
    topo = sshd_topology(default_topology)
    paths = sshd.LabPaths(STATE_DIR, "golden")
    config = sshd.render_sshd_config(topo, topo.node("h2"), paths)
    files = MemoryFiles({
        paths.key: "key", paths.relay: sshd.RELAY_SCRIPT, paths.host_key("h2"): "hostkey",
        paths.sshd_config("h2"): config if config_matches else "old", paths.pid_file("h2"): pid + "\n",
    })
    for directory in (paths.lab_dir, paths.node_dir("h2"), sshd.SSHD_PRIVSEP_DIR):
        files.makedirs(directory, 0o700)
    script = live_script()
    index = next(i for i, rec in enumerate(script) if rec[0][:4] == ["ip", "netns", "exec", "nilab-golden-h2"])
    script.insert(index + 1, ok("ip", "netns", "pids", "nilab-golden-h2", out="777\n"))
    engine, _runner = engine_for(script, files)
    assert engine.up(topo, check_mode=True).commands == expected


def test_down_kills_and_deletes_only_this_lab() -> None:
    files = MemoryFiles()
    files.makedirs("/state/golden", 0o700)
    files.makedirs("/state/other", 0o700)
    listing = json.dumps([{"name": "nilab-golden-h1"}, {"name": "nilab-golden2-h1"}, {"name": "nilab-other-h1"},
                          {"name": "nilab-golden-r1"}, {"name": "nipath-h1"}])
    script = [
        ok("ip", "-j", "netns", "list", out=listing),
        ok("ip", "netns", "pids", "nilab-golden-h1", out="11\n12\n"),
        ok("ip", "netns", "pids", "nilab-golden-r1", out=""),
        ok("ip", "-j", "link", "show", out=json.dumps([{"ifname": "lo"}, {"ifname": "nl-golden2"}])),
        ok("kill", "-KILL", "11", "12"),
        ok("ip", "netns", "del", "nilab-golden-h1"),
        ok("ip", "netns", "del", "nilab-golden-r1"),
    ]
    engine, runner = engine_for(script, files)
    outcome = engine.down("golden")
    assert outcome.commands[-1] == "rm -rf /state/golden"
    runner.assert_done()
    assert files.dirs == {"/state/other"}


def test_down_of_an_absent_lab_changes_nothing() -> None:
    engine, runner = engine_for([ok("ip", "-j", "netns", "list", out=""), ok("ip", "-j", "link", "show", out="[]")])
    outcome = engine.down("golden")
    assert outcome.changed is False and outcome.commands == []
    runner.assert_done()


CLEANUP_NETNS = json.dumps([
    {"name": "nilab-a-h1"}, {"name": "nipath-h1"}, {"name": "nilabx-h1"}, {"name": "nilab-b-r1"},
    {"name": "nilab-bad"}, {"name": "mol-ns1"}, {"name": "nipol-tmp"},
])
ROOT_LINKS = json.dumps([{"ifname": n} for n in ("lo", "eth0", "nl-a", "veth12", "nilab-b-p", "nlx", "docker0")])


def test_cleanup_touches_only_prefixed_names() -> None:
    files = MemoryFiles()
    for entry in ("/state/a", "/state/b", "/state/Not-A-Lab"):
        files.makedirs(entry, 0o700)
    script = [
        ok("ip", "-j", "netns", "list", out=CLEANUP_NETNS),
        ok("ip", "netns", "pids", "nilab-a-h1", out="5\n"),
        ok("ip", "netns", "pids", "nilab-b-r1", out=""),
        ok("ip", "-j", "link", "show", out=ROOT_LINKS),
    ]
    engine, runner = engine_for(script, files)
    outcome = engine.cleanup(check_mode=True)
    assert outcome.commands == [
        "ip link del nl-a",
        "ip link del nilab-b-p",
        "kill -KILL 5",
        "ip netns del nilab-a-h1",
        "ip netns del nilab-b-r1",
        "rm -rf /state/a",
        "rm -rf /state/b",
    ]
    runner.assert_done()


def test_cleanup_of_one_lab() -> None:
    files = MemoryFiles()
    for entry in ("/state/a", "/state/b"):
        files.makedirs(entry, 0o700)
    script = [
        ok("ip", "-j", "netns", "list", out=CLEANUP_NETNS),
        ok("ip", "netns", "pids", "nilab-b-r1", out=""),
        ok("ip", "-j", "link", "show", out=ROOT_LINKS),
        ok("ip", "link", "del", "nilab-b-p"),
        ok("ip", "netns", "del", "nilab-b-r1"),
    ]
    engine, runner = engine_for(script, files)
    outcome = engine.cleanup(labs=["b"])
    assert outcome.commands == ["ip link del nilab-b-p", "ip netns del nilab-b-r1", "rm -rf /state/b"]
    runner.assert_done()
    assert files.dirs == {"/state/a"}


def test_a_failing_step_is_a_lab_error(default_topology: t.Dict[str, t.Any]) -> None:
    script = [
        ok("ip", "-j", "netns", "list", out="[]"),
        (["ip", "netns", "add", "nilab-golden-h1"], 1, "", "Cannot create namespace file: Permission denied"),
    ]
    engine, _runner = engine_for(script)
    with pytest.raises(LabError, match=r"lab step failed: command 'ip netns add nilab-golden-h1' exited with 1: "
                                       r"Cannot create namespace file: Permission denied"):
        engine.up(golden(default_topology))


def test_unreadable_state_is_a_lab_error(default_topology: t.Dict[str, t.Any]) -> None:
    engine, _runner = engine_for([(["ip", "-j", "netns", "list"], 127, "", "ip: command not found")])
    with pytest.raises(LabError, match=r"cannot read the lab state: command 'ip -j netns list' exited with 127"):
        engine.up(golden(default_topology))


def test_a_daemon_that_never_writes_its_pid_file_is_a_lab_error() -> None:
    from ansible_collections.netdevops.icmp.plugins.module_utils._lab.plan import Step

    engine, _runner = engine_for([])
    engine.wait_timeout_s = 0.05
    with pytest.raises(LabError, match=r"/state/x/sshd.pid did not appear within 0 s: the daemon did not start"):
        engine.apply([Step("wait", path="/state/x/sshd.pid")])
    files = MemoryFiles({"/state/x/sshd.pid": "42\n"})
    engine, _runner = engine_for([], files)
    engine.apply([Step("wait", path="/state/x/sshd.pid")])
