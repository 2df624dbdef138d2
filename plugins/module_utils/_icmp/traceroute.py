# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Traceroute over a ``Prober`` and a clock: many TTLs in flight, rate-limit aware.

- A window of TTLs is probed at once; the window slides as the lowest TTL settles, and
  nothing is sent past the destination once it answered.
- The queries of one TTL are spread ``query_gap_s`` apart, and every silent probe is
  retried once, ``retry_after_s`` after it was first sent: Linux routers refill their
  ICMP token bucket at one per second (``icmp_ratelimit`` 1000 ms, burst about 6), so a
  late retry gets an answer a burst did not (pitfall 8).
- Waits adapt like Linux traceroute's NEAR: once a nearer hop answered in r seconds, a
  probe is given up after ``max(min_wait_s, near_factor * r)``, never more than
  ``timeout_s``. With ``max_silent_hops`` consecutive silent hops and nothing answering
  beyond them, the trace ends: about 1.5 s for an unresponsive tail, not
  ``max_hops x timeout``.
- Loss at a hop whose successors answer is never a break: the path forwards. Partial loss
  there is ``rate_limited``; losing every probe is ``filtered`` (the router drops or never
  sends its time-exceeded), because a rate limiter always lets its first burst through
  (Linux: 6 per source, more than one hop's probes and retries).
"""
from __future__ import annotations

import errno
import heapq
import ipaddress
import typing as t
from collections import Counter
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import probes
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, ResolveError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import (
    Hop,
    ProbeEvent,
    ProbeResult,
    ProbeSpec,
    TraceReport,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import Prober
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import Clock, Network, SystemClock
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import resolve_targets
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import SystemNetwork

_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


@dataclass(frozen=True)
class TraceParams:
    destination: str
    family: int
    method: str = "icmp"
    first_ttl: int = 1
    max_hops: int = 30  # the largest TTL probed (traceroute -m)
    queries: int = 3
    size: int = 60  # total packet length, IP header included
    timeout_s: float = 1.0
    min_wait_s: float = 0.5
    near_factor: float = 10.0
    max_silent_hops: int = 3
    window: int = 8
    query_gap_s: float = 0.02
    retry_after_s: float = 1.0


@dataclass
class _Probe:
    number: int
    ttl: int
    query: int
    sent_ns: int
    is_retry: bool
    event: t.Optional[ProbeEvent] = None
    expired: bool = False


class Trace:
    def __init__(self, prober: Prober, clock: Clock, params: TraceParams) -> None:
        self.prober, self.clock, self.params = prober, clock, params
        self.probes: t.Dict[int, _Probe] = {}
        self.slots: t.Dict[t.Tuple[int, int], t.List[_Probe]] = {}
        self.schedule: t.List[t.Tuple[int, int, int, bool]] = []
        self.next_ttl = params.first_ttl
        self.end_ttl: t.Optional[int] = None  # destination or unreachable
        self.stop_reason = "max_hops"
        self._number = 0
        self._expanded: t.Set[int] = set()
        self._last_retry: t.Dict[int, int] = {}
        self._scheduled: t.Set[t.Tuple[int, int]] = set()

    # --- bookkeeping ---------------------------------------------------------------
    def _answer(self, ttl: int, query: int) -> t.Optional[_Probe]:
        for probe in self.slots.get((ttl, query), ()):
            if probe.event is not None:
                return probe
        return None

    def _slot_settled(self, ttl: int, query: int) -> bool:
        """Answered, or given up: every try expired and no retry is still to come."""
        tries = self.slots.get((ttl, query), [])
        if not tries:
            return False
        if any(p.event is not None for p in tries):
            return True
        return all(p.expired for p in tries) and (ttl, query) not in self._scheduled

    def _push(self, at: int, ttl: int, query: int, is_retry: bool) -> None:
        heapq.heappush(self.schedule, (at, ttl, query, is_retry))
        self._scheduled.add((ttl, query))

    def _retry_skipped(self, ttl: int) -> bool:
        return self.end_ttl is not None and ttl > self.end_ttl

    def _ttl_settled(self, ttl: int) -> bool:
        return all(self._slot_settled(ttl, q) for q in range(self.params.queries))

    def _answered(self, ttl: int) -> bool:
        return any(self._answer(ttl, q) is not None for q in range(self.params.queries))

    def _wait_ns(self, ttl: int) -> int:
        params = self.params
        near = [
            (p.event.rx_ns - p.sent_ns) / 1e9
            for p in self.probes.values()
            if p.event is not None and p.ttl < ttl and p.event.kind != "local_error"
        ]
        if not near:
            return int(params.timeout_s * 1e9)
        return int(min(params.timeout_s, max(params.min_wait_s, params.near_factor * max(near))) * 1e9)

    # --- sending ---------------------------------------------------------------------
    def _open_ttls(self, now: int) -> None:
        params = self.params
        limit = self.end_ttl if self.end_ttl is not None else params.max_hops
        frontier = self.next_ttl
        for ttl in range(params.first_ttl, self.next_ttl):
            if not self._ttl_settled(ttl):
                frontier = ttl
                break
        while self.next_ttl <= limit and self.next_ttl < frontier + params.window:
            self._push(now, self.next_ttl, 0, False)
            self.next_ttl += 1

    def _more_queries(self, ttl: int, at: int, late: bool) -> None:
        """Queries 1..n of a TTL go out once its first query settled, so probes beyond the
        destination (all answered by the destination, which may rate-limit them) stay few.

        After a silent first query they go out ``late``, together with its retry, and count
        as retries themselves: a silent tail then costs one wait plus one late wait.
        """
        if ttl in self._expanded or (self.end_ttl is not None and ttl > self.end_ttl):
            return
        self._expanded.add(ttl)
        for query in range(1, self.params.queries):
            when = at + int(query * self.params.query_gap_s * 1e9)
            self._push(when, ttl, query, late)

    def _send_due(self, now: int) -> None:
        while self.schedule and self.schedule[0][0] <= now:
            _at, ttl, query, is_retry = heapq.heappop(self.schedule)
            self._scheduled.discard((ttl, query))
            if self.end_ttl is not None and ttl > self.end_ttl:
                continue
            if self._answer(ttl, query) is not None:
                continue  # a late answer to the first try arrived before the retry
            self._number += 1
            probe = _Probe(self._number, ttl, query, self.clock.monotonic_ns(), is_retry)
            self.probes[probe.number] = probe
            self.slots.setdefault((ttl, query), []).append(probe)
            local = self.prober.send(ProbeSpec(probe.number, ttl, self.params.size))
            if local is not None:
                self._record(local)

    def _expire(self, now: int) -> None:
        for probe in self.probes.values():
            if probe.event is not None or probe.expired:
                continue
            if now >= probe.sent_ns + self._wait_ns(probe.ttl):
                probe.expired = True
                late_at = max(now, probe.sent_ns + int(self.params.retry_after_s * 1e9))
                if probe.query == 0:
                    self._more_queries(probe.ttl, late_at, late=True)
                if self._deserves_retry(probe):
                    # Retries of one hop go out a refill interval apart: a router whose
                    # bucket is empty earns one token per interval (Linux: 1 s).
                    previous = self._last_retry.get(probe.ttl)
                    if previous is not None:
                        late_at = max(late_at, previous + int(self.params.retry_after_s * 1e9))
                    self._last_retry[probe.ttl] = late_at
                    self._push(late_at, probe.ttl, probe.query, True)

    def _deserves_retry(self, probe: _Probe) -> bool:
        """One retry per slot: always for a first try; for a query that first went out late
        (its hop was silent then) only once the hop has answered something."""
        if self._retry_skipped(probe.ttl) or len(self.slots[(probe.ttl, probe.query)]) > 1:
            return False
        return not probe.is_retry or self._answered(probe.ttl)

    def _record(self, event: ProbeEvent) -> None:
        probe = self.probes.get(event.number)
        if probe is None or self._answer(probe.ttl, probe.query) is not None:
            return  # not ours, or a duplicate / the second answer of a retried slot
        probe.event = event
        if probe.query == 0:
            self._more_queries(probe.ttl, self.clock.monotonic_ns(), late=False)
        ends = event.kind in ("reply", "unreachable") or (
            event.kind == "local_error" and event.icmp_code in _NO_ROUTE
        )
        if ends and (self.end_ttl is None or probe.ttl < self.end_ttl):
            self.end_ttl = probe.ttl
            self.stop_reason = "reached" if event.kind == "reply" else "unreachable"

    # --- termination ------------------------------------------------------------------
    def _silent_tail_start(self) -> t.Optional[int]:
        """First TTL of ``max_silent_hops`` settled silent hops with nothing answering after."""
        run_start, run_length = None, 0
        for ttl in range(self.params.first_ttl, self.next_ttl):
            if not self._ttl_settled(ttl):
                return None
            if self._answered(ttl):
                run_start, run_length = None, 0
                continue
            run_start = ttl if run_start is None else run_start
            run_length += 1
            if run_length >= self.params.max_silent_hops:
                later = any(self._answered(x) for x in range(ttl + 1, self.next_ttl))
                if not later:
                    return run_start
        return None

    def _finished(self) -> t.Optional[int]:
        """The last TTL to report when the trace is over, else None."""
        params = self.params
        if self.end_ttl is not None:
            done = all(self._ttl_settled(ttl) for ttl in range(params.first_ttl, self.end_ttl + 1))
            return self.end_ttl if done else None
        tail = self._silent_tail_start()
        if tail is not None:
            self.stop_reason = "silent_tail"
            return tail + params.max_silent_hops - 1
        if self.next_ttl > params.max_hops and all(
            self._ttl_settled(ttl) for ttl in range(params.first_ttl, self.next_ttl)
        ):
            return params.max_hops
        return None

    def run(self) -> TraceReport:
        start = self.clock.monotonic_ns()
        while True:
            now = self.clock.monotonic_ns()
            self._open_ttls(now)
            self._send_due(now)
            self._expire(self.clock.monotonic_ns())
            last_ttl = self._finished()
            if last_ttl is not None:
                break
            for event in self.prober.poll(self._next_wake(self.clock.monotonic_ns())):
                self._record(event)
        elapsed_ms = round((self.clock.monotonic_ns() - start) / 1e6, 3)
        return self._report(last_ttl, elapsed_ms)

    def _next_wake(self, now: int) -> float:
        wakes = [self.schedule[0][0]] if self.schedule else []
        wakes.extend(
            p.sent_ns + self._wait_ns(p.ttl) for p in self.probes.values() if p.event is None and not p.expired
        )
        if not wakes:
            return 0.0
        return max(0.0, (min(wakes) - now) / 1e9)

    # --- results ----------------------------------------------------------------------
    def _report(self, last_ttl: int, elapsed_ms: float) -> TraceReport:
        hops = []
        ttls = range(self.params.first_ttl, last_ttl + 1)
        answered_after = {ttl: any(self._answered(x) for x in ttls if x > ttl) for ttl in ttls}
        for ttl in ttls:
            hops.append(self._hop(ttl, answered_after[ttl]))
        return TraceReport(
            destination=self.params.destination,
            family=self.params.family,
            method=self.params.method,
            mode=self.prober.mode,
            hops=tuple(hops),
            reached=self.stop_reason == "reached",
            stop_reason=self.stop_reason,
            probes_sent=self.prober.probes_sent,
            elapsed_ms=elapsed_ms,
        )

    def _hop(self, ttl: int, later_answered: bool) -> Hop:
        results = []
        lost_kind = self._lost_kind(ttl, later_answered)
        for query in range(self.params.queries):
            probe = self._answer(ttl, query)
            if probe is None or probe.event is None:
                results.append(ProbeResult(ttl, None, None, lost_kind, None, None))
                continue
            event = probe.event
            rtt_ms = round((event.rx_ns - probe.sent_ns) / 1e6, 3) if event.kind != "local_error" else None
            results.append(ProbeResult(ttl, event.address, rtt_ms, event.kind, event.icmp_type, event.icmp_code,
                                       event.mpls))
        addresses = [r.address for r in results if r.address]
        counts = Counter(addresses)
        address = max(counts, key=lambda a: (counts[a], -addresses.index(a))) if counts else None
        answered = sum(1 for r in results if r.address or r.kind == "local_error")
        if ttl == self.end_ttl:
            status = "destination" if self.stop_reason == "reached" else "unreachable"
        elif answered == len(results):
            status = "ok"
        elif later_answered:
            status = lost_kind
        else:
            status = "partial" if answered else "silent"
        return Hop(ttl, tuple(results), address, tuple(dict.fromkeys(addresses)), status)

    def _lost_kind(self, ttl: int, later_answered: bool) -> str:
        """What a lost probe at ``ttl`` is called: ``timeout`` unless later hops answered; then
        ``filtered`` when the hop answered nothing at all, ``rate_limited`` when it answered some."""
        if not later_answered:
            return "timeout"
        return "rate_limited" if self._answered(ttl) else "filtered"


def trace(prober: Prober, clock: Clock, params: TraceParams) -> TraceReport:
    return Trace(prober, clock, params).run()


# --- production entry point --------------------------------------------------------
@dataclass(frozen=True)
class TraceRequest:
    target: str
    family: str = "auto"
    method: str = "icmp"
    privileged: str = "auto"
    first_ttl: int = 1
    max_hops: int = 30
    queries: int = 3
    timeout_s: float = 1.0
    max_silent_hops: int = 3
    port: t.Optional[int] = None
    size: t.Optional[int] = None
    source: t.Optional[str] = None
    interface: t.Optional[str] = None


def params_for(request: TraceRequest, family: int, address: str) -> TraceParams:
    """Validated parameters; raises ParameterError quoting the bad value."""
    checks = (
        ("first_ttl", request.first_ttl, 1 <= request.first_ttl <= 255, "give a TTL from 1 to 255"),
        ("max_hops", request.max_hops, request.first_ttl <= request.max_hops <= 255,
         "give a TTL from first_ttl (%d) to 255" % request.first_ttl),
        ("queries", request.queries, 1 <= request.queries <= 10, "give 1 to 10 probes per hop"),
        ("timeout", request.timeout_s, 0 < request.timeout_s <= 60, "give seconds between 0 and 60"),
        ("max_silent_hops", request.max_silent_hops, 1 <= request.max_silent_hops <= 255, "give 1 to 255"),
    )
    for option, value, valid, hint in checks:
        if not valid:
            raise ParameterError(option, value, hint)
    floor = probes.min_probe_size(family, request.method)
    size = request.size if request.size is not None else max(floor, 60 if family == 4 else 80)
    if not floor <= size <= 65000:
        raise ParameterError("size", size, "give a packet length from %d to 65000 bytes for %s probes over IPv%d"
                             % (floor, request.method, family))
    return TraceParams(
        destination=address, family=family, method=request.method, first_ttl=request.first_ttl,
        max_hops=request.max_hops, queries=request.queries, size=size, timeout_s=request.timeout_s,
        min_wait_s=min(0.5, request.timeout_s), max_silent_hops=request.max_silent_hops,
        # UDP and TCP probes past the destination are answered by it, and it rate-limits
        # port unreachable: keep fewer TTLs in flight for them.
        window=8 if request.method == "icmp" else 4,
    )


def run_trace(request: TraceRequest, network: t.Optional[Network] = None, clock: t.Optional[Clock] = None) -> TraceReport:
    """Resolve, open the prober and trace, over ``network`` (default: real sockets)."""
    if request.method not in ("icmp", "udp", "tcp"):
        raise ParameterError("method", request.method, "use icmp, udp or tcp")
    network = network or SystemNetwork()
    resolved = resolve_targets([request.target], request.family, network.lookup, network.zone_index)[0]
    if resolved.error or resolved.address is None or resolved.family is None:
        raise ResolveError(resolved.error or "%s does not resolve" % request.target)
    params = params_for(request, resolved.family, resolved.address)
    prober = network.open_path(
        resolved.family, request.method, resolved.address, mode=request.privileged, port=request.port,
        source=request.source, interface=request.interface,
    )
    try:
        return trace(prober, clock or SystemClock(), params)
    finally:
        prober.close()


def traverses(report: TraceReport, wanted: str) -> bool:
    """Whether an address or CIDR (``wanted``) appears among the hops' responding addresses."""
    network = ipaddress.ip_network(wanted, strict=False)
    for hop in report.hops:
        for address in hop.addresses:
            parsed = ipaddress.ip_address(address)
            if parsed.version == network.version and parsed in network:
                return True
    return False
