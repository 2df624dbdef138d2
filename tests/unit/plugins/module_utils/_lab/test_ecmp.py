# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ECMP: automatic and static multipath routes, the hash policy, live multipath routes."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import plan, state
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology

TOPOLOGIES = pathlib.Path(__file__).resolve().parents[5] / "roles" / "lab" / "files" / "topologies"
HASH = ("net.ipv4.fib_multipath_hash_policy", "net.ipv6.fib_multipath_hash_policy")


def diamond(**extra: t.Any) -> t.Dict[str, t.Any]:
    data = yaml.safe_load((TOPOLOGIES / "ecmp.yml").read_text())
    data.update(extra)
    return data


def multipath_routes(data: t.Dict[str, t.Any]) -> t.Dict[t.Tuple[str, str], t.Tuple[t.Tuple[str, str], ...]]:
    return {(route.node, route.destination): route.nexthops() for route in parse_topology(data).routes if route.multipath}


def test_shipped_diamond_has_multipath_routes_both_ways_in_both_families() -> None:
    assert multipath_routes(diamond()) == {
        ("r1", "192.0.2.20/30"): (("192.0.2.6", "nl-r2"), ("192.0.2.10", "nl-r3")),
        ("r4", "192.0.2.0/30"): (("192.0.2.13", "nl-r2"), ("192.0.2.17", "nl-r3")),
        ("r1", "2001:db8:0:6::/64"): (("2001:db8:0:2::2", "nl-r2"), ("2001:db8:0:3::2", "nl-r3")),
        ("r4", "2001:db8:0:1::/64"): (("2001:db8:0:4::1", "nl-r2"), ("2001:db8:0:5::1", "nl-r3")),
    }


def test_hash_policy_on_routers_only_and_own_sysctls_win() -> None:
    data = diamond(ecmp={"auto": True, "hash_policy": 0})
    data["nodes"][2] = {"name": "r2", "role": "router", "sysctls": {HASH[0]: 2}}
    nodes = {node.name: dict(node.sysctls) for node in parse_topology(data).nodes}
    assert [nodes["r1"][key] for key in HASH] == ["0", "0"]
    assert [nodes["r2"][key] for key in HASH] == ["2", "0"]
    assert all(key not in nodes[host] for host in ("h1", "h2") for key in HASH)


def test_without_ecmp_auto_one_next_hop_the_same_as_before() -> None:
    data = diamond()
    del data["ecmp"]
    topo = parse_topology(data)
    assert not any(route.multipath for route in topo.routes)
    route = next(item for item in topo.routes if (item.node, item.destination) == ("r1", "192.0.2.20/30"))
    assert (route.via, route.dev) == ("192.0.2.6", "nl-r2")  # the first of the ECMP pair
    assert all(key not in dict(node.sysctls) for node in topo.nodes for key in HASH)


def test_static_multipath_route_sets_the_hash_on_a_host() -> None:
    data = diamond(routes=[{"node": "h1", "to": "203.0.113.0/24", "via": ["192.0.2.2"]},
                           {"node": "r1", "to": "198.51.100.0/24", "via": ["192.0.2.6", "192.0.2.10"]}])
    del data["ecmp"]
    topo = parse_topology(data)
    static = {route.destination: route for route in topo.routes if route.origin == "static"}
    assert static["198.51.100.0/24"].nexthops() == (("192.0.2.6", "nl-r2"), ("192.0.2.10", "nl-r3"))
    assert not static["203.0.113.0/24"].multipath
    assert dict(topo.node("r3").sysctls)[HASH[0]] == "1"  # every router once the lab has ECMP


@pytest.mark.parametrize("via, message", [
    (["192.0.2.6", "192.0.2.13"], "via 192.0.2.13 is not on any link of node 'r1'"),
    (["192.0.2.6", "192.0.2.5"], "via 192.0.2.5 is not the address of a neighbour of node 'r1'"),
    (["192.0.2.6", "192.0.2.6"], "lists via 192.0.2.6 twice"),
    (["192.0.2.6", "2001:db8:0:3::2"], "mixes families in via"),
    ([], "empty via list"),
    (["192.0.2.6", "r3"], "via 'r3', which is not an address"),
])
def test_bad_multipath_next_hops_are_refused_with_the_value(via: t.List[str], message: str) -> None:
    with pytest.raises(TopologyError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_topology(diamond(routes=[{"node": "r1", "to": "198.51.100.0/24", "via": via}]))


@pytest.mark.parametrize("ecmp, message", [
    ({"auto": "yes"}, "ecmp.auto must be true or false, got 'yes'"),
    ({"hash_policy": 3}, "ecmp.hash_policy 3 is not supported"),
    ({"hash_policy": True}, "ecmp.hash_policy True is not supported"),
    ({"hash": 1}, "ecmp has unknown key"),
])
def test_bad_ecmp_options_are_refused(ecmp: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_topology(diamond(ecmp=ecmp))


def test_live_multipath_route_is_parsed_and_not_replaced_when_equal() -> None:
    text = json.dumps([{
        "dst": "192.0.2.20/30", "protocol": "static", "flags": [],
        "nexthops": [{"gateway": "192.0.2.10", "dev": "nl-r3", "weight": 1, "flags": []},
                     {"gateway": "192.0.2.6", "dev": "nl-r2", "weight": 1, "flags": []}],
    }])
    live = state.parse_routes(text, 4)
    assert live[0].all_nexthops() == (("192.0.2.10", "nl-r3"), ("192.0.2.6", "nl-r2"))
    topo = parse_topology(diamond())
    wanted = next(route for route in topo.routes if (route.node, route.destination) == ("r1", "192.0.2.20/30"))
    assert set(live[0].all_nexthops()) == set(wanted.nexthops())
    assert plan._nexthop_args(wanted) == [
        "proto", "static", "nexthop", "via", "192.0.2.6", "dev", "nl-r2", "nexthop", "via", "192.0.2.10", "dev", "nl-r3",
    ]
