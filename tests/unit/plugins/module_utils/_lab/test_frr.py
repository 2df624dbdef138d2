# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""BGP routers in the lab: validation against the topology, the bgpd config, the plan."""
from __future__ import annotations

import copy
import sys
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr, inventory, sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError, TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

from .conftest import live_script
from .memory_files import MemoryFiles

PAIR: t.Dict[str, t.Any] = {
    "name": "bgp",
    "nodes": [
        {"name": "r1", "role": "router", "frr": {
            "asn": 64500, "neighbors": [{"node": "r2"}], "networks": ["203.0.113.0/25"]}},
        {"name": "r2", "role": "router", "frr": {
            "asn": 64501, "neighbors": [{"node": "r1", "timers": [1, 3]}],
            "announce": {"pool": "2001:db8:8000::/33", "prefixlen": 64, "count": 3000}}},
        {"name": "r3", "role": "router"},
    ],
    "links": [
        {"a": {"node": "r1", "ipv4": "198.51.100.1", "ipv6": "2001:db8:1::1"},
         "b": {"node": "r2", "ipv4": "198.51.100.2", "ipv6": "2001:db8:1::2"},
         "ipv4": "198.51.100.0/24", "ipv6": "2001:db8:1::/64"},
        {"a": "r2", "b": "r3"},
    ],
}


def pair(**changes: t.Any) -> t.Dict[str, t.Any]:
    data = copy.deepcopy(PAIR)
    for node, frr_spec in changes.items():
        entry = next(item for item in data["nodes"] if item["name"] == node)
        if frr_spec is None:
            entry.pop("frr", None)
        else:
            entry["frr"] = frr_spec
    return data


def test_a_pair_peers_on_its_shared_link() -> None:
    topo = parse_topology(pair())
    r1, r2 = topo.bgp
    assert (r1.node, r1.asn, r1.router_id) == ("r1", 64500, "198.51.100.1")
    assert r1.neighbors == (frr.Neighbor("r2", "198.51.100.2", "198.51.100.1", 64501, None, 3, 9),)
    assert r2.neighbors[0].keepalive == 1 and r2.neighbors[0].hold == 3
    assert len(r2.networks) == 3000 and r2.networks[:2] == ("2001:db8:8000::/64", "2001:db8:8000:1::/64")


def test_the_config_names_every_session_and_network() -> None:
    topo = parse_topology(pair())
    text = frr.render_config(topo.bgp[0], "/s/bgp/r1")
    assert "router bgp 64500\n bgp router-id 198.51.100.1\n" in text
    assert " neighbor 198.51.100.2 remote-as 64501\n" in text
    assert " neighbor 198.51.100.2 update-source 198.51.100.1\n" in text
    assert " address-family ipv4 unicast\n  network 203.0.113.0/25\n  neighbor 198.51.100.2 activate\n" in text
    assert "log file /s/bgp/r1/frr/bgpd.log informational" in text
    assert "ebgp-multihop" not in text and "ipv6 unicast" not in text


def test_routers_without_a_shared_link_need_multihop_for_ebgp() -> None:
    spec = {"asn": 64502, "neighbors": [{"node": "r1"}]}
    with pytest.raises(TopologyError, match=r"node 'r3' frr neighbor 'r1': the routers share no link .* multihop"):
        parse_topology(pair(r3=spec))
    spec["neighbors"][0]["multihop"] = 3
    r3 = parse_topology(pair(r3=spec)).bgp[2]
    assert r3.neighbors[0].multihop == 3 and r3.neighbors[0].address == "198.51.100.1"
    assert " neighbor 198.51.100.1 ebgp-multihop 3" in frr.render_config(r3, "/s/r3")


@pytest.mark.parametrize("node, spec, message", [
    ("r1", {"asn": 0, "neighbors": [{"node": "r2"}]}, r"asn 0 must be a whole number from 1"),
    ("r1", {"asn": "64500", "neighbors": [{"node": "r2"}]}, r"asn '64500' must be a whole number"),
    ("r1", {"asn": 64500, "neighbors": []}, r"neighbors must be a non-empty list"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r9"}]}, r"neighbor 'r9': node must be another node of the lab"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r1"}]}, r"neighbor 'r1': node must be another node"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2", "timers": [3, 5]}]}, r"timers \[3, 5\] must be"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2", "address": "192.0.2.99"}]},
     r"address '192.0.2.99' is not one of r2's lab addresses \(198.51.100.2, "),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2"}], "networks": ["10.0.0.0/8"]},
     r"'10.0.0.0/8' is not a prefix inside the documentation ranges"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2"}], "networks": ["203.0.113.1/24"]}, r"host bits clear"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2"}], "bogus": 1}, r"bogus"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2"}], "announce": {"pool": "203.0.113.0/24", "prefixlen": 32,
                                                                      "count": 257}},
     r"count 257 must be from 1 to 256"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2", "multihop": 0}]}, r"multihop 0 must be"),
    ("r1", {"asn": 64500, "neighbors": [{"node": "r2"}], "router_id": "2001:db8::1"}, r"router_id .* not an IPv4"),
])
def test_bad_frr_entries_are_refused_quoting_the_value(node: str, spec: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_topology(pair(**{node: spec}))


def test_only_routers_run_bgpd_and_a_peer_without_bgpd_needs_its_asn() -> None:
    data = pair()
    data["nodes"][0]["role"] = "host"
    with pytest.raises(TopologyError, match=r"node 'r1' has frr but role 'host': only router nodes run bgpd"):
        parse_topology(data)
    with pytest.raises(TopologyError, match=r"neighbor 'r3': 'r3' runs no bgpd of the lab, so give its asn"):
        parse_topology(pair(r1={"asn": 64500, "neighbors": [{"node": "r3", "multihop": 2}]}))


def test_counted_nodes_cannot_run_bgpd() -> None:
    data = pair()
    data["nodes"].append({"name": "h", "count": 2, "role": "router", "frr": {"asn": 1, "neighbors": [{"node": "r1"}]}})
    with pytest.raises(TopologyError, match=r"frr is not allowed on a counted entry"):
        parse_topology(data)


def test_the_inventory_tells_plays_how_to_reach_vtysh() -> None:
    topo = parse_topology(pair())
    data = inventory.build_inventory(topo, sshd.LabPaths("/state", "bgp"), "python3")
    facts = data["all"]["children"]["lab_routers"]["hosts"]["r1"]["lab_frr"]
    assert facts["vtysh"] == "/usr/bin/vtysh --vty_socket /state/bgp/r1/frr"
    assert facts["asn"] == 64500 and facts["neighbors"] == [{"node": "r2", "address": "198.51.100.2", "asn": 64501}]
    assert "lab_frr" not in data["all"]["children"]["lab_routers"]["hosts"]["r3"]


def golden_with_bgp(default_topology: t.Dict[str, t.Any]) -> t.Any:
    default_topology["nodes"][1]["frr"] = {"asn": 64500, "neighbors": [{"node": "h2", "asn": 64501}]}
    return parse_topology(default_topology, name="golden")


def engine_with(files: MemoryFiles, r1_pids: str) -> t.Tuple[LabEngine, FakeRunner]:
    script = live_script()
    index = next(i for i, rec in enumerate(script) if rec[0][:4] == ["ip", "netns", "exec", "nilab-golden-r1"])
    script.insert(index + 1, (["ip", "netns", "pids", "nilab-golden-r1"], 0, r1_pids, ""))
    runner = FakeRunner(script)
    engine = LabEngine(runner, files, state_dir="/state")
    engine.bgpd = sys.executable
    return engine, runner


def test_bgpd_first_start(default_topology: t.Dict[str, t.Any]) -> None:
    topo = golden_with_bgp(default_topology)
    engine, runner = engine_with(MemoryFiles(), "")
    outcome = engine.up(topo, check_mode=True)
    assert outcome.commands == [
        "mkdir -p /state/golden",
        "mkdir -p /state/golden/r1",
        "mkdir -p /state/golden/r1/frr",
        "write /state/golden/r1/frr/bgpd.conf",
        "rm -f /state/golden/r1/frr/bgpd.pid",
        "ip netns exec nilab-golden-r1 /usr/lib/frr/bgpd -d -S -Z -n -P 0 -p 179 -f /state/golden/r1/frr/bgpd.conf "
        "-i /state/golden/r1/frr/bgpd.pid --vty_socket /state/golden/r1/frr",
        "wait for /state/golden/r1/frr/bgpd.pid",
    ]
    runner.assert_done()


@pytest.mark.parametrize("pid, same_config, expected", [
    ("42", True, []),
    ("42", False, ["write", "kill -TERM 42", "rm -f", "ip netns exec nilab-golden-r1", "wait for"]),
    ("77", True, ["rm -f", "ip netns exec nilab-golden-r1", "wait for"]),
])
def test_bgpd_running_or_not(default_topology: t.Dict[str, t.Any], pid: str, same_config: bool,
                             expected: t.List[str]) -> None:
    topo = golden_with_bgp(default_topology)
    paths = sshd.LabPaths("/state", "golden")
    node_dir = paths.node_dir("r1")
    files = MemoryFiles({
        frr.config_path(node_dir): frr.render_config(topo.bgp[0], node_dir) if same_config else "old",
        frr.pid_path(node_dir): pid + "\n",
    })
    for directory in (paths.lab_dir, node_dir, frr.directory(node_dir)):
        files.makedirs(directory, 0o700)
    engine, _runner = engine_with(files, "42\n")
    commands = engine.up(topo, check_mode=True).commands
    assert [command.split(" /")[0] for command in commands] == [word.split(" /")[0] for word in expected]


def test_a_lab_with_bgp_routers_needs_frr_installed(default_topology: t.Dict[str, t.Any]) -> None:
    topo = golden_with_bgp(default_topology)
    engine, _runner = engine_with(MemoryFiles(), "")
    engine.bgpd = "/nonexistent/bgpd"
    with pytest.raises(LabError, match=r"BGP routers \(r1\) but /nonexistent/bgpd is missing: install FRR"):
        engine.up(topo, check_mode=True)
