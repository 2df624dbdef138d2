# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The ecmp_partial drill's parts and diagnosis: one branch of an equal-cost pair drops some flows.

``ecmp_parts`` casts, from the lab facts, a router on the client's path that holds a multipath
route (the inventory's ``lab_multipath``) to a host behind it: the entry router, its branches
(the next hops, two or more lab nodes), the destination and the branch the drill breaks.
``ecmp_diagnosis`` reads a multipath traceroute (``netdevops.icmp.traceroute multipath: true``)
from the client to that host: which branch loses flows, and which fraction of the flows.
"""
from __future__ import annotations

import ipaddress
import typing as t

Lab = t.Mapping[str, t.Any]


class EcmpDataError(ValueError):
    """A trace or parts that are not what the drill reads."""


def _host_address(value: t.Any) -> t.Optional[str]:
    """The IPv4 address of an interface fact (``192.0.2.1/30``), normalised, or None."""
    try:
        return str(ipaddress.IPv4Interface(str(value)).ip) if value else None
    except ValueError:
        return None


def _owners(interfaces: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    """IPv4 address -> the lab node that holds it."""
    owners: t.Dict[str, str] = {}
    for node, found in interfaces.items():
        for interface in found or []:
            address = _host_address(interface.get("ipv4")) if isinstance(interface, t.Mapping) else None
            if address:
                owners.setdefault(address, str(node))
    return owners


def _neighbours(interfaces: t.Mapping[str, t.Any]) -> t.Dict[str, t.Set[str]]:
    """One routed hop apart: the two ends of a link, or any two members of one segment."""
    on_segment: t.Dict[str, t.Set[str]] = {}
    graph: t.Dict[str, t.Set[str]] = {str(node): set() for node in interfaces}
    for node, found in interfaces.items():
        for interface in found or []:
            peer = str(interface.get("peer")) if isinstance(interface, t.Mapping) else ""
            if peer in graph:
                graph[str(node)].add(peer)
                graph[peer].add(str(node))
            elif peer:
                on_segment.setdefault(peer, set()).add(str(node))
    for members in on_segment.values():
        for node in members:
            graph[node].update(members - {node})
    return graph


def _distances(graph: t.Mapping[str, t.Set[str]], start: str) -> t.Dict[str, int]:
    distance = {start: 0}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for neighbour in sorted(graph.get(node, ())):
                if neighbour not in distance:
                    distance[neighbour] = distance[node] + 1
                    following.append(neighbour)
        frontier = following
    return distance


def _candidates(lab: Lab, owners: t.Mapping[str, str], route: t.Mapping[str, t.Any]) -> t.List[t.Tuple[str, str]]:
    """(node, address) of the lab's hosts inside the route's destination, the server first."""
    try:
        prefix = ipaddress.IPv4Network(str(route.get("destination")))
    except ValueError:
        return []
    hosts = [str(name) for name in lab.get("hosts") or []]
    server = str(lab.get("server") or "")
    found = [(node, address) for address, node in owners.items()
             if node in hosts and node != lab.get("client") and ipaddress.IPv4Address(address) in prefix]
    return sorted(found, key=lambda item: (item[0] != server, hosts.index(item[0])))


def _branches(owners: t.Mapping[str, str], route: t.Mapping[str, t.Any]) -> t.List[t.Dict[str, str]]:
    branches: t.List[t.Dict[str, str]] = []
    for nexthop in route.get("nexthops") or []:
        via = _host_address(nexthop.get("via")) if isinstance(nexthop, t.Mapping) else None
        node = owners.get(via or "")
        if node and node not in [branch["node"] for branch in branches]:
            branches.append({"node": node, "via": str(via)})
    return branches


def ecmp_parts(lab: Lab) -> t.Optional[t.Dict[str, t.Any]]:
    """The entry router, its branches and the host behind them, or None when the lab has no such pair.

    The entry router is a node on a shortest path from the client with an IPv4 multipath route to a
    prefix that holds a lab host (the server when it is one of them) and not the client; its next
    hops must be two or more lab nodes. The drill breaks the last branch (``failing``).
    """
    client, client_v4 = str(lab.get("client") or ""), lab.get("client_v4")
    interfaces = lab.get("interfaces") or {}
    if not client or not client_v4 or not isinstance(interfaces, t.Mapping):
        return None
    owners, graph = _owners(interfaces), _neighbours(interfaces)
    from_client = _distances(graph, client)
    for entry, routes in (lab.get("multipath") or {}).items():
        if not isinstance(routes, list) or str(entry) not in from_client:
            continue
        from_entry = _distances(graph, str(entry))
        for route in routes:
            if not isinstance(route, t.Mapping) or route.get("family") != "ipv4":
                continue
            branches = _branches(owners, route)
            on_path = [(node, address) for node, address in _candidates(lab, owners, route)
                       if node in from_entry and from_client[str(entry)] + from_entry[node] == from_client.get(node)]
            if len(branches) < 2 or not on_path or client in [branch["node"] for branch in branches]:
                continue
            destination, address = on_path[0]
            return {
                "client": client, "entry": str(entry), "destination": destination, "destination_v4": address,
                "prefix": str(route["destination"]), "branches": branches, "failing": branches[-1]["node"],
                "branch_addresses": {branch["node"]: sorted(a for a, n in owners.items() if n == branch["node"])
                                     for branch in branches},
                "hops": from_client[destination],
            }
    return None


def _flow_outcomes(trace: t.Mapping[str, t.Any]) -> t.Tuple[t.List[int], t.Dict[str, t.List[int]]]:
    """Flows that reached the destination, and the lost ones by the last hop that answered them."""
    destination = str(trace.get("destination"))
    failing = [str(address) for address in trace.get("failing") or []]
    reached: t.List[int] = []
    lost: t.Dict[str, t.List[int]] = {}
    for number, path in enumerate(trace.get("flows") or []):
        answered = [str(address) for address in path or [] if address]
        if not answered:
            continue  # a flow that never got an answer tells nothing about its branch
        if answered[-1] == destination:
            reached.append(number)
        elif answered[-1] in failing:
            lost.setdefault(answered[-1], []).append(number)
    return reached, lost


def _branch_hop(trace: t.Mapping[str, t.Any]) -> t.Optional[t.Mapping[str, t.Any]]:
    """Where the flows split: the first hop with more than one next hop, else (the flows probed
    there all took one branch, the MDA's residual miss) the first hop with a failing branch."""
    hops = [hop for hop in trace.get("hops") or [] if isinstance(hop, t.Mapping)]
    failing = set(trace.get("failing") or [])
    return next((hop for hop in hops if len(hop.get("addresses") or []) > 1),
                next((hop for hop in hops if failing & set(hop.get("addresses") or [])), None))


def _node_of(parts: t.Mapping[str, t.Any], address: str) -> str:
    for node, addresses in (parts.get("branch_addresses") or {}).items():
        if address in addresses:
            return str(node)
    return address


def _flow_list(flows: t.Sequence[int]) -> str:
    return ", ".join(str(flow) for flow in flows)


def ecmp_diagnosis(trace: t.Mapping[str, t.Any], parts: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The verdict from a multipath traceroute from the client to the host behind the branches.

    ``ecmp_partial`` needs some flows to reach the destination while others are lost after a
    branch; ``healthy`` is every flow arriving over two or more branches; ``single_path`` a trace
    that saw one branch only; ``broken_hop`` no flow arriving at all.
    """
    reached, lost = _flow_outcomes(trace)
    split = _branch_hop(trace) or {}
    branch_flows = {_node_of(parts, str(address)): len(flows) for address, flows in (split.get("flows") or {}).items()}
    name = "%s (%s)" % (parts.get("destination_v4"), parts.get("destination"))
    counted = len(reached) + sum(len(flows) for flows in lost.values())
    seen = ("multipath traceroute from %s finds %d branch(es) after %s at hop %s (%s) with confidence %s"
            % (parts.get("client"), int(trace.get("branches") or 0), parts.get("entry"), split.get("ttl"),
               ", ".join("%s: %d flows" % item for item in sorted(branch_flows.items())) or "none",
               split.get("confidence")))
    result: t.Dict[str, t.Any] = {
        "failing_branches": sorted({_node_of(parts, address) for address in lost}),
        "flows_reached": len(reached), "flows_lost": counted - len(reached),
        "failing_pct": round(100.0 * (counted - len(reached)) / counted, 1) if counted else None,
        "branch_flows": branch_flows,
    }
    if reached and lost:
        losses = "; ".join("flows %s are lost after %s (%s)" % (_flow_list(flows), _node_of(parts, address), address)
                           for address, flows in sorted(lost.items()))
        result.update(verdict="ecmp_partial", diagnosis=(
            "partial ECMP failure towards %s: %s; %s: %d of %d flows (%s%%) fail, %d reach the destination, so"
            " pings and connections work or fail by their ports and a classic traceroute, one flow per probe,"
            " shows a path that changes or dies; the branch %s drops traffic it should forward"
            % (name, seen, losses, counted - len(reached), counted, result["failing_pct"], len(reached),
               " and ".join(result["failing_branches"]))))
    elif not trace.get("reached"):
        result.update(verdict="broken_hop", diagnosis="path to %s broken: no flow arrives (%s)" % (name, seen))
    elif int(trace.get("branches") or 0) < 2:
        result.update(verdict="single_path", diagnosis="only one path to %s: %s; the equal-cost pair is not in"
                                                       " use (a single next hop, or the L3 hash)" % (name, seen))
    else:
        result.update(verdict="healthy", diagnosis="ECMP healthy towards %s: %s; all %d flows arrive"
                                                   % (name, seen, len(reached)))
    return result


def diagnose(ecmp: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``ecmp_diagnosis`` of ``ecmp['trace']`` (a multipath traceroute result) for ``ecmp['parts']``."""
    trace, parts = ecmp.get("trace"), ecmp.get("parts")
    if not isinstance(parts, t.Mapping) or not parts.get("destination_v4") or not parts.get("branch_addresses"):
        raise EcmpDataError("ecmp.parts must be the ECMP parts of the drill plan (icmp_drill_lab.ecmp), got %r" % (parts,))
    if not isinstance(trace, t.Mapping) or not isinstance(trace.get("flows"), list) or "failing" not in trace:
        raise EcmpDataError("ecmp.trace must be the result of netdevops.icmp.traceroute with multipath: true"
                            " (with flows and failing), got %r" % (trace,))
    return ecmp_diagnosis(trace, parts)
