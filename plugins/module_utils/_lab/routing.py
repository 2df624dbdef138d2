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
    Endpoint,
    IPInterface,
    Net,
    Route,
    Topology,
    check_keys,
    doc_ranges_text,
    in_doc_ranges,
)

_ROUTE_KEYS = ("node", "to", "via")


IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Hop = t.Tuple[Endpoint, Endpoint]  # (own endpoint, neighbour's endpoint) of a first hop


def _neighbours(topo: Topology, nets: t.Sequence[Net]) -> t.Dict[str, t.List[t.Tuple[str, Hop]]]:
    graph: t.Dict[str, t.List[t.Tuple[str, Hop]]] = {node.name: [] for node in topo.nodes}
    for net in nets:
        for own in net.endpoints:
            graph[own.node] += [(other.node, (own, other)) for other in net.endpoints if other is not own]
    return graph


def _first_hops(topo: Topology, graph: t.Dict[str, t.List[t.Tuple[str, Hop]]], source: str) -> t.Dict[str, t.Tuple[int, t.List[Hop]]]:
    """BFS from ``source``: node -> (hops, first hops of every shortest path). Only routers are transit.

    The first hop of the first path found comes first, so a single-path route is the
    same whether equal-cost paths are used or not.
    """
    roles = {node.name: node.role for node in topo.nodes}
    found: t.Dict[str, t.Tuple[int, t.List[Hop]]] = {source: (0, [])}
    queue = collections.deque([source])
    while queue:
        current = queue.popleft()
        hops, firsts = found[current]
        if current != source and roles[current] != "router":
            continue  # reachable, but hosts do not forward
        for neighbour, hop in graph[current]:
            offered = firsts if firsts else [hop]
            if neighbour not in found:
                found[neighbour] = (hops + 1, list(offered))
                queue.append(neighbour)
            elif found[neighbour][0] == hops + 1:
                known = found[neighbour][1]
                known += [item for item in offered if item not in known]
    return found


def compute_routes(topo: Topology, multipath: bool = False) -> t.List[Route]:
    """Routes to every lab prefix; ``multipath`` keeps every equal-cost first hop (ECMP)."""
    routes: t.List[Route] = []
    roles = {node.name: node.role for node in topo.nodes}
    for family in (4, 6):
        nets = topo.nets(family)
        graph = _neighbours(topo, nets)
        for node in topo.nodes:
            reach = _first_hops(topo, graph, node.name)
            for net in nets:
                members = [end.node for end in net.endpoints]
                if node.name in members:
                    continue
                # Nearest endpoint; on a tie prefer a router, which reaches the others too.
                ends = [end for end in members if end in reach]
                if not ends:
                    continue
                best = min((reach[end][0], roles[end] != "router") for end in ends)
                firsts: t.List[Hop] = []
                for end in ends:
                    if (reach[end][0], roles[end] != "router") == best:
                        firsts += [hop for hop in reach[end][1] if hop not in firsts]
                routes.append(_auto_route(node.name, family, net, firsts if multipath else firsts[:1]))
    return routes


def _auto_route(node: str, family: int, net: Net, firsts: t.List[Hop]) -> Route:
    # Not attached, so at least one hop away: there is a first hop, and it carries
    # ``family`` because the graph holds only such nets.
    hops: t.List[t.Tuple[str, str]] = []
    for own, neighbour in firsts:
        via = neighbour.address(family)
        if via is None:
            raise TopologyError("internal error: no next hop from %r to %s" % (node, net.prefix))
        hops.append((str(via.ip), own.ifname))
    if not hops:
        raise TopologyError("internal error: no next hop from %r to %s" % (node, net.prefix))
    return Route(node, family, str(net.prefix), hops[0][0], hops[0][1], "auto", tuple(hops[1:]))


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
    vias = _parse_vias(data.get("via"), index)
    family = vias[0].version
    target = data.get("to")
    try:
        if target == "default":
            destination = ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0")
        else:
            destination = ipaddress.ip_network(str(target), strict=True)
    except ValueError as err:
        raise TopologyError(
            "route %d has to %r, which is not a prefix (%s); write a prefix or 'default'" % (index, target, err)
        ) from err
    if destination.version != family:
        raise TopologyError("route %d mixes families: to %s via %s" % (index, destination, vias[0]))
    if destination.prefixlen and not in_doc_ranges(destination):
        raise TopologyError(
            "route %d goes to %s, outside the documentation ranges; labs use only %s"
            % (index, destination, doc_ranges_text())
        )
    hops = [(str(via), _neighbour_dev(topo, str(node), via, index)) for via in vias]
    return Route(str(node), family, str(destination), hops[0][0], hops[0][1], "static", tuple(hops[1:]))


def _parse_vias(value: t.Any, index: int) -> t.List[IPAddress]:
    """``via``: one address, or a list of them for an equal-cost multipath (ECMP) route."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise TopologyError("route %d has an empty via list; name one or more neighbour addresses" % index)
    vias: t.List[IPAddress] = []
    for item in items:
        try:
            via = ipaddress.ip_address(str(item))
        except ValueError as err:
            raise TopologyError("route %d has via %r, which is not an address" % (index, item)) from err
        if via in vias:
            raise TopologyError(
                "route %d lists via %s twice; each next hop of a multipath route once" % (index, via)
            )
        if vias and via.version != vias[0].version:
            raise TopologyError(
                "route %d mixes families in via %r; the next hops of one route share a family" % (index, value)
            )
        vias.append(via)
    return vias


def _neighbour_dev(topo: Topology, node: str, via: IPAddress, index: int) -> str:
    """The interface of ``node`` on which ``via`` is a neighbour's address."""
    for net in topo.nets(via.version):
        own = [end for end in net.endpoints if end.node == node]
        if not own or via not in net.prefix:
            continue
        others = {str(t.cast(IPInterface, end.address(via.version)).ip) for end in net.endpoints if end.node != node}
        if str(via) not in others:
            raise TopologyError(
                "route %d: via %s is not the address of a neighbour of node %r on %s (neighbours: %s)"
                % (index, via, node, net.label, ", ".join(sorted(others)) or "none")
            )
        return own[0].ifname
    raise TopologyError(
        "route %d: via %s is not on any link of node %r; use the address of a directly connected neighbour"
        % (index, via, node)
    )
