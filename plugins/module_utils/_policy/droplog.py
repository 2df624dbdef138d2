# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Drop logs summarized per rule: which rule of the policy logged which packets.

A packet logged to the policy's nflog group carries the rule's ``log_prefix``, its
family and the hook (direction). Several rules may share one prefix, so the rule is
found like the kernel found it: the first logged rule, in the policy's order, of that
family and direction with that prefix whose type, code and addresses match the packet
(an earlier rule that matched would have taken the packet). A packet no rule of ours
explains (another program's rule writing to the same group) is kept with ``rule: null``.
"""
from __future__ import annotations

import ipaddress
import math
import socket
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import nflog
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, Rule
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.nflog import LoggedPacket

_ICMP_PROTOCOL = {IPV4: 1, IPV6: 58}
_IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options: the ones before an ICMPv6 header
MAX_DURATION_S = 3600
MAX_PACKETS = 1000000
_Address = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class Decoded(t.NamedTuple):
    source: _Address
    destination: _Address
    icmp_type: t.Optional[int]  # None: not an ICMP packet of the family (or its header was cut)
    code: t.Optional[int]


def decode(family: t.Optional[str], payload: bytes) -> t.Optional[Decoded]:
    """Addresses and ICMP type/code from a logged packet's network header on; None when unreadable."""
    if family == IPV4 and len(payload) >= 20 and payload[0] >> 4 == 4:
        start, protocol = (payload[0] & 0x0F) * 4, payload[9]
        source, destination = ipaddress.IPv4Address(payload[12:16]), ipaddress.IPv4Address(payload[16:20])
        fragment_offset = int.from_bytes(payload[6:8], "big") & 0x1FFF
        if fragment_offset:
            protocol = -1  # a later fragment holds no ICMP header
    elif family == IPV6 and len(payload) >= 40 and payload[0] >> 4 == 6:
        source, destination = ipaddress.IPv6Address(payload[8:24]), ipaddress.IPv6Address(payload[24:40])
        start, protocol = 40, payload[6]
        while protocol in _IPV6_EXTENSIONS and start + 2 <= len(payload):
            protocol, start = payload[start], start + (payload[start + 1] + 1) * 8
    else:
        return None
    if protocol != _ICMP_PROTOCOL[family] or start + 2 > len(payload):
        return Decoded(source, destination, None, None)
    return Decoded(source, destination, payload[start], payload[start + 1])


def _within(address: _Address, networks: t.Sequence[str]) -> bool:
    return not networks or any(address in ipaddress.ip_network(network) for network in networks)


def rule_for(policy: t.Optional[Policy], packet: LoggedPacket, decoded: t.Optional[Decoded]) -> t.Optional[Rule]:
    """The rule of ``policy`` that logged ``packet`` (see the module docstring), or None."""
    if policy is None or decoded is None or decoded.icmp_type is None:
        return None
    for rule in policy.rules:
        if (rule.log_prefix == packet.prefix and rule.family == packet.family and rule.direction == packet.direction
                and rule.matches(decoded.icmp_type, t.cast(int, decoded.code))
                and _within(decoded.source, rule.source) and _within(decoded.destination, rule.destination)):
            return rule
    return None


def summarize(policy: t.Optional[Policy], packets: t.Iterable[LoggedPacket],
              interface_name: t.Callable[[int], t.Optional[str]]) -> t.List[t.Dict[str, t.Any]]:
    """One row per rule, type/code, source and interface, with its packet count; busiest first."""
    rows: t.Dict[t.Tuple[t.Any, ...], t.Dict[str, t.Any]] = {}
    for packet in packets:
        decoded = decode(packet.family, packet.payload)
        rule = rule_for(policy, packet, decoded)
        index = packet.in_interface if packet.in_interface is not None else packet.out_interface
        row = {
            "rule": rule.text() if rule is not None else None,
            "prefix": packet.prefix,
            "family": packet.family,
            "direction": packet.direction,
            "type": decoded.icmp_type if decoded is not None else None,
            "type_name": _type_name(packet.family, decoded),
            "code": decoded.code if decoded is not None else None,
            "source": str(decoded.source) if decoded is not None else None,
            "destination": str(decoded.destination) if decoded is not None else None,
            "interface": interface_name(index) if index else None,
        }
        key = tuple(row.values())
        found = rows.setdefault(key, dict(row, packets=0, first_seen=packet.timestamp_s, last_seen=packet.timestamp_s))
        found["packets"] += 1
        if packet.timestamp_s is not None:
            found["first_seen"] = min(found["first_seen"] or packet.timestamp_s, packet.timestamp_s)
            found["last_seen"] = max(found["last_seen"] or packet.timestamp_s, packet.timestamp_s)
    return sorted(rows.values(), key=lambda row: (-row["packets"], str(row["rule"]), str(row["source"])))


def _type_name(family: t.Optional[str], decoded: t.Optional[Decoded]) -> t.Optional[str]:
    if family not in (IPV4, IPV6) or decoded is None or decoded.icmp_type is None:
        return None
    return icmp_types.type_name(t.cast(str, family), decoded.icmp_type)


def check_window(duration_s: t.Any, max_packets: t.Any) -> None:
    """The reading window: a duration in seconds and a packet bound, both finite and positive."""
    if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s) \
            or not 0 < duration_s <= MAX_DURATION_S:
        raise PolicyError("drop_log duration %r is out of range: give seconds, more than 0 and at most %d"
                          % (duration_s, MAX_DURATION_S))
    if isinstance(max_packets, bool) or not isinstance(max_packets, int) or not 1 <= max_packets <= MAX_PACKETS:
        raise PolicyError("drop_log max_packets %r is out of range: give a whole number from 1 to %d"
                          % (max_packets, MAX_PACKETS))


def interface_name(index: int) -> t.Optional[str]:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return None  # the interface is gone (a lab link torn down after the packet)


def gather(policy: t.Optional[Policy], log_group: int, duration_s: float, max_packets: int,
           read: t.Optional[t.Callable[[int, float, int], nflog.Reading]] = None) -> t.Dict[str, t.Any]:
    """Read ``log_group`` for ``duration_s`` (at most ``max_packets``; ``read``: ``nflog.read_group``)
    and summarize it against ``policy``."""
    check_window(duration_s, max_packets)
    reading = (read or nflog.read_group)(log_group, float(duration_s), max_packets)
    return {"log_group": log_group, "duration_s": reading.elapsed_s, "packets": len(reading.packets),
            "overruns": reading.overruns, "truncated": reading.truncated,
            "drops": summarize(policy, reading.packets, interface_name)}
