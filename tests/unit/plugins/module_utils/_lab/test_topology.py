# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Topology parsing: defaults, address allocation, and one exact error per bad input."""
from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology

BASE: t.Dict[str, t.Any] = {
    "name": "unit",
    "nodes": [{"name": "h1"}, {"name": "r1", "role": "router"}, {"name": "h2"}],
    "links": [{"a": "h1", "b": "r1"}, {"a": "r1", "b": "h2", "mtu": 1400}],
}


def with_changes(**changes: t.Any) -> t.Dict[str, t.Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_default_topology_matches_the_fixture_contract(default_topology: t.Dict[str, t.Any]) -> None:
    topo = parse_topology(default_topology)
    assert topo.name == "default"
    assert [node.name for node in topo.nodes] == ["h1", "r1", "h2"]
    assert [node.netns for node in topo.nodes] == ["nilab-default-h1", "nilab-default-r1", "nilab-default-h2"]
    assert [str(addr) for addr in topo.addresses("h1", 4)] == ["198.51.100.10/24"]
    assert [str(addr) for addr in topo.addresses("r1", 6)] == ["2001:db8:1::1/64", "2001:db8:2::1/64"]
    assert [str(addr) for addr in topo.addresses("h2", 4)] == ["203.0.113.10/24"]
    assert [(link.a.ifname, link.b.ifname, link.mtu) for link in topo.links] == [
        ("nl-r1", "nl-h1", 1500), ("nl-h2", "nl-r1", 1400),
    ]


def test_name_override_changes_every_namespace(default_topology: t.Dict[str, t.Any]) -> None:
    topo = parse_topology(default_topology, name="t1234")
    assert [node.netns for node in topo.nodes] == ["nilab-t1234-h1", "nilab-t1234-r1", "nilab-t1234-h2"]


def test_node_defaults_and_sysctls() -> None:
    data = with_changes()
    data["nodes"][0].update({"sysctls": {"net.ipv4.icmp_ratelimit": 0}, "ping_group_range": "1  0"})
    topo = parse_topology(data)
    h1, r1 = dict(topo.nodes[0].sysctls), dict(topo.nodes[1].sysctls)
    assert h1 == {
        "net.ipv4.icmp_ratelimit": "0",
        "net.ipv4.ip_forward": "0",
        "net.ipv4.ping_group_range": "1 0",
        "net.ipv6.conf.all.accept_dad": "0",
        "net.ipv6.conf.all.forwarding": "0",
        "net.ipv6.conf.default.accept_dad": "0",
    }
    assert r1["net.ipv4.ip_forward"] == "1" and r1["net.ipv6.conf.all.forwarding"] == "1"
    assert r1["net.ipv4.ping_group_range"] == "0 2147483647"
    assert topo.nodes[0].role == "host" and topo.nodes[0].sshd is False


def test_allocation_of_prefixes_and_addresses(chain_topology: t.Dict[str, t.Any]) -> None:
    topo = parse_topology(chain_topology)
    assert [str(link.ipv4) for link in topo.links] == [
        "192.0.2.0/30", "192.0.2.4/30", "192.0.2.8/30", "192.0.2.12/30",
        "192.0.2.16/30", "192.0.2.20/30", "192.0.2.24/30",
    ]
    assert [str(link.ipv6) for link in topo.links] == ["2001:db8:0:%d::/64" % n for n in range(1, 8)]
    first = topo.links[0]
    assert (str(first.a.ipv4), str(first.b.ipv4)) == ("192.0.2.1/30", "192.0.2.2/30")
    assert (str(first.a.ipv6), str(first.b.ipv6)) == ("2001:db8:0:1::1/64", "2001:db8:0:1::2/64")
    assert sorted(link.mtu for link in topo.links) == [1280, 1400, 1500, 1500, 1500, 1500, 1500]


def test_allocation_skips_explicit_prefixes_and_addresses() -> None:
    data = with_changes(links=[
        {"a": "h1", "b": "r1"},
        {"a": {"node": "r1", "ipv4": "192.0.2.2/30"}, "b": "h2", "ipv6": "2001:db8:0:1::/64"},
    ])
    topo = parse_topology(data)
    # Link 2 holds 192.0.2.0/30 and 2001:db8:0:1::/64, so link 1 gets the next ones.
    assert (str(topo.links[0].ipv4), str(topo.links[0].ipv6)) == ("192.0.2.4/30", "2001:db8:0:2::/64")
    assert (str(topo.links[1].a.ipv4), str(topo.links[1].b.ipv4)) == ("192.0.2.2/30", "192.0.2.1/30")


def test_address_without_length_takes_the_other_endpoints_prefix() -> None:
    data = with_changes(links=[
        {"a": {"node": "h1", "ipv4": "198.51.100.10/24"}, "b": {"node": "r1", "ipv4": "198.51.100.1"}},
        {"a": "r1", "b": "h2"},
    ])
    topo = parse_topology(data)
    assert str(topo.links[0].b.ipv4) == "198.51.100.1/24"
    assert str(topo.links[0].ipv4) == "198.51.100.0/24"


def test_ipv4_only_link_may_have_a_small_mtu() -> None:
    data = with_changes(links=[{"a": "h1", "b": "r1"}, {"a": "r1", "b": "h2", "mtu": 576, "ipv6": False}])
    topo = parse_topology(data)
    assert topo.links[1].ipv6 is None and topo.links[1].a.ipv6 is None
    assert topo.links[1].mtu == 576


def test_nodes_may_be_plain_names() -> None:
    topo = parse_topology(with_changes(nodes=["h1", {"name": "r1", "role": "router"}, "h2"]))
    assert topo.nodes[0].role == "host"


BAD_CASES = [
    ("duplicate node",
     with_changes(nodes=[{"name": "h1"}, {"name": "r1"}, {"name": "h1"}]),
     "duplicate node 'h1' in nodes (entries 1 and 3): node names must be unique"),
    ("unknown node",
     with_changes(links=[{"a": "h1", "b": "r9"}]),
     "link 1 endpoint b names unknown node 'r9'; known nodes: h1, r1, h2"),
    ("link to itself",
     with_changes(links=[{"a": "r1", "b": "r1"}]),
     "link 1 connects node 'r1' to itself; a link needs two different nodes"),
    ("ipv6 mtu below 1280",
     with_changes(links=[{"a": "h1", "b": "r1", "mtu": 1200}]),
     "link 1 (h1-r1) has mtu 1200 but carries IPv6, which needs at least 1280 (RFC 8200); "
     "raise the mtu or set ipv6: false on this link"),
    ("mtu below 68",
     with_changes(links=[{"a": "h1", "b": "r1", "mtu": 67, "ipv6": False}]),
     "link 1 (h1-r1) has mtu 67; use an integer from 68 to 65535"),
    ("mtu above 65535",
     with_changes(links=[{"a": "h1", "b": "r1", "mtu": 65536}]),
     "link 1 (h1-r1) has mtu 65536; use an integer from 68 to 65535"),
    ("mtu not a number",
     with_changes(links=[{"a": "h1", "b": "r1", "mtu": "1500"}]),
     "link 1 (h1-r1) has mtu '1500'; use an integer from 68 to 65535"),
    ("over-long interface name",
     with_changes(nodes=[{"name": "h1"}, {"name": "averyverylongnode"}]),
     "node name 'averyverylongnode' is too long: the interface name 'nl-averyverylongnode' derived "
     "from it has 20 characters and Linux allows 15; use node names of at most 12 characters"),
    ("bad lab name",
     with_changes(name="My-Lab"),
     "lab name 'My-Lab' is invalid: use 1 to 12 lower-case letters and digits, starting with a letter "
     "(it is part of every namespace name, nilab-<lab>-<node>)"),
    ("over-long lab name",
     with_changes(name="abcdefghijklm"),
     "lab name 'abcdefghijklm' is invalid: use 1 to 12 lower-case letters and digits, starting with a letter "
     "(it is part of every namespace name, nilab-<lab>-<node>)"),
    ("prefix outside documentation ranges",
     with_changes(links=[{"a": "h1", "b": "r1", "ipv4": "10.0.0.0/24"}]),
     "link 1 (h1-r1) has ipv4 prefix 10.0.0.0/24 outside the documentation ranges; labs use only "
     "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32"),
    ("ipv6 prefix outside documentation ranges",
     with_changes(links=[{"a": "h1", "b": "r1", "ipv6": "fd00::/64"}]),
     "link 1 (h1-r1) has ipv6 prefix fd00::/64 outside the documentation ranges; labs use only "
     "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32"),
    ("address outside documentation ranges",
     with_changes(links=[{"a": {"node": "h1", "ipv4": "8.8.8.8/24"}, "b": "r1"}]),
     "link 1 (h1-r1) endpoint a has address 8.8.8.8/24 outside the documentation ranges; labs use only "
     "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32"),
    ("address outside the link prefix",
     with_changes(links=[{"a": {"node": "h1", "ipv4": "203.0.113.5/24"}, "b": "r1",
                          "ipv4": "198.51.100.0/24"}]),
     "link 1 (h1-r1) endpoint a has address 203.0.113.5/24, which is not in the link prefix 198.51.100.0/24"),
    ("duplicate address on one link",
     with_changes(links=[{"a": {"node": "h1", "ipv4": "198.51.100.1/24"},
                          "b": {"node": "r1", "ipv4": "198.51.100.1/24"}}]),
     "duplicate address 198.51.100.1: node 'h1' on link 1 (h1-r1) and node 'r1' on link 1 (h1-r1); "
     "every address must be unique"),
    ("overlapping prefixes",
     with_changes(links=[{"a": "h1", "b": "r1", "ipv4": "198.51.100.0/24"},
                         {"a": "r1", "b": "h2", "ipv4": "198.51.100.0/25"}]),
     "link 2 (r1-h2) prefix 198.51.100.0/25 overlaps link 1 (h1-r1) prefix 198.51.100.0/24; "
     "every link needs its own prefix"),
    ("host bits in a prefix",
     with_changes(links=[{"a": "h1", "b": "r1", "ipv4": "198.51.100.1/24"}]),
     "link 1 (h1-r1) has ipv4 prefix '198.51.100.1/24', which is not a network prefix "
     "(198.51.100.1/24 has host bits set); write it like 198.51.100.0/24"),
    ("network address as host",
     with_changes(links=[{"a": {"node": "h1", "ipv4": "198.51.100.0/24"}, "b": "r1"}]),
     "link 1 (h1-r1) endpoint a has address 198.51.100.0/24, the network address of its prefix; "
     "use a host address"),
    ("duplicate link",
     with_changes(links=[{"a": "h1", "b": "r1"}, {"a": "r1", "b": "h1"}]),
     "link 2 (r1-h1) duplicates link 1: at most one link between two nodes"),
    ("unknown key",
     with_changes(links=[{"a": "h1", "b": "r1", "speed": 10}]),
     "link 1 has unknown key(s) speed; allowed keys: a, b, mtu, ipv4, ipv6"),
    ("bad role",
     with_changes(nodes=[{"name": "h1", "role": "switch"}]),
     "node 'h1' has role 'switch'; use one of: host, router"),
    ("bad ping_group_range",
     with_changes(nodes=[{"name": "h1", "ping_group_range": "all"}]),
     "node 'h1': ping_group_range 'all' must be two group ids such as \"0 2147483647\" "
     "(or \"1 0\" to forbid unprivileged ICMP sockets)"),
    ("address in a disabled family",
     with_changes(links=[{"a": {"node": "h1", "ipv6": "2001:db8:1::1/64"}, "b": "r1", "ipv6": False}]),
     "link 1 (h1-r1) sets ipv6: false but gives an ipv6 address; remove one of them"),
    ("no nodes",
     with_changes(nodes=[]),
     "nodes must be a non-empty list of nodes, got []"),
    ("ssh_from unknown",
     with_changes(nodes=[{"name": "h1", "sshd": True, "ssh_from": "h9"}]),
     "node 'h1' has ssh_from 'h9', which is not another node of the lab; known nodes: h1"),
    ("static route via a non-neighbour",
     with_changes(routes=[{"node": "h1", "to": "203.0.113.0/24", "via": "192.0.2.3"}]),
     "route 1: via 192.0.2.3 is not the address of a neighbour of node 'h1' on link 1 (h1-r1) (neighbours: 192.0.2.2)"),
    ("static route outside documentation ranges",
     with_changes(routes=[{"node": "h1", "to": "10.0.0.0/8", "via": "192.0.2.2"}]),
     "route 1 goes to 10.0.0.0/8, outside the documentation ranges; labs use only "
     "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32"),
]


@pytest.mark.parametrize("data,message", [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES])
def test_bad_input_gets_the_exact_error(data: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_topology(data)
    assert str(caught.value) == message


def test_parsing_does_not_modify_the_input() -> None:
    data = with_changes()
    before = copy.deepcopy(data)
    parse_topology(data)
    assert data == before
