# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The rogue_ra drill's parts and diagnosis: a rogue IPv6 router on the client's LAN.

``ra_parts`` casts client, gateway (the router) and rogue on one segment with IPv6 from the lab
facts, like ``lan_parts`` does for IPv4 (the redirect drill). ``diagnose`` reads what the client
measured after the rogue's Router Advertisements: its routing table (``ip -j -6 route``), its
route lookup for the server, our traceroute's first hop and echo.
"""
from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import lan

Lab = t.Mapping[str, t.Any]


class RaDataError(ValueError):
    """Measurements that are not what the drill reads."""


def _v6(member: t.Any) -> t.Optional[str]:
    return member.get("ipv6") if isinstance(member, t.Mapping) else None


def _ifname(interfaces: t.Any, segment: t.Any, address: t.Optional[str]) -> t.Optional[str]:
    """The node's interface on the segment: the one whose peer is the segment, or that holds ``address``."""
    for interface in interfaces or []:
        held = str(interface.get("ipv6") or "").split("/", maxsplit=1)[0]
        if (segment and interface.get("peer") == segment) or (address and held == address):
            return str(interface.get("ifname"))
    return None


def ra_parts(lab: Lab) -> t.Optional[t.Dict[str, t.Any]]:
    """Client, gateway (the router) and rogue on one segment with IPv6 (see ``lan.cast``), or None when the lab has none."""
    found = lan.cast(lab, _v6)
    if found is None:
        return None
    segment, rogue = found
    client, router = lab.get("client"), lab.get("router")
    members = segment.get("members") or {}
    interfaces = lab.get("interfaces") or {}
    name = segment.get("name")
    return {
        "segment": name, "client": client, "gateway": router, "rogue": rogue,
        "client_v6": _v6(members[client]), "gateway_v6": _v6(members[router]), "rogue_v6": _v6(members[rogue]),
        "client_ifname": _ifname(interfaces.get(client), name, _v6(members[client])),
        "gateway_ifname": _ifname(interfaces.get(router), name, _v6(members[router])),
        "rogue_ifname": _ifname(interfaces.get(rogue), name, _v6(members[rogue])),
    }


def _address(text: t.Any) -> t.Optional[ipaddress.IPv6Address]:
    try:
        return ipaddress.IPv6Address(str(text).split("%", maxsplit=1)[0])
    except ValueError:
        return None


def _gateways(route: t.Mapping[str, t.Any]) -> t.List[t.Optional[ipaddress.IPv6Address]]:
    hops = route.get("nexthops") if isinstance(route.get("nexthops"), list) else [route]
    return [_address(hop.get("gateway")) for hop in hops if isinstance(hop, t.Mapping) and hop.get("gateway")]


def _covers(route: t.Mapping[str, t.Any], server: t.Optional[ipaddress.IPv6Address]) -> bool:
    dst = str(route.get("dst") or "")
    if dst == "default":
        return True
    try:
        return server is not None and server in ipaddress.IPv6Network(dst if "/" in dst else dst + "/128")
    except ValueError:
        return False


def routes_via(routes: t.Any, gateway: t.Any) -> t.List[str]:
    """The destinations of ``ip -j -6 route`` entries whose next hop is ``gateway``."""
    if isinstance(routes, (str, bytes)) or not isinstance(routes, t.Sequence):
        raise RaDataError("routes must be the parsed output of 'ip -j -6 route show' (a list), got %r" % (routes,))
    wanted = _address(gateway)
    return [str(route.get("dst")) for route in routes
            if isinstance(route, t.Mapping) and wanted is not None and wanted in _gateways(route)]


def first_hop(traceroute: t.Any) -> t.Optional[str]:
    hops = traceroute.get("hops") if isinstance(traceroute, t.Mapping) else None
    return str(hops[0].get("address") or "") or None if hops else None


def diagnose(ping: t.Optional[t.Mapping[str, t.Any]], traceroute: t.Any, ra: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``rogue_router`` when the client routes the server (or everything) via the rogue's link-local.

    ``ra``: ``parts`` (the plan's ``lab.ra``), ``rogue_ll`` and ``gateway_ll`` (their link-local
    addresses), ``routes`` (the client's ``ip -j -6 route show``), ``route`` (its ``ip -j -6 route get``
    for the server) and ``target`` (the server's address).
    """
    parts = ra.get("parts")
    if not isinstance(parts, t.Mapping) or not parts.get("rogue") or _address(ra.get("rogue_ll")) is None:
        raise RaDataError("ra needs parts (icmp_drill_lab.ra) and rogue_ll (the rogue's link-local address), got %r"
                          % (dict(ra),))
    target = str(ra.get("target") or "the server")
    server = _address(target)
    rogue_ll = str(_address(ra.get("rogue_ll")))
    taken = [dst for dst in routes_via(ra.get("routes"), rogue_ll)
             if _covers({"dst": dst}, server) or dst == "default"]
    lookup = ra.get("route") if isinstance(ra.get("route"), t.Mapping) else {}
    via_rogue = rogue_ll in [str(hop) for hop in _gateways(t.cast(t.Mapping[str, t.Any], lookup))]
    hop = first_hop(traceroute)
    hop_is_rogue = hop is not None and _address(hop) in (_address(parts.get("rogue_v6")), _address(rogue_ll))
    echo = None if ping is None else bool(ping.get("reachable"))
    found = {"routes_via_rogue": taken, "lookup_via_rogue": via_rogue, "first_hop": hop}
    if not taken and not via_rogue and not hop_is_rogue:
        return dict(found, verdict="healthy", diagnosis="no route of %s goes via the rogue %s (%s): the router "
                    "advertisements changed nothing" % (parts.get("client"), parts.get("rogue"), rogue_ll))
    sentence = ("rogue IPv6 router on LAN %s: %s (%s) advertised itself as a router and %s took it; its route(s) %s now go "
                "via the rogue's link-local%s instead of the gateway %s (%s)"
                % (parts.get("segment"), parts.get("rogue"), rogue_ll, parts.get("client"), ", ".join(taken) or "(none)",
                   ", and the route lookup for %s says so" % target if via_rogue else "", parts.get("gateway"),
                   ra.get("gateway_ll") or parts.get("gateway_v6")))
    if hop is not None:
        sentence += "; traceroute's first hop is %s (%s)" % (hop, "the rogue" if hop_is_rogue else "not the rogue")
    if echo is not None:
        sentence += ("; echo to %s still answers through the rogue (a man in the middle)" % target if echo
                     else "; echo to %s fails (the rogue drops it)" % target)
    return dict(found, verdict="rogue_router", diagnosis=sentence)
