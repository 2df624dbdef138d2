# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Automatic and static routes."""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology


def route_table(data: t.Dict[str, t.Any]) -> t.Dict[t.Tuple[str, str], t.Tuple[str, str, str]]:
    topo = parse_topology(data)
    return {(route.node, route.destination): (route.via, route.dev, route.origin) for route in topo.routes}


def test_default_routes(default_topology: t.Dict[str, t.Any]) -> None:
    assert route_table(default_topology) == {
        ("h1", "203.0.113.0/24"): ("198.51.100.1", "nl-r1", "auto"),
        ("h2", "198.51.100.0/24"): ("203.0.113.1", "nl-r1", "auto"),
        ("h1", "2001:db8:2::/64"): ("2001:db8:1::1", "nl-r1", "auto"),
        ("h2", "2001:db8:1::/64"): ("2001:db8:2::1", "nl-r1", "auto"),
    }


def test_chain_every_node_reaches_every_prefix_along_the_chain(chain_topology: t.Dict[str, t.Any]) -> None:
    topo = parse_topology(chain_topology)
    routes = {(route.node, route.destination): route for route in topo.routes}
    order = [node.name for node in topo.nodes]  # h1 r1 ... r6 h2, a straight line
    for family in (4, 6):
        for node in order:
            position = order.index(node)
            for link in topo.links:
                prefix = str(link.prefix(family))
                ends = (order.index(link.a.node), order.index(link.b.node))
                if position in ends:
                    assert (node, prefix) not in routes
                    continue
                route = routes[(node, prefix)]
                # The next hop is the neighbour towards the link.
                towards = position + 1 if min(ends) > position else position - 1
                assert route.dev == "nl-%s" % order[towards]
                peer_link = next(item for item in topo.links_of(node) if order[towards] in (item.a.node, item.b.node))
                assert route.via == str(peer_link.peer(node).address(family).ip)  # type: ignore[union-attr]
    # Hosts sit on 1 of the 7 prefixes, routers on 2; two families.
    assert len(topo.routes) == 2 * (2 * 6 + 6 * 5)


def test_hosts_do_not_transit() -> None:
    # h2 - h1 - r1 - r9: the r1-r9 link is reachable from h2 only through host h1.
    data = {
        "name": "unit",
        "nodes": [{"name": "h2"}, {"name": "h1"}, {"name": "r1", "role": "router"}, {"name": "r9", "role": "router"}],
        "links": [{"a": "h2", "b": "h1"}, {"a": "h1", "b": "r1"}, {"a": "r1", "b": "r9"}],
    }
    table = route_table(data)
    # h1's own address on h1-r1 is reachable (h1 is the endpoint, not a transit node) ...
    assert table[("h2", "192.0.2.4/30")] == ("192.0.2.2", "nl-h1", "auto")
    # ... but nothing behind h1.
    assert ("h2", "192.0.2.8/30") not in table
    assert ("r9", "192.0.2.0/30") in table  # r9 -> r1 -> h1 (endpoint)


def test_tie_prefers_router_end() -> None:
    # Square h1 - ra - h2, h1 - rb - h2 : ties resolved by link order, deterministically.
    data = {
        "name": "unit",
        "nodes": [{"name": "h1"}, {"name": "ra", "role": "router"}, {"name": "rb", "role": "router"}, {"name": "h2"}],
        "links": [{"a": "h1", "b": "ra"}, {"a": "h1", "b": "rb"}, {"a": "ra", "b": "h2"}, {"a": "rb", "b": "h2"}],
    }
    first = route_table(data)
    assert first == route_table(data)
    assert first[("h1", "192.0.2.8/30")][1] == "nl-ra"  # ra-h2 prefix via ra
    assert first[("h1", "192.0.2.12/30")][1] == "nl-rb"  # rb-h2 prefix via rb


def test_static_route_replaces_the_automatic_one(default_topology: t.Dict[str, t.Any]) -> None:
    default_topology["routes"] = [
        {"node": "h1", "to": "203.0.113.0/24", "via": "198.51.100.1"},
        {"node": "h2", "to": "default", "via": "203.0.113.1"},
    ]
    table = route_table(default_topology)
    assert table[("h1", "203.0.113.0/24")] == ("198.51.100.1", "nl-r1", "static")
    assert table[("h2", "0.0.0.0/0")] == ("203.0.113.1", "nl-r1", "static")
    assert len(table) == 5


def test_auto_routes_off(default_topology: t.Dict[str, t.Any]) -> None:
    default_topology["auto_routes"] = False
    assert route_table(default_topology) == {}
