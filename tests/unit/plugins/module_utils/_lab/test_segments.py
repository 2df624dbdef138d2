# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Segments, counted nodes, node sysctls and name checks: allocation and one exact error per bad input."""
from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology

from .conftest import shipped

LAN: t.Dict[str, t.Any] = {
    "name": "unit",
    "nodes": [{"name": "h", "count": 3}, {"name": "r1", "role": "router"}, {"name": "far"}],
    "segments": [{"name": "lan", "members": ["h", "r1"], "controller": True}],
    "links": [{"a": "r1", "b": "far"}],
}


def lan(**changes: t.Any) -> t.Dict[str, t.Any]:
    data = copy.deepcopy(LAN)
    data.update(changes)
    return data


def segment(**changes: t.Any) -> t.Dict[str, t.Any]:
    entry = dict(copy.deepcopy(LAN["segments"][0]))
    entry.update(changes)
    return lan(segments=[entry])


def test_counted_nodes_and_an_allocated_segment() -> None:
    topo = parse_topology(lan())
    assert [node.name for node in topo.nodes] == ["h1", "h2", "h3", "r1", "far"]
    seg = topo.segments[0]
    assert seg.netns == "nilab-unit-lan" and seg.mtu == 1500
    # The link took 192.0.2.0/30 first; 5 stations (4 members, the controller) need a /29.
    assert str(seg.ipv4) == "192.0.2.8/29" and str(seg.ipv6) == "2001:db8:0:2::/64"
    assert seg.controller is not None and seg.controller.ifname == "nl-unit"
    assert str(seg.controller.ipv4) == "192.0.2.9/29"
    assert [(end.node, end.ifname, str(end.ipv4)) for end in seg.members] == [
        ("h1", "nl-lan", "192.0.2.10/29"), ("h2", "nl-lan", "192.0.2.11/29"),
        ("h3", "nl-lan", "192.0.2.12/29"), ("r1", "nl-lan", "192.0.2.13/29"),
    ]
    assert [str(addr) for addr in topo.addresses("r1", 4)] == ["192.0.2.1/30", "192.0.2.13/29"]


def test_routes_cross_the_segment_through_its_router() -> None:
    topo = parse_topology(lan())
    routes = {(route.node, route.family, route.destination): (route.via, route.dev) for route in topo.routes}
    assert routes[("h2", 4, "192.0.2.0/30")] == ("192.0.2.13", "nl-lan")
    assert routes[("far", 4, "192.0.2.8/29")] == ("192.0.2.1", "nl-r1")
    assert routes[("h1", 6, "2001:db8:0:1::/64")] == ("2001:db8:0:2::5", "nl-lan")
    # Members reach each other on-link; the controller gets no route anywhere.
    assert not [route for route in topo.routes if route.destination == "192.0.2.8/29" and route.node != "far"]


def test_static_route_via_a_segment_neighbour() -> None:
    data = lan(routes=[{"node": "h1", "to": "203.0.113.0/24", "via": "192.0.2.13"}])
    route = parse_topology(data).routes[-1]
    assert (route.node, route.via, route.dev, route.origin) == ("h1", "192.0.2.13", "nl-lan", "static")


def test_shipped_fleet_takes_its_size_from_fleet_size() -> None:
    topo = parse_topology(shipped("fleet"), fleet_size=100)
    assert len(topo.nodes) == 100 and all(node.sshd for node in topo.nodes)
    seg = topo.segments[0]
    assert str(t.cast(t.Any, seg.controller).ipv4) == "198.51.100.1/24"
    assert str(seg.members[-1].ipv4) == "198.51.100.101/24"
    assert topo.routes == ()
    assert len(parse_topology(shipped("fleet")).nodes) == 10


def test_explicit_addresses_on_a_segment() -> None:
    data = segment(ipv4="203.0.113.0/28", controller={"ipv4": "203.0.113.14"},
                   members=[{"node": "r1", "ipv4": "203.0.113.1/28"}, "h"])
    seg = parse_topology(data).segments[0]
    assert str(t.cast(t.Any, seg.controller).ipv4) == "203.0.113.14/28"
    assert [str(end.ipv4) for end in seg.members] == [
        "203.0.113.1/28", "203.0.113.2/28", "203.0.113.3/28", "203.0.113.4/28",
    ]


BAD_CASES = [
    ("segment named like a node", segment(name="far"),
     "segment entry 1 is named 'far' like a node; segments and nodes share the namespace names "
     "nilab-<lab>-<name>, so give the segment another name"),
    ("segment name with a newline", segment(name="lan\n"),
     "segment entry 1 has invalid name 'lan\\n': use lower-case letters, digits and _, starting with a letter"),
    ("segment name too long", segment(name="averylongname"),
     "segment name 'averylongname' is too long: the interface name 'nl-averylongname' derived from it has "
     "16 characters and Linux allows 15; use segment names of at most 12 characters"),
    ("unknown member", segment(members=["h", "nobody"]),
     "segment 1 (lan) names unknown member 'nobody'; known nodes: h1, h2, h3, r1, far, h (all of h1, h2, h3)"),
    ("member twice", segment(members=["h", "h2"]),
     "segment 1 (lan) lists node 'h2' twice; a node joins a segment once"),
    ("no members", segment(members=[]),
     "segment 1 (lan): members must be a non-empty list of node names, got []"),
    ("prefix too small", segment(ipv4="198.51.100.0/30"),
     "segment 1 (lan) has ipv4 prefix 198.51.100.0/30 with room for 2 hosts but needs 5 "
     "(members and the controller); use a shorter prefix"),
    ("prefix outside documentation ranges", segment(ipv4="10.0.0.0/24"),
     "segment 1 (lan) has ipv4 prefix 10.0.0.0/24 outside the documentation ranges; labs use only "
     "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32"),
    ("address outside the prefix", segment(ipv4="198.51.100.0/24", members=[{"node": "r1", "ipv4": "203.0.113.1"}]),
     "segment 1 (lan): member 'r1' has address '203.0.113.1', which is not in the segment prefix 198.51.100.0/24"),
    ("address without a prefix", segment(members=[{"node": "r1", "ipv6": "2001:db8:9::1"}]),
     "segment 1 (lan): member 'r1' has ipv6 address '2001:db8:9::1' but the segment has no ipv6 prefix; "
     "give the segment one (or drop the address)"),
    ("duplicate address", segment(ipv4="198.51.100.0/24", controller={"ipv4": "198.51.100.7"},
                                  members=[{"node": "r1", "ipv4": "198.51.100.7"}]),
     "segment 1 (lan) gives address 198.51.100.7 to the controller and to member 'r1'; every address must be unique"),
    ("segment overlaps a link", lan(links=[{"a": "r1", "b": "far", "ipv4": "198.51.100.0/30"}],
                                    segments=[{"name": "lan", "members": ["h"], "ipv4": "198.51.100.0/24"}]),
     "link 1 (r1-far) prefix 198.51.100.0/30 overlaps segment prefix 198.51.100.0/24; "
     "every link and segment needs its own prefix"),
    ("two controller segments", lan(segments=[{"name": "a", "members": ["h1"], "controller": True},
                                              {"name": "b", "members": ["h2"], "controller": True}]),
     "segments a, b all set controller; a lab has at most one controller veth (nl-unit), "
     "so only one segment may set it"),
    ("ipv6 below 1280", segment(mtu=1200),
     "segment 1 (lan) has mtu 1200 but carries IPv6, which needs at least 1280 (RFC 8200); raise the mtu "
     "or set ipv6: false on this segment"),
    ("controller without addresses", segment(ipv4=False, ipv6=False),
     "segment 1 (lan) sets controller but neither ipv4 nor ipv6; the controller needs an address"),
    ("count out of range", lan(nodes=[{"name": "h", "count": 0}]),
     "node entry 1 ('h') has count 0; use a whole number from 1 to 1000"),
    ("count not a number", lan(nodes=[{"name": "h", "count": "5"}]),
     "node entry 1 ('h') has count '5'; use a whole number from 1 to 1000"),
    ("counted node names too long", lan(nodes=[{"name": "abcdefghijk", "count": 10}]),
     "node name 'abcdefghijk10' is too long: the interface name 'nl-abcdefghijk10' derived from it has 16 "
     "characters and Linux allows 15; use node names of at most 12 characters"),
    ("lab name with a trailing newline", lan(name="unit\n"),
     "lab name 'unit\\n' is invalid: use 1 to 12 lower-case letters and digits, starting with a letter "
     "(it is part of every namespace name, nilab-<lab>-<node>)"),
    ("node name with a trailing newline", lan(nodes=["h1\n"], segments=[], links=[]),
     "node entry 1 has invalid name 'h1\\n': use lower-case letters, digits and _, starting with a letter"),
]


@pytest.mark.parametrize("data,message", [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES])
def test_bad_segment_or_node_gets_the_exact_error(data: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_topology(data)
    assert str(caught.value) == message


def node_sysctls(sysctls: t.Any) -> t.Dict[str, t.Any]:
    return {"name": "unit", "nodes": [{"name": "h1", "sysctls": sysctls}]}


@pytest.mark.parametrize("key", [
    "kernel.panic", "vm.swappiness", "fs.file-max", "kernel/core_pattern", "net", "net.", "net.ipv4.\nx",
    "net.ipv4.icmp_ratelimit\n", "net.ipv4.a b", "net.ipv4.x=1",
])
def test_host_wide_or_malformed_sysctl_keys_are_refused(key: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_topology(node_sysctls({key: 1}))
    assert str(caught.value) == (
        "node 'h1': sysctl key %r is refused: a lab node may set only per-namespace keys under net. (such as "
        "net.ipv4.icmp_ratelimit); keys outside net. (kernel.*, vm.*, fs.*) change the whole host" % (key,)
    )


@pytest.mark.parametrize("key", ["net.ipv4.neigh.default.gc_thresh3", "net/ipv6/neigh/default/gc_thresh1"])
def test_neighbour_table_limits_are_refused(key: str) -> None:
    with pytest.raises(TopologyError, match="the neighbour-table limits are shared by every namespace"):
        parse_topology(node_sysctls({key: 4096}))


def test_per_namespace_sysctls_are_kept() -> None:
    topo = parse_topology(node_sysctls({"net.ipv4.icmp_ratelimit": 0, "net/ipv6/icmp/ratelimit": "100"}))
    sysctls = dict(topo.nodes[0].sysctls)
    assert sysctls["net.ipv4.icmp_ratelimit"] == "0" and sysctls["net.ipv6.icmp.ratelimit"] == "100"


@pytest.mark.parametrize("value", ["1\nkernel.panic=1", "$(reboot)", "a;b", True])
def test_bad_sysctl_values_are_refused(value: t.Any) -> None:
    with pytest.raises(TopologyError, match=r"node 'h1': sysctl net.ipv4.icmp_ratelimit has value"):
        parse_topology(node_sysctls({"net.ipv4.icmp_ratelimit": value}))


@pytest.mark.parametrize("value", ["0 2147483647\n", "0 ²", "1 0 2"])
def test_ping_group_range_is_matched_in_full(value: str) -> None:
    data = {"name": "unit", "nodes": [{"name": "h1", "ping_group_range": value}]}
    if value.endswith("\n"):  # whitespace is normalised, the newline never reaches sysctl
        assert dict(parse_topology(data).nodes[0].sysctls)["net.ipv4.ping_group_range"] == "0 2147483647"
        return
    with pytest.raises(TopologyError, match="ping_group_range"):
        parse_topology(data)
