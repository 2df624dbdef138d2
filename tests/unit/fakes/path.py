"""A fake network path for the traceroute and pmtud algorithms (implements their Prober).

Routers sit in a chain; each has the MTU of the link it forwards onto, may drop its own
frag-needed / packet-too-big (a PMTUD black hole), may be silent, may rate-limit its ICMP
errors with a token bucket (Linux: burst 6, 1 per second), and may attach MPLS labels.
Time moves only through ``poll``, on a ``FakeClock``.
"""
from __future__ import annotations

import heapq
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import MplsLabel
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import ProbeEvent, ProbeSpec
from tests.unit.fakes.clock import FakeClock


@dataclass
class FakeRouter:
    address: str
    mtu: int = 1500  # MTU of the link towards the destination
    drop_ptb: bool = False
    silent: bool = False
    burst: t.Optional[float] = None  # token bucket size; None: no rate limit
    per_s: float = 1.0
    mpls: t.Tuple[MplsLabel, ...] = ()
    tokens: float = field(default=0.0, init=False)
    last_ns: t.Optional[int] = field(default=None, init=False)

    def allow(self, now_ns: int) -> bool:
        if self.burst is None:
            return True
        if self.last_ns is None:
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now_ns - self.last_ns) / 1e9 * self.per_s)
        self.last_ns = now_ns
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakePath:
    def __init__(
        self,
        clock: FakeClock,
        routers: t.Sequence[FakeRouter],
        destination: str = "203.0.113.9",
        family: int = 4,
        method: str = "icmp",
        hop_rtt_s: float = 0.001,
        local_mtu: int = 1500,
        destination_answers: bool = True,
        blackhole_after: t.Optional[int] = None,
        destination_limit: t.Optional[FakeRouter] = None,
        unreachable_at: t.Optional[int] = None,
    ) -> None:
        self.clock = clock
        self.routers = list(routers)
        self.destination = destination
        self.family, self.method = family, method
        self.hop_rtt_s = hop_rtt_s
        self.local_mtu = local_mtu
        self.destination_answers = destination_answers
        self.blackhole_after = blackhole_after
        self.destination_limit = destination_limit
        self.unreachable_at = unreachable_at
        self.mode = "raw"
        self.probes_sent = 0
        self.sent: t.List[t.Tuple[int, ProbeSpec]] = []  # (time, probe) for assertions
        self._queue: t.List[t.Tuple[int, int, ProbeEvent]] = []
        self._order = 0

    def _deliver(self, hops: int, event_kind: str, address: str, number: int, **extra: t.Any) -> None:
        at = self.clock.now_ns + int(2 * hops * self.hop_rtt_s * 1e9)
        icmp_type = extra.pop("icmp_type", None)
        icmp_code = extra.pop("icmp_code", 0)
        event = ProbeEvent(number, event_kind, address, at, icmp_type, icmp_code, **extra)
        self._order += 1
        heapq.heappush(self._queue, (at, self._order, event))

    def send(self, spec: ProbeSpec) -> t.Optional[ProbeEvent]:
        now = self.clock.now_ns
        if spec.size > self.local_mtu:
            return ProbeEvent(spec.number, "local_error", None, now, None, 90, self.local_mtu)
        self.probes_sent += 1
        self.sent.append((now, spec))
        v4 = self.family == 4
        for index, router in enumerate(self.routers):
            hop = index + 1
            if self.blackhole_after is not None and hop > self.blackhole_after:
                return None
            if spec.ttl == hop:
                if not router.silent and router.allow(now):
                    self._deliver(hop, "ttl_exceeded", router.address, spec.number,
                                  icmp_type=11 if v4 else 3, mpls=router.mpls)
                return None
            if self.unreachable_at == hop:
                if router.allow(now):
                    self._deliver(hop, "unreachable", router.address, spec.number, icmp_type=3 if v4 else 1, icmp_code=1)
                return None
            if spec.size > router.mtu:
                if not router.drop_ptb and router.allow(now):
                    self._deliver(hop, "too_big", router.address, spec.number,
                                  icmp_type=3 if v4 else 2, icmp_code=4 if v4 else 0, mtu=router.mtu)
                return None
        hops = len(self.routers) + 1
        if not self.destination_answers:
            return None
        if self.destination_limit is not None and not self.destination_limit.allow(now):
            return None
        if self.method == "udp":
            self._deliver(hops, "reply", self.destination, spec.number, icmp_type=3 if v4 else 1, icmp_code=3 if v4 else 4)
        else:
            self._deliver(hops, "reply", self.destination, spec.number, icmp_type=0 if v4 else 129)
        return None

    def poll(self, timeout_s: float) -> t.List[ProbeEvent]:
        deadline = self.clock.now_ns + int(max(0.0, timeout_s) * 1e9)
        if not self._queue or self._queue[0][0] > deadline:
            self.clock.now_ns = max(self.clock.now_ns, deadline)
            return []
        first = self._queue[0][0]
        self.clock.now_ns = max(self.clock.now_ns, first)
        events = []
        while self._queue and self._queue[0][0] <= self.clock.now_ns:
            events.append(heapq.heappop(self._queue)[2])
        return events
