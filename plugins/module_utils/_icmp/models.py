# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Frozen dataclasses: parsed packets, probe options and probe results.

Families are the integers 4 and 6 throughout; times carry their unit in the name.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


# --- parsed packets (codec output) -------------------------------------------------
@dataclass(frozen=True)
class Ipv4Header:
    """An IPv4 header (options kept raw)."""

    version: int
    header_len: int  # bytes (IHL * 4)
    tos: int
    total_len: int
    ident: int
    dont_fragment: bool
    ttl: int
    protocol: int
    src: str
    dst: str
    options: bytes = b""


@dataclass(frozen=True)
class MplsLabel:
    """One RFC 4950 label stack entry."""

    label: int
    tc: int
    bottom_of_stack: bool
    ttl: int


@dataclass(frozen=True)
class ExtensionObject:
    """One RFC 4884 extension object (class-num, c-type, raw payload)."""

    class_num: int
    c_type: int
    payload: bytes
    mpls: t.Tuple[MplsLabel, ...] = ()


@dataclass(frozen=True)
class QuotedDatagram:
    """The original datagram an ICMP error quotes: IP header plus the first bytes."""

    family: int
    src: str
    dst: str
    protocol: int
    ttl: int
    ip_ident: t.Optional[int] = None  # IPv4 only
    icmp_type: t.Optional[int] = None
    icmp_code: t.Optional[int] = None
    ident: t.Optional[int] = None  # ICMP echo identifier
    seq: t.Optional[int] = None  # ICMP echo sequence
    sport: t.Optional[int] = None  # UDP/TCP
    dport: t.Optional[int] = None
    tcp_seq: t.Optional[int] = None
    udp_length: t.Optional[int] = None
    udp_checksum: t.Optional[int] = None
    payload: bytes = b""  # bytes after the 8-byte transport header, as quoted


@dataclass(frozen=True)
class IcmpMessage:
    """One parsed ICMPv4/ICMPv6 message."""

    family: int
    icmp_type: int
    code: int
    name: str
    checksum: int
    ident: t.Optional[int] = None  # echo request/reply
    seq: t.Optional[int] = None
    mtu: t.Optional[int] = None  # v4 frag-needed next-hop MTU, v6 packet-too-big MTU
    pointer: t.Optional[int] = None  # parameter problem
    gateway: t.Optional[str] = None  # redirect
    original: t.Optional[QuotedDatagram] = None
    extensions: t.Tuple[ExtensionObject, ...] = ()
    payload: bytes = b""  # echo payload

    @property
    def is_error(self) -> bool:
        return self.original is not None


@dataclass(frozen=True)
class Packet:
    """A received ICMP packet: the message plus what the IP layer told us."""

    message: IcmpMessage
    ip: t.Optional[Ipv4Header] = None  # raw IPv4 only


# --- options ----------------------------------------------------------------------
DF_MODES = ("do", "want", "dont", "probe")
PRIVILEGE_MODES = ("auto", "raw", "unprivileged")
FAMILIES = ("auto", "ipv4", "ipv6")


@dataclass(frozen=True)
class ProbeOptions:
    """Options shared by ping, traceroute and pmtud (the ``probe`` doc fragment)."""

    family: str = "auto"
    privileged: str = "auto"
    source: t.Optional[str] = None
    interface: t.Optional[str] = None
    timeout_s: float = 1.0
    size: int = 56
    ttl: t.Optional[int] = None
    df: t.Optional[str] = None
    tos: t.Optional[int] = None


@dataclass(frozen=True)
class PingOptions:
    """Options of a ping run (``probe`` holds the shared ones)."""

    count: int = 3
    interval_s: float = 0.2  # per target, between its probes
    rate: float = 0.0  # packets per second over all targets; 0 = unpaced
    deadline_s: t.Optional[float] = None  # whole run
    pattern: bytes = b""
    probe: ProbeOptions = field(default_factory=ProbeOptions)


# --- results ----------------------------------------------------------------------
# A ping result is a plain dict in the documented shape of the module's ``results``
# (see plugins/modules/ping.py RETURN), built once by the engine: a sweep of 100,000
# targets then needs no conversion on its way to JSON. Every key is always present.
TargetResult = t.Dict[str, t.Any]
TARGET_RESULT_KEYS = (
    "target", "address", "family", "status", "sent", "received", "loss_pct", "rtt_ms", "duplicates",
    "late", "reply_ttl", "reachable", "reply_address", "errors", "error",
)
# ``status``: reachable (at least one reply), unreachable (probed, no reply), error (not
# probed: the name did not resolve, the address is of the other family...).
STATUSES = ("reachable", "unreachable", "error")


@dataclass(frozen=True)
class PingReport:
    """The results of one run, in the order the targets were given."""

    results: t.List[TargetResult]
    elapsed_ms: float
    mode: t.Dict[str, str]  # family -> "raw" / "unprivileged" actually used

    @property
    def summary(self) -> t.Dict[str, t.Any]:
        counts = {"reachable": 0, "unreachable": 0, "error": 0}
        for result in self.results:
            counts[result["status"]] += 1
        return {
            "targets": len(self.results),
            "reachable": counts["reachable"],
            "unreachable": counts["unreachable"],
            "errors": counts["error"],
            "elapsed_ms": self.elapsed_ms,
        }
