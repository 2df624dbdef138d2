# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One event loop for any number of targets: pacing, timeouts, deadline, interleaving.

The loop owns time (a monotonic clock) and the order of sends; the algorithm (ping,
traceroute...) owns what a probe is and what an answer means, through ``ProbeHandler``.
"""
from __future__ import annotations

import collections
import time
import typing as t

NS_PER_S = 1000000000
RETRY = object()  # ``ProbeHandler.send`` result: the kernel had no room, try again soon
_DRAIN_EVERY = 32  # sends between two non-blocking drains while bursting
_RETRY_WAIT_S = 0.001
_NEVER = 1 << 126  # a "deadline" no monotonic clock reaches


class Clock(t.Protocol):
    """The one clock seam of the engine (ping, traceroute, pmtud, stats); FakeClock in tests."""

    def monotonic_ns(self) -> int:
        """Nanoseconds of a monotonic clock."""

    def sleep(self, seconds: float) -> None:
        """Wait (stats sleeps between two readings; the probe loops wait in ``poll``)."""


class SystemClock:
    """The real clocks: monotonic for every interval, realtime only to pair with the
    kernel's SO_TIMESTAMPNS receive stamps (which are CLOCK_REALTIME)."""

    monotonic_ns = staticmethod(time.monotonic_ns)
    realtime_ns = staticmethod(time.time_ns)
    sleep = staticmethod(time.sleep)


class Waitable(t.Protocol):
    def wait(self, timeout_s: float) -> t.List[t.Tuple[t.Any, bool]]:
        """Sockets ready to read, each with "its error queue has entries"."""


class Network(t.Protocol):
    """The seam to the kernel for ping, traceroute and pmtud: ``transport.SystemNetwork``,
    or a fake in unit tests. Everything the engine asks of sockets, the resolver and the
    routing table goes through it; with ``Clock`` the only side effects of a run."""

    def open(self, family: int, privileged: str, options: t.Any, expected_packets: int) -> t.Any:
        """An ICMP socket (``transport.IcmpSocket`` interface)."""

    def poller(self, sockets: t.Sequence[t.Any]) -> Waitable:
        """Something that waits on all sockets at once."""

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        """Resolve a name: [(4 or 6, address)]."""

    def zone_index(self, zone: str) -> int:
        """The interface index of an IPv6 zone; ``OSError`` when there is no such interface."""

    def open_path(self, family: int, method: str, destination: str, **options: t.Any) -> t.Any:
        """A path prober (``probes.PathProber`` interface: send, poll, close, mode, probes_sent)."""

    def interface_mtu(self, family: int, destination: str, source: t.Optional[str],
                      interface: t.Optional[str]) -> t.Optional[int]:
        """The MTU of the interface the route to ``destination`` leaves by."""

    def route_mtu(self, family: int, destination: str, source: t.Optional[str],
                  interface: t.Optional[str]) -> t.Optional[int]:
        """The MTU the route to ``destination`` allows now (learnt PMTU included)."""

    def route_device(self, family: int, destination: str) -> t.Optional[str]:
        """The interface of the route to ``destination``."""

    def is_tunnel(self, device: t.Optional[str]) -> bool:
        """Whether ``device`` is a tunnel (the only kind that lowers its route's MTU by itself)."""


class ProbeHandler(t.Protocol):
    def send(self, slot: int) -> object:
        """Send the next probe of target ``slot``: a key for its timeout, None when the
        send failed for good (already recorded), or ``RETRY``."""

    def has_more(self, slot: int) -> bool:
        """Whether target ``slot`` still has probes to send."""

    def expire(self, key: object) -> None:
        """The probe ``key`` timed out (no-op if it was already answered)."""

    def drain(self, sock: t.Any, error_queue: bool) -> None:
        """Read everything pending on ``sock``."""

    def outstanding(self) -> int:
        """Probes sent and neither answered nor expired."""


class Pacing(t.NamedTuple):
    interval_s: float  # per target, between two of its probes
    rate: float  # packets per second over the whole run; 0 = unpaced
    timeout_s: float  # per probe
    deadline_s: t.Optional[float]  # whole run


def run(
    handler: ProbeHandler,
    slots: t.Sequence[int],
    pacing: Pacing,
    poller: Waitable,
    clock: Clock,
) -> None:
    """Send every probe of every slot, paced, and wait for answers or timeouts.

    Sends are due in non-decreasing time order (a target's next probe is due one
    interval after its previous send), so plain deques keep both the send queue and
    the timeout queue sorted without a heap.
    """
    interval_ns = int(pacing.interval_s * NS_PER_S)
    gap_ns = int(NS_PER_S / pacing.rate) if pacing.rate > 0 else 0
    timeout_ns = int(pacing.timeout_s * NS_PER_S)
    start = clock.monotonic_ns()
    end = start + int(pacing.deadline_s * NS_PER_S) if pacing.deadline_s is not None else None
    stop_sending = end if end is not None else _NEVER
    pending = collections.deque((start, slot) for slot in slots if handler.has_more(slot))
    expiry: t.Deque[t.Tuple[int, object]] = collections.deque()
    next_send = start
    while True:
        now = clock.monotonic_ns()
        if end is not None and now >= end:
            break
        retry = False
        sent_in_burst = 0
        # ``now < stop_sending``: an unpaced burst of 100,000 probes honours the deadline too.
        while pending and pending[0][0] <= now and next_send <= now < stop_sending:
            slot = pending[0][1]
            key = handler.send(slot)
            if key is RETRY:
                retry = True
                break
            pending.popleft()
            now = clock.monotonic_ns()
            if key is not None:
                expiry.append((now + timeout_ns, key))
            if handler.has_more(slot):
                pending.append((now + interval_ns, slot))
            if gap_ns:
                next_send = max(next_send, now - gap_ns) + gap_ns
            sent_in_burst += 1
            if sent_in_burst % _DRAIN_EVERY == 0:
                _poll(handler, poller, 0.0)  # drain while sending: keep the receive queue short
        while expiry and expiry[0][0] <= now:
            handler.expire(expiry.popleft()[1])
        if not pending and handler.outstanding() == 0:
            break
        wake = _next_wake(pending, next_send, expiry, end, now)
        if retry:
            wake = min(wake, now + int(_RETRY_WAIT_S * NS_PER_S))
        _poll(handler, poller, max(0, wake - now) / NS_PER_S)
    if handler.outstanding():  # deadline reached: whatever is still out has timed out
        for _due, key in expiry:
            handler.expire(key)


def _next_wake(
    pending: t.Deque[t.Tuple[int, int]],
    next_send: int,
    expiry: t.Deque[t.Tuple[int, object]],
    end: t.Optional[int],
    now: int,
) -> int:
    candidates = []
    if pending:
        candidates.append(max(pending[0][0], next_send))
    if expiry:
        candidates.append(expiry[0][0])
    if end is not None:
        candidates.append(end)
    return min(candidates) if candidates else now


def _poll(handler: ProbeHandler, poller: Waitable, timeout_s: float) -> None:
    for sock, error_queue in poller.wait(timeout_s):
        handler.drain(sock, error_queue)
