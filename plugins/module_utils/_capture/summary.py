# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""What a capture saw, counted as it arrives: per direction, type/code, address, second.

``add`` is on the hot path (tens of thousands of packets a second): it reads the
type and code straight from the bytes and counts in dicts; only ICMP errors go
through the full codec, to name the flow they quote (the quoted datagram's
addresses, protocol, ports or echo id), which is what says *whose* packets a
router refused. Names and sorting happen once, in ``to_dict``.
"""
from __future__ import annotations

import socket
import struct
import typing as t
from collections import Counter

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import codec
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import CodecError

_ERRORS = {4: frozenset(c.ICMP4_ERROR_TYPES), 6: frozenset(c.ICMP6_ERROR_TYPES)}
_HOP_BY_HOP = 0


class Summary:
    def __init__(self, top: int = 10) -> None:
        self.top = top
        self.packets = 0
        self.malformed = 0
        self.fragments = 0
        self.first_ns: t.Optional[int] = None
        self.last_ns: t.Optional[int] = None
        self.by_key: t.Counter[t.Tuple[int, int, int, str]] = Counter()  # (family, type, code, direction)
        self.by_source: t.Counter[str] = Counter()
        self.by_destination: t.Counter[str] = Counter()
        self.per_second: t.Counter[int] = Counter()
        self.errors: t.Counter[t.Tuple[t.Any, ...]] = Counter()

    def add(self, timestamp_ns: int, direction: str, family: int, data: bytes) -> None:
        self.packets += 1
        if self.first_ns is None:
            self.first_ns = timestamp_ns
        self.last_ns = timestamp_ns
        self.per_second[timestamp_ns // 1_000_000_000] += 1
        try:
            src, dst, icmp = split_packet(family, data)
        except (CodecError, IndexError, ValueError):
            self.malformed += 1
            return
        self.by_source[src] += 1
        self.by_destination[dst] += 1
        if icmp is None:
            self.fragments += 1
            return
        icmp_type, code = icmp[0], icmp[1]
        self.by_key[(family, icmp_type, code, direction)] += 1
        if icmp_type in _ERRORS[family]:
            self._error(family, icmp, src, direction)

    def _error(self, family: int, icmp: bytes, reporter: str, direction: str) -> None:
        try:
            message = codec.parse_icmp(icmp, family)
        except CodecError:
            self.malformed += 1
            return
        quoted = message.original
        flow = None if quoted is None else (quoted.src, quoted.dst, quoted.protocol, quoted.sport, quoted.dport,
                                            quoted.ident)
        self.errors[(family, message.icmp_type, message.code, direction, reporter, message.mtu, flow)] += 1

    def to_dict(self) -> t.Dict[str, t.Any]:
        seconds = max(1e-9, ((self.last_ns or 0) - (self.first_ns or 0)) / 1e9)
        by_direction: t.Counter[str] = Counter()
        for (_f, _t, _c, direction), count in self.by_key.items():
            by_direction[direction] += count
        return {
            "packets": self.packets,
            "malformed": self.malformed,
            "fragments": self.fragments,
            "by_direction": {"in": by_direction.get("in", 0), "out": by_direction.get("out", 0)},
            "by_type": [_type_row(key, count) for key, count in sorted(self.by_key.items())],
            "top_sources": _top(self.by_source, self.top),
            "top_destinations": _top(self.by_destination, self.top),
            "distinct_sources": len(self.by_source),
            "distinct_destinations": len(self.by_destination),
            "rate_pps": {"average": round(self.packets / seconds, 1) if self.packets > 1 else float(self.packets),
                         "peak": max(self.per_second.values()) if self.per_second else 0},
            "per_second": [{"second": second, "packets": count} for second, count in sorted(self.per_second.items())],
            "errors": [_error_row(key, count) for key, count in self.errors.most_common(self.top * 5)],
        }


def split_packet(family: int, data: bytes) -> t.Tuple[str, str, t.Optional[bytes]]:
    """(source, destination, ICMP bytes or None for a non-first fragment)."""
    if family == 4:
        header_len = (data[0] & 0x0F) * 4
        if data[0] >> 4 != 4 or header_len < 20 or len(data) < header_len + 4:
            raise CodecError("IPv4 packet truncated or not IPv4")
        fragment_offset = struct.unpack_from("!H", data, 6)[0] & 0x1FFF
        icmp = None if fragment_offset else data[header_len:]
        return socket.inet_ntop(socket.AF_INET, data[12:16]), socket.inet_ntop(socket.AF_INET, data[16:20]), icmp
    if len(data) < 44 or data[0] >> 4 != 6:
        raise CodecError("IPv6 packet truncated or not IPv6")
    src = socket.inet_ntop(socket.AF_INET6, data[8:24])
    dst = socket.inet_ntop(socket.AF_INET6, data[24:40])
    offset = 40
    if data[6] == _HOP_BY_HOP:
        offset += (data[41] + 1) * 8
    if len(data) < offset + 4:
        raise CodecError("ICMPv6 header truncated")
    return src, dst, data[offset:]


def _top(counter: t.Counter[str], top: int) -> t.List[t.Dict[str, t.Any]]:
    return [{"address": address, "packets": count} for address, count in counter.most_common(top)]


def _type_row(key: t.Tuple[int, int, int, str], count: int) -> t.Dict[str, t.Any]:
    family, icmp_type, code, direction = key
    return {"family": "ipv%d" % family, "type": icmp_type, "code": code, "name": c.icmp_name(family, icmp_type, code),
            "direction": direction, "packets": count}


def _error_row(key: t.Tuple[t.Any, ...], count: int) -> t.Dict[str, t.Any]:
    family, icmp_type, code, direction, reporter, mtu, flow = key
    quoted = None
    if flow is not None:
        quoted = dict(zip(("src", "dst", "protocol", "sport", "dport", "echo_id"), flow))
    return {"family": "ipv%d" % family, "type": icmp_type, "code": code, "name": c.icmp_name(family, icmp_type, code),
            "direction": direction, "from": reporter, "mtu": mtu, "quoted": quoted, "packets": count}
