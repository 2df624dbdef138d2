# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The parts a LAN drill (redirect, rogue RA) casts from the lab's segments: client, gateway, rogue."""
from __future__ import annotations

import ipaddress
import typing as t

Lab = t.Mapping[str, t.Any]


def _v4(member: t.Any) -> t.Optional[str]:
    return member.get("ipv4") if isinstance(member, t.Mapping) else None


def _ifname(interfaces: t.Any, address: t.Optional[str]) -> t.Optional[str]:
    """The name of the interface that holds ``address`` (lab_interfaces give it with its prefix)."""
    for interface in interfaces or []:
        if address and str(interface.get("ipv4") or "").split("/", maxsplit=1)[0] == address:
            return str(interface.get("ifname"))
    return None


def _unused_v4(prefix: t.Optional[str], used: t.Iterable[t.Optional[str]]) -> t.Optional[str]:
    """The highest host address of the segment that no member has: the rogue's bogus next hop."""
    if not prefix:
        return None
    taken = {address for address in used if address}
    network = ipaddress.ip_network(prefix, strict=False)
    for offset in range(network.num_addresses - 2, 0, -1):
        candidate = str(network.network_address + offset)
        if candidate not in taken:
            return candidate
    return None


def cast(lab: Lab, address: t.Callable[[t.Any], t.Optional[str]]) -> t.Optional[t.Tuple[t.Mapping[str, t.Any], str]]:
    """The first segment where the client, the router and a rogue all have an ``address`` (a member's
    address of one family), with the rogue's name; None when no segment has them.

    The rogue is ``lab['rogue']`` when given, else the first other member of that segment that is
    neither the client, the router nor the server.
    """
    client, router, server = lab.get("client"), lab.get("router"), lab.get("server")
    for segment in lab.get("segments") or []:
        members = segment.get("members") or {}
        if client not in members or router not in members or not address(members[client]) \
                or not address(members[router]):
            continue
        others = [name for name in members if name not in (client, router, server) and address(members[name])]
        rogue = lab.get("rogue") or (others[0] if others else None)
        if rogue in others:
            return segment, str(rogue)
    return None


def lan_parts(lab: Lab) -> t.Optional[t.Dict[str, t.Any]]:
    """Client, gateway (the router) and rogue on one segment with IPv4 (see ``cast``), or None when the lab has none."""
    found = cast(lab, _v4)
    if found is not None:
        segment, rogue = found
        client, router = lab.get("client"), lab.get("router")
        members = segment.get("members") or {}
        interfaces = lab.get("interfaces") or {}
        return {
            "segment": segment.get("name"), "client": client, "gateway": router, "rogue": rogue,
            "client_v4": _v4(members[client]), "gateway_v4": _v4(members[router]), "rogue_v4": _v4(members[rogue]),
            "client_ifname": _ifname(interfaces.get(client), _v4(members[client])),
            "rogue_ifname": _ifname(interfaces.get(rogue), _v4(members[rogue])),
            "bogus_v4": _unused_v4(segment.get("ipv4"), [_v4(member) for member in members.values()]
                                   + [_v4(segment.get("controller"))]),
        }
    return None
