# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Frozen dataclasses of the path tools (traceroute, pmtud): probes, events, results."""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import MplsLabel

METHODS = ("icmp", "udp", "tcp")

# What a probe provoked. "reply": the destination answered (echo reply, UDP port
# unreachable, TCP SYN-ACK or RST); "ttl_exceeded": a router on the way; "too_big": IPv4
# frag-needed or ICMPv6 packet-too-big (``mtu`` set); "unreachable": any other destination
# unreachable; "local_error": the kernel refused the send (``mtu`` set for EMSGSIZE).
EVENT_KINDS = ("reply", "ttl_exceeded", "too_big", "unreachable", "local_error", "other")


@dataclass(frozen=True)
class ProbeSpec:
    number: int  # unique within the run; carried in the payload (or TCP seq)
    ttl: int
    size: int  # total IP packet length in bytes (IP header included)


@dataclass(frozen=True)
class ProbeEvent:
    number: int  # the probe it answers
    kind: str
    address: t.Optional[str]  # who sent it (router, destination); None for local errors
    rx_ns: int  # monotonic receive time
    icmp_type: t.Optional[int] = None
    icmp_code: t.Optional[int] = None
    mtu: t.Optional[int] = None
    mpls: t.Tuple[MplsLabel, ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    """One probe of a traceroute hop, as returned to the user."""

    ttl: int
    address: t.Optional[str]
    rtt_ms: t.Optional[float]
    kind: t.Optional[str]  # None: no answer
    icmp_type: t.Optional[int]
    icmp_code: t.Optional[int]
    mpls: t.Tuple[MplsLabel, ...] = ()

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "address": self.address,
            "rtt_ms": self.rtt_ms,
            "icmp_type": self.icmp_type,
            "icmp_code": self.icmp_code,
            "kind": self.kind,
            "mpls": [
                {"label": m.label, "tc": m.tc, "bottom_of_stack": m.bottom_of_stack, "ttl": m.ttl}
                for m in self.mpls
            ],
        }


@dataclass(frozen=True)
class Hop:
    ttl: int
    probes: t.Tuple[ProbeResult, ...]
    address: t.Optional[str]  # the address that answered most often, None when silent
    addresses: t.Tuple[str, ...]  # every distinct address (ECMP or per-packet balancing)
    status: str  # "ok", "partial", "rate_limited", "filtered", "silent", "destination", "unreachable"

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "ttl": self.ttl,
            "address": self.address,
            "addresses": list(self.addresses),
            "status": self.status,
            "probes": [p.as_dict() for p in self.probes],
        }


@dataclass(frozen=True)
class TraceReport:
    destination: str
    family: int
    method: str
    mode: str
    hops: t.Tuple[Hop, ...]
    reached: bool
    stop_reason: str  # "reached", "unreachable", "silent_tail", "max_hops"
    probes_sent: int
    elapsed_ms: float

    @property
    def path(self) -> t.List[t.Optional[str]]:
        return [hop.address for hop in self.hops]

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "destination": self.destination,
            "family": "ipv%d" % self.family,
            "method": self.method,
            "mode": self.mode,
            "hops": [hop.as_dict() for hop in self.hops],
            "path": self.path,
            "reached": self.reached,
            "stop_reason": self.stop_reason,
            "probes_sent": self.probes_sent,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass(frozen=True)
class HopRef:
    """A hop of the path by its TTL and the address that answered there (None: silent)."""

    ttl: int
    address: t.Optional[str]

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {"ttl": self.ttl, "address": self.address}


@dataclass(frozen=True)
class LocalLimit:
    """The host itself caps packets to the destination below its interface MTU: the route's
    MTU was lowered locally (a tunnel such as VXLAN whose MTU is set above what its underlay
    carries), not by a router's ICMP."""

    mtu: int  # the route's MTU the kernel enforces (IP_MTU / IPV6_MTU)
    interface: t.Optional[str]  # the route's outgoing interface
    interface_mtu: t.Optional[int]  # that interface's configured MTU

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {"mtu": self.mtu, "interface": self.interface, "interface_mtu": self.interface_mtu}


@dataclass(frozen=True)
class PmtuReport:
    destination: str
    family: int
    method: str
    mode: str
    path_mtu: t.Optional[int]
    local_mtu: t.Optional[int]
    reported_by: t.Optional[str]
    black_hole: bool
    inferred: bool
    reachable: bool
    probes_sent: int
    elapsed_ms: float
    message: str
    local_limit: t.Optional[LocalLimit] = None
    last_full_size_hop: t.Optional[HopRef] = None  # black hole: the last hop that answered full size
    first_vanishing_hop: t.Optional[HopRef] = None  # black hole: the first hop where larger probes vanish

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "destination": self.destination,
            "family": "ipv%d" % self.family,
            "method": self.method,
            "mode": self.mode,
            "path_mtu": self.path_mtu,
            "local_mtu": self.local_mtu,
            "reported_by": self.reported_by,
            "black_hole": self.black_hole,
            "inferred": self.inferred,
            "reachable": self.reachable,
            "probes_sent": self.probes_sent,
            "elapsed_ms": self.elapsed_ms,
            "message": self.message,
            "local_limit": self.local_limit.as_dict() if self.local_limit else None,
            "last_full_size_hop": self.last_full_size_hop.as_dict() if self.last_full_size_hop else None,
            "first_vanishing_hop": self.first_vanishing_hop.as_dict() if self.first_vanishing_hop else None,
        }
