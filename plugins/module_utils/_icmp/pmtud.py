# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Path MTU discovery with black-hole detection, over a ``Prober`` and a clock.

1. Send a DF probe of ``max_mtu`` bytes and, beside it, a small confirmation probe of
   ``min_mtu`` bytes. The probes use IP_PMTUDISC_PROBE (set by the prober), so the
   kernel's cached path MTU neither blocks nor fragments them (pitfall 9).
2. A reply means the size passes. Frag-needed / packet-too-big carries the next-hop MTU:
   probe exactly that size next (about one RTT per MTU step, as tracepath does).
3. When the large probe vanishes while the small one is answered, ICMP "fragmentation
   needed" / "packet too big" is being dropped somewhere: a black hole (RFC 4821 /
   RFC 8899). Search the gap with rounds of parallel probes over a size table (two copies
   each, so one random loss does not pass for a too-small MTU), keeping a small probe in
   every round to confirm the destination still answers. Each round shrinks the gap about
   17-fold, so 576..1500 takes three rounds.
4. After every round, ask the kernel what the route to the destination allows now (the
   ``local_check`` seam: ``IP_MTU`` / ``IPV6_MTU``). A tunnel whose MTU is set above what its
   underlay carries (VXLAN at 1500 over a 1500 link) lowers that route MTU itself when our
   probe does not fit, with no ICMP on the wire: PROBE-mode probes ignore it, so a too-big
   probe is either fragmented outside the tunnel (and answered) or dropped (and looks like a
   black hole). A route MTU below the interface MTU that no router's ICMP explains is a local
   limit: the path MTU is capped at it and it is reported with the interface, not as a
   black hole.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import blackhole, probes, transport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, ResolveError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import resolve_targets
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import Clock, Network, SystemClock
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import (
    LocalLimit,
    PmtuReport,
    ProbeEvent,
    ProbeSpec,
)

PMTU_TTL = 64
# Plateaus worth testing exactly (RFC 1191 table plus today's tunnels and jumbo frames).
PLATEAUS = (9000, 8192, 4464, 4352, 2002, 1500, 1492, 1480, 1472, 1460, 1450, 1420, 1400, 1380, 1280, 1006, 576)


class Prober(t.Protocol):
    probes_sent: int
    mode: str

    def send(self, spec: ProbeSpec) -> t.Optional[ProbeEvent]: ...

    def poll(self, timeout_s: float) -> t.List[ProbeEvent]: ...


@dataclass(frozen=True)
class PmtuParams:
    destination: str
    family: int
    method: str = "icmp"
    min_mtu: int = 576
    max_mtu: int = 1500
    local_mtu: t.Optional[int] = None
    timeout_s: float = 1.0  # longest wait for one round
    grace_min_s: float = 0.25  # after the small probe answered, wait at least this long
    fanout: int = 16  # sizes per search round
    copies: int = 2  # copies of each size per round
    confirm_every_round: bool = True
    # UDP probes are answered by port unreachable, which the destination rate-limits (Linux:
    # burst 6, then one per second). Sizes go out largest first and the confirmation probe
    # last: the first arrival takes the first token, so the largest size that passes is
    # answered whenever any token is left (smaller ones are implied), and an answer that a
    # drained bucket withheld never passes for a vanished probe. A round with no answer at
    # all is inconclusive: wait for a token (``min_round_s`` after that round began) and
    # repeat it, at most ``inconclusive_retries`` times.
    confirm_last: bool = False
    min_round_s: float = 0.0
    inconclusive_retries: int = 0
    locate_max_ttl: int = 30  # black hole: probe TTL 1..this to find where reports stop (0: skip)


@dataclass
class _Outcome:
    replied: bool = False
    too_big_mtu: t.Optional[int] = None
    reporter: t.Optional[str] = None
    local_mtu: t.Optional[int] = None

    @property
    def answered(self) -> bool:
        return self.replied or self.too_big_mtu is not None or self.local_mtu is not None


@dataclass
class _Round:
    outcomes: t.Dict[int, _Outcome]
    confirmed: bool
    rtt_s: t.Optional[float]


LocalCheck = t.Callable[[], t.Optional[LocalLimit]]


def _no_local_limit() -> t.Optional[LocalLimit]:
    return None


class PmtuSearch:
    def __init__(self, prober: Prober, clock: Clock, params: PmtuParams,
                 local_check: LocalCheck = _no_local_limit) -> None:
        self.prober, self.clock, self.params = prober, clock, params
        self.local_check = local_check
        self.local_limit: t.Optional[LocalLimit] = None
        self._icmp_mtus: t.Set[int] = set()
        self._next_number = 1
        self._rtt_s: t.Optional[float] = None
        self._round_start_ns = 0

    def _pace(self) -> None:
        """Wait until ``min_round_s`` after the last round began (a rate limiter refills)."""
        rest_ns = self._round_start_ns + int(self.params.min_round_s * 1e9) - self.clock.monotonic_ns()
        if rest_ns > 0:
            self.prober.poll(rest_ns / 1e9)  # pacing only; late answers are not needed

    def _local(self) -> t.Optional[LocalLimit]:
        """The kernel's local limit, unless a router's ICMP in this run explains the route MTU."""
        limit = self.local_check()
        if limit is None or any(mtu <= limit.mtu for mtu in self._icmp_mtus):
            return None
        return limit

    # --- one round of parallel probes ---------------------------------------------
    def _send(self, size: int, pending: t.Dict[int, int], sent: t.Dict[int, int], local: t.List[ProbeEvent]) -> None:
        number = self._next_number
        self._next_number += 1
        sent[number] = self.clock.monotonic_ns()
        event = self.prober.send(ProbeSpec(number=number, ttl=PMTU_TTL, size=size))
        if event is not None:
            local.append(event)
        pending[number] = size

    def _round(self, sizes: t.Sequence[int], confirm: bool) -> _Round:
        params = self.params
        pending: t.Dict[int, int] = {}
        sent: t.Dict[int, int] = {}
        local: t.List[ProbeEvent] = []
        confirm_number = -1
        self._round_start_ns = self.clock.monotonic_ns()
        if confirm and not params.confirm_last:
            self._send(params.min_mtu, pending, sent, local)
            confirm_number = self._next_number - 1
        for size in sorted(sizes, reverse=True):
            for _copy in range(params.copies):
                self._send(size, pending, sent, local)
        if confirm and params.confirm_last:
            self._send(params.min_mtu, pending, sent, local)
            confirm_number = self._next_number - 1
        outcomes = {size: _Outcome() for size in sizes}
        confirmed = False
        start = self.clock.monotonic_ns()
        deadline = start + int(params.timeout_s * 1e9)
        events = list(local)
        while True:
            for event in events:
                size = pending.pop(event.number, None)
                if size is None:
                    continue
                if event.kind == "reply":
                    # Any answer from the destination times the round: what has not come back
                    # a few RTTs later vanished (or its answer was rate-limited away).
                    rtt_s = (event.rx_ns - sent[event.number]) / 1e9
                    self._rtt_s = max(rtt_s, self._rtt_s or 0.0)
                    grace = max(params.grace_min_s, 4 * self._rtt_s)
                    deadline = min(deadline, event.rx_ns + int(grace * 1e9))
                if event.number == confirm_number:
                    confirmed = confirmed or event.kind == "reply"
                    continue
                _record(outcomes[size], event)
            now = self.clock.monotonic_ns()
            if not pending or now >= deadline or set(pending) == {confirm_number}:
                break  # the confirmation matters only when a sized probe went unanswered
            events = self.prober.poll((deadline - now) / 1e9)
        return _Round(outcomes, confirmed, self._rtt_s)

    # --- the search ------------------------------------------------------------------
    def run(self) -> PmtuReport:
        params = self.params
        start_ns = self.clock.monotonic_ns()
        candidate, lo, hi = params.max_mtu, params.min_mtu, params.max_mtu
        reported_by: t.Optional[str] = None
        black_hole = False
        reachable = False
        silent_rounds = inconclusive = 0
        for _step in range(32):  # each step lowers ``hi`` or raises ``lo``: bounded anyway
            if lo >= hi:
                break
            sizes = [candidate] if not black_hole else self._table(lo, hi)
            confirm = params.confirm_every_round or not reachable
            result = self._round(sizes, confirm)
            reachable = reachable or result.confirmed
            if confirm and not result.confirmed and not any(o.answered for o in result.outcomes.values()):
                self._pace()
                if reachable and inconclusive < params.inconclusive_retries:
                    inconclusive += 1  # the destination's rate limiter withheld every answer
                    continue
                silent_rounds += 1
                if silent_rounds < 2:
                    # A first silent round is often neighbour discovery (ARP/ND queues or
                    # drops the first packets on every hop); one more round decides.
                    continue
                break
            reachable = True
            passed = [size for size, o in result.outcomes.items() if o.replied]
            if passed:
                lo = max(lo, *passed)
            signals = [(size, o) for size, o in result.outcomes.items() if not o.replied and size > lo]
            reported = [(o.too_big_mtu or o.local_mtu, o.reporter) for _s, o in signals if o.too_big_mtu or o.local_mtu]
            if signals:
                hi = min(hi, min(size for size, _o in signals) - 1)
            self._icmp_mtus.update(o.too_big_mtu for o in result.outcomes.values() if o.too_big_mtu)
            limit = self._local()
            if limit is not None and limit.mtu < hi and not reported:
                self.local_limit = limit
                hi = candidate = max(lo, limit.mtu)
                black_hole = False
                continue
            if reported:
                mtu, reporter = min(reported, key=lambda item: item[0] or 0)
                if reporter is not None:
                    reported_by = reporter
                hi = min(hi, max(lo, int(mtu or lo)))
                candidate = hi
                black_hole = False
                continue
            if any(not o.replied for _s, o in signals):
                black_hole = True
        return self._finish(lo if reachable else None, reported_by, black_hole and reachable, start_ns)

    def _finish(self, path_mtu: t.Optional[int], reported_by: t.Optional[str], black_hole: bool,
                start_ns: int) -> PmtuReport:
        """Cap the result at a local limit; in a black hole, find where reports stop."""
        if path_mtu is not None:
            self.local_limit = self._local() or self.local_limit
            if self.local_limit is not None and self.local_limit.mtu < path_mtu:
                path_mtu = self.local_limit.mtu  # passed only fragmented outside the tunnel
        if self.local_limit is not None and (path_mtu is None or self.local_limit.mtu > path_mtu):
            self.local_limit = None  # something further on the path limits more
        located = blackhole.Located(None, None)
        if black_hole and path_mtu is not None and self.params.locate_max_ttl > 0:
            grace_s = max(self.params.grace_min_s, 4 * (self._rtt_s or 0.0))
            located = blackhole.locate(self.prober, self.clock, self._next_number, (path_mtu + 1, self.params.min_mtu),
                                       self.params.locate_max_ttl, self.params.timeout_s, grace_s)
        elapsed_ms = round((self.clock.monotonic_ns() - start_ns) / 1e6, 3)
        return self._report(path_mtu, reported_by, black_hole, path_mtu is not None, elapsed_ms, located)

    def _table(self, lo: int, hi: int) -> t.List[int]:
        """Sizes to try in (lo, hi]: hi itself, plateaus in range, and an even spread."""
        span = hi - lo
        if self.params.fanout <= 1:
            return [lo + (span + 1) // 2]
        count = min(self.params.fanout, span)
        sizes = {hi}
        sizes.update(p for p in PLATEAUS if lo < p <= hi)
        sizes.update(lo + (span * i) // (count + 1) for i in range(1, count + 1))
        sizes.discard(lo)
        return sorted(sizes)

    def _report(
        self, path_mtu: t.Optional[int], reported_by: t.Optional[str], black_hole: bool, reachable: bool,
        elapsed_ms: float, located: blackhole.Located,
    ) -> PmtuReport:
        params = self.params
        if not reachable:
            message = (
                "%s did not answer DF probes of %d bytes: the path MTU cannot be measured "
                "(destination down, or %s probes filtered)" % (params.destination, params.min_mtu, params.method)
            )
        elif black_hole:
            message = (
                "path MTU to %s is %d (inferred): DF probes larger than that vanished without an "
                "ICMP %s while smaller probes were answered, so ICMP %s messages are being "
                "dropped on the path (a PMTUD black hole)"
                % (
                    params.destination,
                    path_mtu or 0,
                    "fragmentation needed" if params.family == 4 else "packet too big",
                    "fragmentation needed (type 3 code 4)" if params.family == 4 else "packet too big (type 2)",
                )
            ) + _where_reports_stop(located, (path_mtu or 0) + 1)
        elif self.local_limit is not None:
            limit = self.local_limit
            message = (
                "path MTU to %s is %d, limited locally by interface %s: the kernel lowered the route's MTU "
                "to %d below the interface MTU (%s) itself, with no ICMP from the path, as a tunnel does "
                "whose MTU is set higher than its underlay carries; set the interface MTU to %d"
                % (params.destination, path_mtu or 0, limit.interface or "(unknown)", limit.mtu,
                   limit.interface_mtu, limit.mtu)
            )
        else:
            message = "path MTU to %s is %d%s" % (
                params.destination,
                path_mtu or 0,
                " (reported by %s)" % reported_by if reported_by else "",
            )
        return PmtuReport(
            destination=params.destination,
            family=params.family,
            method=params.method,
            mode=self.prober.mode,
            path_mtu=path_mtu,
            local_mtu=params.local_mtu,
            reported_by=reported_by,
            black_hole=black_hole,
            inferred=black_hole,
            reachable=reachable,
            probes_sent=self.prober.probes_sent,
            elapsed_ms=elapsed_ms,
            message=message,
            local_limit=self.local_limit,
            last_full_size_hop=located.last_full_size_hop,
            first_vanishing_hop=located.first_vanishing_hop,
        )


def _where_reports_stop(located: blackhole.Located, size: int) -> str:
    last, first = located.last_full_size_hop, located.first_vanishing_hop
    words = []
    if last is not None:
        words.append("reports stop after hop %d (%s), the last to answer a %d-byte probe" % (
            last.ttl, last.address, size))
    if first is not None:
        words.append("from hop %d (%s) on, %d-byte probes vanish" % (first.ttl, first.address, size))
    return ("; " + "; ".join(words)) if words else ""


def _record(outcome: _Outcome, event: ProbeEvent) -> None:
    if event.kind == "reply":
        outcome.replied = True
    elif event.kind == "too_big" and event.mtu:
        outcome.too_big_mtu = min(event.mtu, outcome.too_big_mtu or event.mtu)
        outcome.reporter = event.address
    elif event.kind == "local_error" and event.mtu:
        outcome.local_mtu = event.mtu


def discover(prober: Prober, clock: Clock, params: PmtuParams,
             local_check: LocalCheck = _no_local_limit) -> PmtuReport:
    return PmtuSearch(prober, clock, params, local_check).run()


def kernel_local_limit(
    family: int, destination: str, source: t.Optional[str], interface: t.Optional[str],
    interface_mtu: t.Optional[int], network: t.Optional[Network] = None,
) -> t.Optional[LocalLimit]:
    """A ``LocalCheck`` over the kernel: the route MTU when it is below the interface MTU."""
    network = network or transport.SystemNetwork()
    mtu = network.route_mtu(family, destination, source, interface)
    if mtu is None or interface_mtu is None or mtu >= interface_mtu:
        return None
    device = interface or network.route_device(family, destination)
    # Only a tunnel lowers its route's MTU by itself; elsewhere a lower route MTU is a PMTU a router
    # reported, perhaps in an earlier run and still cached: this run's probes measure that path.
    if not network.is_tunnel(device):
        return None
    return LocalLimit(mtu, device, interface_mtu)


# --- production entry point ----------------------------------------------------------
MIN_MTU_DEFAULT = {4: 576, 6: 1280}


@dataclass(frozen=True)
class PmtuRequest:
    target: str
    family: str = "auto"  # auto | ipv4 | ipv6
    method: str = "icmp"
    privileged: str = "auto"
    min_mtu: t.Optional[int] = None
    max_mtu: t.Optional[int] = None
    timeout_s: float = 1.0
    port: t.Optional[int] = None
    source: t.Optional[str] = None
    interface: t.Optional[str] = None


def params_for(request: PmtuRequest, family: int, address: str, local_mtu: t.Optional[int]) -> PmtuParams:
    """Validated search parameters; raises ParameterError quoting the bad value."""
    floor = probes.min_probe_size(family, request.method)
    min_mtu = request.min_mtu if request.min_mtu is not None else MIN_MTU_DEFAULT[family]
    max_mtu = request.max_mtu if request.max_mtu is not None else min(local_mtu or 1500, 65535)
    if min_mtu < floor:
        raise ParameterError("min_mtu", min_mtu, "must be at least %d bytes for %s probes over IPv%d" % (
            floor, request.method, family))
    if max_mtu < min_mtu or max_mtu > 65535:
        raise ParameterError("max_mtu", max_mtu, "must be between min_mtu (%d) and 65535" % min_mtu)
    if not 0 < request.timeout_s <= 60:
        raise ParameterError("timeout", request.timeout_s, "give seconds between 0 and 60")
    extra: t.Dict[str, t.Any] = {}
    if request.method == "udp":
        extra = {"fanout": 32, "copies": 1, "confirm_last": True, "min_round_s": 1.0, "inconclusive_retries": 4}
    return PmtuParams(address, family, request.method, min_mtu, max_mtu, local_mtu, request.timeout_s, **extra)


def measure(request: PmtuRequest, network: t.Optional[Network] = None, clock: t.Optional[Clock] = None) -> PmtuReport:
    """Resolve, read the interface MTU, open the prober and search, over ``network``
    (default: real sockets)."""
    if request.method not in ("icmp", "udp"):
        raise ParameterError("method", request.method, "use icmp or udp")
    network = network or transport.SystemNetwork()
    resolved = resolve_targets([request.target], request.family, network.lookup, network.zone_index)[0]
    if resolved.error or resolved.address is None or resolved.family is None:
        raise ResolveError(resolved.error or "%s does not resolve" % request.target)
    family, address = resolved.family, resolved.address
    local_mtu = network.interface_mtu(family, address, request.source, request.interface)
    params = params_for(request, family, address, local_mtu)
    prober = network.open_path(
        family, request.method, address, mode=request.privileged, port=request.port, source=request.source,
        interface=request.interface, df_probe=True,
    )

    def local_check() -> t.Optional[LocalLimit]:
        return kernel_local_limit(family, address, request.source, request.interface, local_mtu, network)

    try:
        return discover(prober, clock or SystemClock(), params, local_check)
    finally:
        prober.close()
