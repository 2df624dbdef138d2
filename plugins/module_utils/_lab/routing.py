# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Static routes: computed from the link graph, plus explicit ones from the topology.

Automatic routes give every node a route to every lab prefix it is not attached
to, along a shortest path (fewest hops) whose transit nodes are routers: hosts
never forward. There are no default routes, so a lab namespace can reach lab
addresses only; anything else is "network unreachable" at once.
"""
from __future__ import annotations

import collections
import ipaddress
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    Link,
    Route,
    Topology,
    check_keys,
    doc_ranges_text,
    in_doc_ranges,
)

_ROUTE_KEYS = ("node", "to", "via")


def _neighbours(topo: Topology, family: int) -> t.Dict[str, t.List[t.Tuple[str, Link]]]:
    graph: t.Dict[str, t.List[t.Tuple[str, Link]]] = {node.name: [] for node in topo.nodes}
    for link in topo.links:
        if link.prefix(family) is None:
            continue
        graph[link.a.node].append((link.b.node, link))
        graph[link.b.node].append((link.a.node, link))
    return graph


def _first_hops(topo: Topology, graph: t.Dict[str, t.List[t.Tuple[str, Link]]], source: str) -> t.Dict[str, t.Tuple[int, t.Optional[Link]]]:
    """BFS from ``source``: node -> (hops, link of the first hop). Only routers are transit."""
    roles = {node.name: node.role for node in topo.nodes}
    found: t.Dict[str, t.Tuple[int, t.Optional[Link]]] = {source: (0, None)}
    queue = collections.deque([source])
    while queue:
        current = queue.popleft()
        hops, first = found[current]
        if current != source and roles[current] != "router":
            continue  # reachable, but hosts do not forward
        for neighbour, link in graph[current]:
            if neighbour not in found:
                found[neighbour] = (hops + 1, first if first is not None else link)
                queue.append(neighbour)
    return found


def compute_routes(topo: Topology) -> t.List[Route]:
    routes: t.List[Route] = []
    roles = {node.name: node.role for node in topo.nodes}
    for family in (4, 6):
        graph = _neighbours(topo, family)
        for node in topo.nodes:
            reach = _first_hops(topo, graph, node.name)
            for link in topo.links:
                prefix = link.prefix(family)
                if prefix is None or node.name in (link.a.node, link.b.node):
                    continue
                # Nearest endpoint; on a tie prefer a router, which reaches the other end too.
                ends = [end for end in (link.a.node, link.b.node) if end in reach]
                if not ends:
                    continue
                best = min(ends, key=lambda end: (reach[end][0], roles[end] != "router"))
                first = reach[best][1]
                # Not attached, so at least one hop away: ``first`` is set, and it carries
                # ``family`` because the graph holds only such links.
                via = first.peer(node.name).address(family) if first is not None else None
                if first is None or via is None:
                    raise TopologyError("internal error: no next hop from %r to %s" % (node.name, prefix))
                routes.append(Route(
                    node.name, family, str(prefix), str(via.ip), first.endpoint(node.name).ifname, "auto",
                ))
    return routes


def parse_static_routes(value: t.Any, topo: Topology) -> t.List[Route]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TopologyError("routes must be a list of {node, to, via}, got %r" % (value,))
    routes: t.List[Route] = []
    seen: t.Set[t.Tuple[str, str]] = set()
    for index, raw in enumerate(value, start=1):
        route = _parse_static_route(raw, index, topo)
        key = (route.node, route.destination)
        if key in seen:
            raise TopologyError(
                "route %d repeats the route of node %r to %s; one route per destination"
                % (index, route.node, route.destination)
            )
        seen.add(key)
        routes.append(route)
    return routes


def _parse_static_route(raw: t.Any, index: int, topo: Topology) -> Route:
    data = check_keys(raw, _ROUTE_KEYS, "route %d" % index)
    node = data.get("node")
    names = [item.name for item in topo.nodes]
    if node not in names:
        raise TopologyError("route %d names unknown node %r; known nodes: %s" % (index, node, ", ".join(names)))
    try:
        via = ipaddress.ip_address(str(data.get("via")))
    except ValueError as err:
        raise TopologyError("route %d has via %r, which is not an address" % (index, data.get("via"))) from err
    target = data.get("to")
    try:
        if target == "default":
            destination = ipaddress.ip_network("0.0.0.0/0" if via.version == 4 else "::/0")
        else:
            destination = ipaddress.ip_network(str(target), strict=True)
    except ValueError as err:
        raise TopologyError(
            "route %d has to %r, which is not a prefix (%s); write a prefix or 'default'" % (index, target, err)
        ) from err
    if destination.version != via.version:
        raise TopologyError("route %d mixes families: to %s via %s" % (index, destination, via))
    if destination.prefixlen and not in_doc_ranges(destination):
        raise TopologyError(
            "route %d goes to %s, outside the documentation ranges; labs use only %s"
            % (index, destination, doc_ranges_text())
        )
    for link in topo.links_of(str(node)):
        prefix = link.prefix(via.version)
        if prefix is not None and via in prefix:
            peer = link.peer(str(node)).address(via.version)
            if peer is None or peer.ip != via:
                raise TopologyError(
                    "route %d: via %s is not the address of node %r's neighbour on link %d (%s)"
                    % (index, via, node, link.index, peer.ip if peer else None)
                )
            return Route(str(node), via.version, str(destination), str(via), link.endpoint(str(node)).ifname, "static")
    raise TopologyError(
        "route %d: via %s is not on any link of node %r; use the address of a directly connected neighbour"
        % (index, via, node)
    )
