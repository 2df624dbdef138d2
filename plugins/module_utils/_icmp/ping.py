# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Multi-target echo: the ping algorithm over a network seam, a clock and options."""
from __future__ import annotations

import errno
import math
import os
import struct
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import matching, scheduler
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import (
    ECHO_WITH_TOKEN,
    PAYLOAD_HEADER_LEN,
    EchoBuilder,
    parse_icmp,
    parse_packet,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import (
    CodecError,
    FamilyUnavailableError,
    ParameterError,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import (
    DF_MODES,
    FAMILIES,
    PRIVILEGE_MODES,
    ErrorReport,
    PingOptions,
    PingReport,
    RttStats,
    TargetResult,
    build_frozen,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import resolve_targets

_OUT, _ANSWERED, _ERRORED, _EXPIRED, _LATE = range(5)
# Redirects and source quench say nothing about whether the probe arrives.
_ADVISORY = {4: (4, 5), 6: (137,)}
_SOFT_SEND = frozenset((errno.EAGAIN, errno.ENOBUFS))  # the kernel had no room: retry


class Network(t.Protocol):
    """The seam to the kernel: ``transport.SystemNetwork`` or a fake in unit tests."""

    def open(self, family: int, privileged: str, options: t.Any, expected_packets: int) -> t.Any:
        """An ICMP socket (``transport.IcmpSocket`` interface)."""

    def poller(self, sockets: t.Sequence[t.Any]) -> scheduler.Waitable:
        """Something that waits on all sockets at once."""

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        """Resolve a name: [(4 or 6, address)]."""


def validate(options: PingOptions) -> None:
    """Raise ``ParameterError`` on a bad value, before any socket exists."""
    probe = options.probe
    checks = (
        ("count", options.count, options.count >= 1, "send at least one probe (count >= 1)"),
        ("interval", options.interval_s, options.interval_s >= 0, "use 0 or more seconds"),
        ("rate", options.rate, options.rate >= 0, "use 0 (unpaced) or more packets per second"),
        ("timeout", probe.timeout_s, probe.timeout_s > 0, "use more than 0 seconds"),
        ("deadline", options.deadline_s, options.deadline_s is None or options.deadline_s > 0, "use more than 0 seconds"),
        ("family", probe.family, probe.family in FAMILIES, "use one of %s" % ", ".join(FAMILIES)),
        ("privileged", probe.privileged, probe.privileged in PRIVILEGE_MODES, "use one of %s" % ", ".join(PRIVILEGE_MODES)),
        ("df", probe.df, probe.df is None or probe.df in DF_MODES, "use one of %s" % ", ".join(DF_MODES)),
        ("ttl", probe.ttl, probe.ttl is None or 1 <= probe.ttl <= 255, "use 1 to 255"),
        ("tos", probe.tos, probe.tos is None or 0 <= probe.tos <= 255, "use 0 to 255"),
    )
    for name, value, good, hint in checks:
        if not good:
            raise ParameterError(name, value, hint)
    limit = c.IPV6_MAX_PAYLOAD if probe.family == "ipv6" else c.IPV4_MAX_PAYLOAD
    if not PAYLOAD_HEADER_LEN <= probe.size <= limit:
        raise ParameterError(
            "size",
            probe.size,
            "use %d to %d bytes of ICMP payload for family %s (the first %d carry the "
            "run token that tells our replies from other processes')" % (PAYLOAD_HEADER_LEN, limit, probe.family, PAYLOAD_HEADER_LEN),
        )


class _Target:
    __slots__ = ("result_index", "address", "match_address", "family", "sock", "sent", "received",
                 "rtts_ns", "builder", "duplicates", "late", "reply_ttl", "errors", "error", "remaining")

    def __init__(self, result_index: int, address: str, family: int, count: int) -> None:
        self.result_index = result_index
        self.address = address
        self.match_address = address.partition("%")[0]
        self.family = family
        self.sock: t.Any = None
        self.builder: t.Any = None
        self.sent = 0
        self.received = 0
        self.rtts_ns: t.List[int] = []
        self.duplicates = 0
        self.late = 0
        self.reply_ttl: t.Optional[int] = None
        self.errors: t.Dict[t.Tuple[t.Optional[int], t.Optional[int], str, t.Optional[str]], int] = {}
        self.error: t.Optional[str] = None
        self.remaining = count


class _Session:
    """Implements ``scheduler.ProbeHandler`` for echo probes.

    Probe numbers are dense (0, 1, 2 ...), so per-probe state lives in parallel lists
    indexed by number: no dict and no object per probe on the hot path.
    """

    def __init__(self, targets: t.List[_Target], options: PingOptions, clock: t.Any, token: bytes) -> None:
        self.targets = targets
        self.token = token
        self.options = options
        self._monotonic_ns = clock.monotonic_ns
        self._realtime_ns = getattr(clock, "realtime_ns", None) or _no_realtime
        self.probe_slot: t.List[int] = []
        self.probe_sent_ns: t.List[int] = []  # monotonic
        self.probe_sent_real_ns: t.List[int] = []  # realtime, 0 when the clock has none
        self.probe_state = bytearray()
        # (destination, seq) -> probe number, for errors that quote too little to
        # carry our token; built on the first such error (sweeps rarely need it).
        self.by_destination: t.Optional[t.Dict[t.Tuple[str, int], int]] = None
        self.in_flight = 0
        self.foreign = 0
        self.malformed = 0

    def add_socket(self, sock: t.Any, members: t.Sequence[_Target]) -> None:
        builder = EchoBuilder(sock.family, sock.ident, self.token, self.options.probe.size, self.options.pattern)
        for target in members:
            target.sock = sock
            target.builder = builder

    def has_more(self, slot: int) -> bool:
        return self.targets[slot].remaining > 0

    def outstanding(self) -> int:
        return self.in_flight

    def send(self, slot: int) -> object:
        target = self.targets[slot]
        number = len(self.probe_state)
        packet = target.builder.build(number & 0xFFFF, number)
        sent_ns = self._monotonic_ns()
        sent_real_ns = self._realtime_ns()
        failure = target.sock.send(packet, target.address)
        if failure and failure in _SOFT_SEND:
            return scheduler.RETRY
        target.remaining -= 1
        target.sent += 1
        self.probe_slot.append(slot)
        self.probe_sent_ns.append(sent_ns)
        self.probe_sent_real_ns.append(sent_real_ns)
        if failure:
            # e.g. EHOSTUNREACH / ENETUNREACH (no route) or EMSGSIZE (DF over the PMTU)
            self.probe_state.append(_ERRORED)
            _count(target.errors, (None, None, "local_" + _errno_name(failure), None))
            return None
        self.probe_state.append(_OUT)
        if self.by_destination is not None:
            self.by_destination[(target.match_address, number & 0xFFFF)] = number
        self.in_flight += 1
        return number

    def expire(self, key: object) -> None:
        number = t.cast(int, key)
        if self.probe_state[number] == _OUT:
            self.probe_state[number] = _EXPIRED
            self.in_flight -= 1

    def drain(self, sock: t.Any, error_queue: bool) -> None:
        if error_queue:
            while True:
                item = sock.receive(True)
                if item is None:
                    break
                self._queue_error(sock, item)
        receive = sock.receive
        while True:
            item = receive(False)
            if item is None:
                return
            if item.queue_error is not None:
                self._queue_error(sock, item)
            else:
                self._packet(sock, item)

    def _packet(self, sock: t.Any, item: t.Any) -> None:
        data, ttl, offset = item.data, item.ttl, 0
        if sock.has_ip_header:
            if len(data) < c.IPV4_MIN_HEADER_LEN:
                self.malformed += 1
                return
            offset, ttl = (data[0] & 0x0F) * 4, data[8]
        reply_type = 0 if sock.family == 4 else 129
        if len(data) >= offset + ECHO_WITH_TOKEN.size and data[offset] == reply_type:
            _type, _code, _csum, ident, seq, token, number = ECHO_WITH_TOKEN.unpack_from(data, offset)
            self._reply(sock, ident, seq, token, number, item, ttl)
            return
        try:
            message = parse_packet(data, sock.family, sock.has_ip_header).message
        except CodecError:
            self.malformed += 1
            return
        number = matching.error_probe(message, sock.ident, self.token, self._destination_index())
        if number is None:
            self.foreign += 1
            return
        self._error(number, message.icmp_type, message.code, message.name, item.address, sock.family)

    def _destination_index(self) -> t.Dict[t.Tuple[str, int], int]:
        if self.by_destination is None:
            targets = self.targets
            self.by_destination = {
                (targets[slot].match_address, number & 0xFFFF): number for number, slot in enumerate(self.probe_slot)
            }
        return self.by_destination

    def _reply(self, sock: t.Any, ident: int, seq: int, token: bytes, number: int, item: t.Any, ttl: t.Any) -> None:
        target = self.targets[self.probe_slot[number]] if number < len(self.probe_slot) else None
        source = item.address
        if "%" in source:
            source = source.partition("%")[0]
        verdict = matching.classify_reply(
            ident, seq, token, number, source, sock.ident, self.token,
            target.match_address if target is not None else None,
        )
        if verdict != matching.REPLY or target is None:
            self.foreign += 1
            return
        state = self.probe_state[number]
        if state == _OUT:
            self.in_flight -= 1
        elif state == _ANSWERED:
            target.duplicates += 1
            return
        elif state in (_EXPIRED, _LATE):
            # Too late to count; flagged so a tight timeout shows up in the result.
            if state == _EXPIRED:
                target.late += 1
            else:
                target.duplicates += 1
            self.probe_state[number] = _LATE
            return
        self.probe_state[number] = _ANSWERED
        target.received += 1
        target.reply_ttl = ttl
        target.rtts_ns.append(self._rtt_ns(number, item.rx_realtime_ns))

    def _rtt_ns(self, number: int, rx_realtime_ns: t.Optional[int]) -> int:
        # The monotonic RTT spans send() to our return from recvmsg(), so it includes
        # wake-up latency. The kernel stamps the packet on arrival, but with
        # CLOCK_REALTIME, so it is paired with the realtime clock read right beside the
        # monotonic one at send. If the wall clock was stepped in between, that
        # difference is nonsense (negative, or longer than the monotonic span), and we
        # keep the monotonic RTT: never negative, never longer than what we observed.
        monotonic_rtt = max(0, self._monotonic_ns() - self.probe_sent_ns[number])
        sent_real_ns = self.probe_sent_real_ns[number]
        if rx_realtime_ns is not None and sent_real_ns:
            kernel_rtt = rx_realtime_ns - sent_real_ns
            if 0 <= kernel_rtt <= monotonic_rtt:
                return kernel_rtt
        return monotonic_rtt

    def _queue_error(self, sock: t.Any, item: t.Any) -> None:
        err = item.queue_error
        if err is None:
            return
        # Error-queue entries carry our own echo request as the kernel sent it.
        try:
            message = parse_icmp(item.data, sock.family)
        except CodecError:
            self.malformed += 1
            return
        if message.ident != sock.ident or len(message.payload) < PAYLOAD_HEADER_LEN:
            self.foreign += 1
            return
        token, number = struct.unpack_from("!8sI", message.payload)
        if token != self.token or number >= len(self.probe_state):
            self.foreign += 1
            return
        if err.origin in (c.SO_EE_ORIGIN_ICMP, c.SO_EE_ORIGIN_ICMP6):
            name = c.icmp_name(sock.family, err.icmp_type, err.code)
            self._error(number, err.icmp_type, err.code, name, err.offender, sock.family)
        else:
            self._error(number, None, None, "local_" + _errno_name(err.errno), err.offender, sock.family)

    def _error(self, number: int, icmp_type: t.Optional[int], code: t.Optional[int], name: str,
               address: t.Optional[str], family: int) -> None:
        target = self.targets[self.probe_slot[number]]
        _count(target.errors, (icmp_type, code, name, address))
        if icmp_type in _ADVISORY[family]:
            return
        if self.probe_state[number] == _OUT:
            self.probe_state[number] = _ERRORED
            self.in_flight -= 1


def _no_realtime() -> int:
    return 0


def _count(counter: t.Dict[t.Any, int], key: t.Any) -> None:
    counter[key] = counter.get(key, 0) + 1


def _errno_name(number: int) -> str:
    return errno.errorcode.get(number, "errno%d" % number).lower()


def rtt_stats(rtts_ns: t.Sequence[int]) -> t.Optional[RttStats]:
    """min/avg/max/mdev in milliseconds; mdev as iputils: sqrt(mean(x^2) - mean(x)^2)."""
    if not rtts_ns:
        return None
    if len(rtts_ns) == 1:
        value = round(rtts_ns[0] / 1e6, 3)
        return build_frozen(RttStats, min_ms=value, avg_ms=value, max_ms=value, mdev_ms=0.0)
    values = [v / 1e6 for v in rtts_ns]
    mean = sum(values) / len(values)
    variance = max(0.0, sum(v * v for v in values) / len(values) - mean * mean)
    return RttStats(
        min_ms=round(min(values), 3),
        avg_ms=round(mean, 3),
        max_ms=round(max(values), 3),
        mdev_ms=round(math.sqrt(variance), 3),
    )


_FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}


def _result(target: str, state: t.Optional[_Target], address: t.Optional[str], family: t.Optional[int],
            error: t.Optional[str]) -> TargetResult:
    if state is None:
        return build_frozen(
            TargetResult, target=target, address=address, family=_FAMILY_NAMES.get(family or 0), sent=0,
            received=0, loss_pct=100.0, rtt_ms=None, duplicates=0, late=0, reply_ttl=None, reachable=False,
            errors=(), error=error,
        )
    sent, received = state.sent, state.received
    errors: t.Tuple[ErrorReport, ...] = ()
    if state.errors:
        errors = tuple(
            ErrorReport(icmp_type=k[0], code=k[1], name=k[2], address=k[3], count=n)
            for k, n in sorted(state.errors.items(), key=lambda kv: (kv[0][2], str(kv[0][3])))
        )
    return build_frozen(
        TargetResult,
        target=target,
        address=address,
        family=_FAMILY_NAMES.get(family or 0),
        sent=sent,
        received=received,
        loss_pct=round(100.0 * (sent - received) / sent, 3) if sent else 100.0,
        rtt_ms=rtt_stats(state.rtts_ns) if state.rtts_ns else None,
        duplicates=state.duplicates,
        late=state.late,
        reply_ttl=state.reply_ttl,
        reachable=received > 0,
        errors=errors,
        error=error or state.error,
    )


def ping(
    targets: t.Sequence[str],
    options: PingOptions,
    network: t.Optional[Network] = None,
    clock: t.Any = None,
) -> PingReport:
    """Ping every target ``options.count`` times over one socket per family."""
    validate(options)
    if network is None:
        from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import SystemNetwork  # noqa: PLC0415

        network = SystemNetwork()
    clock = clock or scheduler.SystemClock()
    started = clock.monotonic_ns()
    resolved = resolve_targets(targets, options.probe.family, network.lookup)
    states: t.List[_Target] = []
    per_result: t.List[t.Optional[_Target]] = []
    for index, item in enumerate(resolved):
        if item.error is None and item.address is not None and item.family is not None:
            state = _Target(index, item.address, item.family, options.count)
            states.append(state)
            per_result.append(state)
        else:
            per_result.append(None)
    session = _Session(states, options, clock, os.urandom(8))
    sockets = _open_sockets(network, states, options, session)
    try:
        slots = [i for i, s in enumerate(states) if s.sock is not None]
        pacing = scheduler.Pacing(options.interval_s, options.rate, options.probe.timeout_s, options.deadline_s)
        if slots:
            scheduler.run(session, slots, pacing, network.poller(list(sockets.values())), clock)
    finally:
        for sock in sockets.values():
            sock.close()
    results = tuple(
        _result(item.target, state, item.address, item.family, item.error) for item, state in zip(resolved, per_result)
    )
    elapsed_ms = round((clock.monotonic_ns() - started) / 1e6, 3)
    return PingReport(results=results, elapsed_ms=elapsed_ms, mode={"ipv%d" % f: s.mode for f, s in sockets.items()})


def _open_sockets(network: Network, states: t.List[_Target], options: PingOptions, session: _Session) -> t.Dict[int, t.Any]:
    sockets: t.Dict[int, t.Any] = {}
    for family in (4, 6):
        members = [s for s in states if s.family == family]
        if not members:
            continue
        try:
            sock = network.open(family, options.probe.privileged, options.probe, len(members) * options.count)
        except FamilyUnavailableError as err:
            for state in members:
                state.error = str(err)
            continue
        except BaseException:
            for opened in sockets.values():
                opened.close()
            raise
        sockets[family] = sock
        session.add_socket(sock, members)
    return sockets


def evaluate(
    results: t.Sequence[TargetResult],
    expect: str = "reachable",
    max_loss_pct: t.Optional[float] = None,
    max_rtt_ms: t.Optional[float] = None,
) -> t.List[str]:
    """One message per target that breaks the expectation (empty list: all good)."""
    failures = []
    for result in results:
        name = result.target if result.address in (None, result.target) else "%s (%s)" % (result.target, result.address)
        numbers = "sent %d, received %d, loss %s%%" % (result.sent, result.received, _num(result.loss_pct))
        if result.error:
            failures.append("%s: %s" % (name, result.error))
        elif expect == "unreachable":
            if result.reachable:
                failures.append("%s answered but was expected to be unreachable (%s)" % (name, numbers))
        elif not result.reachable:
            failures.append("%s is unreachable (%s%s)" % (name, numbers, _error_text(result)))
        else:
            if max_loss_pct is not None and result.loss_pct > max_loss_pct:
                failures.append("%s: loss %s%% > max_loss_pct %s (%s)" % (name, _num(result.loss_pct), _num(max_loss_pct), numbers))
            avg = result.rtt_ms.avg_ms if result.rtt_ms else None
            if max_rtt_ms is not None and avg is not None and avg > max_rtt_ms:
                failures.append("%s: average rtt %s ms > max_rtt_ms %s" % (name, _num(avg), _num(max_rtt_ms)))
    return failures


def _error_text(result: TargetResult) -> str:
    if not result.errors:
        return ""
    return "; " + ", ".join(
        "%d x %s%s" % (e.count, e.name, " from %s" % e.address if e.address else "") for e in result.errors
    )


def _num(value: float) -> str:
    return ("%.3f" % value).rstrip("0").rstrip(".")
