# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Multi-target echo: the ping algorithm over a network seam, a clock and options."""
from __future__ import annotations

import array
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
    PingOptions,
    PingReport,
    TargetResult,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import ResolvedTarget, resolve_targets

_OUT, _ANSWERED, _ERRORED, _EXPIRED, _LATE = range(5)
# Redirects and source quench say nothing about whether the probe arrives.
_ADVISORY = {4: (4, 5), 6: (137,)}
_SOFT_SEND = frozenset((errno.EAGAIN, errno.ENOBUFS))  # the kernel had no room: retry


Network = scheduler.Network  # the seam lives beside Clock in scheduler.py


# Upper bounds keep every later computation finite (an interval of 1e9 s or inf used to
# raise OverflowError after the first probe) and a run within what a task can mean.
MAX_COUNT = 100000
MAX_PROBES = 10000000  # targets x count: ~20 bytes of state each
MAX_SECONDS = 3600.0  # interval, timeout
MAX_DEADLINE_S = 86400.0
MAX_RATE = 1000000.0


def _within(value: t.Optional[float], low: float, high: float, low_open: bool = False) -> bool:
    if value is None:
        return True
    if not math.isfinite(value):  # nan, inf
        return False
    return (value > low if low_open else value >= low) and value <= high


def validate(options: PingOptions, targets: int = 1) -> None:
    """Raise ``ParameterError`` on a bad value, before any socket exists."""
    probe = options.probe
    checks = (
        ("count", options.count, 1 <= options.count <= MAX_COUNT, "send 1 to %d probes per target" % MAX_COUNT),
        ("interval", options.interval_s, _within(options.interval_s, 0, MAX_SECONDS), "use 0 to %g seconds" % MAX_SECONDS),
        ("rate", options.rate, _within(options.rate, 0, MAX_RATE), "use 0 (unpaced) to %g packets per second" % MAX_RATE),
        ("timeout", probe.timeout_s, _within(probe.timeout_s, 0, MAX_SECONDS, True), "use more than 0 and at most %g seconds" % MAX_SECONDS),
        ("deadline", options.deadline_s, _within(options.deadline_s, 0, MAX_DEADLINE_S, True),
         "use more than 0 and at most %g seconds, or no deadline" % MAX_DEADLINE_S),
        ("family", probe.family, probe.family in FAMILIES, "use one of %s" % ", ".join(FAMILIES)),
        ("privileged", probe.privileged, probe.privileged in PRIVILEGE_MODES, "use one of %s" % ", ".join(PRIVILEGE_MODES)),
        ("df", probe.df, probe.df is None or probe.df in DF_MODES, "use one of %s" % ", ".join(DF_MODES)),
        ("ttl", probe.ttl, probe.ttl is None or 1 <= probe.ttl <= 255, "use 1 to 255"),
        ("tos", probe.tos, probe.tos is None or 0 <= probe.tos <= 255, "use 0 to 255"),
    )
    for name, value, good, hint in checks:
        if not good:
            raise ParameterError(name, value, hint)
    if targets * options.count > MAX_PROBES:
        raise ParameterError(
            "count", options.count,
            "%d targets x %d probes is more than %d probes in one run; split the targets over several tasks"
            % (targets, options.count, MAX_PROBES),
        )
    limit = c.IPV6_MAX_PAYLOAD if probe.family == "ipv6" else c.IPV4_MAX_PAYLOAD
    if not PAYLOAD_HEADER_LEN <= probe.size <= limit:
        raise ParameterError(
            "size",
            probe.size,
            "use %d to %d bytes of ICMP payload for family %s (the first %d carry the "
            "run token that tells our replies from other processes')" % (PAYLOAD_HEADER_LEN, limit, probe.family, PAYLOAD_HEADER_LEN),
        )


class _Target:
    """Per-target counters. Sent = count - remaining; received = len(rtts_ns)."""

    __slots__ = ("address", "match_address", "family", "sock", "builder", "remaining", "rtts_ns",
                 "duplicates", "late", "reply_ttl", "reply_address", "errors", "error")

    def __init__(self, address: str, family: int, count: int) -> None:
        self.address = address
        self.match_address = address.partition("%")[0] if "%" in address else address
        self.family = family
        self.sock: t.Any = None
        self.builder: t.Any = None
        self.remaining = count
        # Created on first use: a 100,000-target sweep keeps one of these per target.
        self.rtts_ns: t.Optional[t.List[int]] = None
        self.duplicates = 0
        self.late = 0
        self.reply_ttl: t.Optional[int] = None
        self.reply_address: t.Optional[str] = None
        self.errors: t.Optional[t.Dict[t.Tuple[t.Optional[int], t.Optional[int], str, t.Optional[str]], int]] = None
        self.error: t.Optional[str] = None


class _Session:
    """Implements ``scheduler.ProbeHandler`` for echo probes.

    Probe numbers are dense (0, 1, 2 ...), so per-probe state lives in parallel arrays
    indexed by number: no dict and no object per probe on the hot path.
    """

    def __init__(self, targets: t.List[_Target], options: PingOptions, clock: t.Any, token: bytes) -> None:
        self.targets = targets
        self.token = token
        self.options = options
        self._monotonic_ns = clock.monotonic_ns
        # The kernel stamps arrivals with CLOCK_REALTIME (SO_TIMESTAMPNS); a send's
        # realtime is its monotonic stamp plus this offset, read once (see _rtt_ns).
        realtime_ns = getattr(clock, "realtime_ns", None)
        self._real_offset_ns = realtime_ns() - clock.monotonic_ns() if realtime_ns is not None else None
        self.count = options.count
        self.probe_slot = array.array("q")
        self.probe_sent_ns = array.array("q")  # monotonic
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
        failure = target.sock.send(packet, target.address)
        if failure and failure in _SOFT_SEND:
            return scheduler.RETRY
        target.remaining -= 1
        self.probe_slot.append(slot)
        self.probe_sent_ns.append(sent_ns)
        if failure:
            # e.g. EHOSTUNREACH / ENETUNREACH (no route) or EMSGSIZE (DF over the PMTU)
            self.probe_state.append(_ERRORED)
            _count(target, (None, None, "local_" + _errno_name(failure), None))
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
        ip_header = sock.has_ip_header
        reply_type = 0 if sock.family == 4 else 129
        unpack_echo, echo_len = ECHO_WITH_TOKEN.unpack_from, ECHO_WITH_TOKEN.size
        while True:  # hot path: one pass per received packet
            item = receive(False)
            if item is None:
                return
            if item.queue_error is not None:
                self._queue_error(sock, item)
                continue
            data, ttl, offset = item.data, item.ttl, 0
            if ip_header and len(data) >= c.IPV4_MIN_HEADER_LEN:
                offset, ttl = (data[0] & 0x0F) * 4, data[8]
            if len(data) >= offset + echo_len and data[offset] == reply_type:
                self._reply(sock, unpack_echo(data, offset), item, ttl)
            else:
                self._not_a_reply(sock, item)

    def _not_a_reply(self, sock: t.Any, item: t.Any) -> None:
        """An ICMP error (attributed through the datagram it quotes), or garbage."""
        try:
            message = parse_packet(item.data, sock.family, sock.has_ip_header).message
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

    def _reply(self, sock: t.Any, fields: t.Tuple[t.Any, ...], item: t.Any, ttl: t.Any) -> None:
        _type, _code, _checksum, ident, seq, token, number = fields
        target = self.targets[self.probe_slot[number]] if number < len(self.probe_slot) else None
        source = item.address
        if "%" in source:
            source = source.partition("%")[0]
        verdict = matching.classify_reply(
            ident, seq, token, number, source, sock.ident, self.token,
            target.match_address if target is not None else None,
        )
        # WRONG_SOURCE: our identifier, sequence and run token, from another address than
        # the one probed (multi-homed host, VIP, NAT). The token proves the reply answers
        # our probe, so it counts, as with ping and fping; reply_address says who answered.
        if verdict == matching.FOREIGN or target is None:
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
        target.reply_ttl = ttl
        target.reply_address = source
        rtt_ns = self._rtt_ns(number, item.rx_realtime_ns)
        if target.rtts_ns is None:
            target.rtts_ns = [rtt_ns]
        else:
            target.rtts_ns.append(rtt_ns)

    def _rtt_ns(self, number: int, rx_realtime_ns: t.Optional[int]) -> int:
        # The monotonic RTT spans send() to our return from recvmsg(), so it includes
        # wake-up latency. The kernel stamps the packet on arrival, but with
        # CLOCK_REALTIME, so the send's monotonic stamp is moved to realtime by the
        # offset read at the start. If the wall clock was stepped in between, that
        # difference is nonsense (negative, or longer than the monotonic span), and we
        # keep the monotonic RTT: never negative, never longer than what we observed.
        sent_ns = self.probe_sent_ns[number]
        monotonic_rtt = self._monotonic_ns() - sent_ns
        if monotonic_rtt < 0:
            monotonic_rtt = 0
        if rx_realtime_ns is not None and self._real_offset_ns is not None:
            kernel_rtt = rx_realtime_ns - sent_ns - self._real_offset_ns
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
        _count(target, (icmp_type, code, name, address))
        if icmp_type in _ADVISORY[family]:
            return
        if self.probe_state[number] == _OUT:
            self.probe_state[number] = _ERRORED
            self.in_flight -= 1


def _count(target: _Target, key: t.Tuple[t.Optional[int], t.Optional[int], str, t.Optional[str]]) -> None:
    if target.errors is None:
        target.errors = {}
    target.errors[key] = target.errors.get(key, 0) + 1


def _errno_name(number: int) -> str:
    return errno.errorcode.get(number, "errno%d" % number).lower()


def rtt_stats(rtts_ns: t.Sequence[int]) -> t.Optional[t.Dict[str, float]]:
    """min/avg/max/mdev in milliseconds; mdev as iputils: sqrt(mean(x^2) - mean(x)^2)."""
    if not rtts_ns:
        return None
    if len(rtts_ns) == 1:
        value = round(rtts_ns[0] / 1e6, 3)
        return {"min": value, "avg": value, "max": value, "mdev": 0.0}
    values = [v / 1e6 for v in rtts_ns]
    mean = sum(values) / len(values)
    variance = max(0.0, sum(v * v for v in values) / len(values) - mean * mean)
    return {
        "min": round(min(values), 3),
        "avg": round(mean, 3),
        "max": round(max(values), 3),
        "mdev": round(math.sqrt(variance), 3),
    }


_FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}


def _result(item: ResolvedTarget, state: t.Optional[_Target], count: int) -> TargetResult:
    """The documented result dict of one target (``models.TARGET_RESULT_KEYS``), built once."""
    if state is None or state.error is not None:
        return {
            "target": item.target, "address": item.address, "family": _FAMILY_NAMES.get(item.family or 0),
            "status": "error", "sent": 0, "received": 0, "loss_pct": 100.0, "rtt_ms": None, "duplicates": 0,
            "late": 0, "reply_ttl": None, "reachable": False, "reply_address": None, "errors": [],
            "error": item.error or (state.error if state is not None else None),
        }
    rtts_ns = state.rtts_ns
    sent = count - state.remaining
    received = len(rtts_ns) if rtts_ns is not None else 0
    if received == sent:
        loss_pct = 0.0
    else:
        loss_pct = round(100.0 * (sent - received) / sent, 3) if sent else 100.0
    return {
        "target": item.target,
        "address": item.address,
        "family": _FAMILY_NAMES[state.family],
        "status": "reachable" if received else "unreachable",
        "sent": sent,
        "received": received,
        "loss_pct": loss_pct,
        "rtt_ms": rtt_stats(rtts_ns) if rtts_ns is not None else None,
        "duplicates": state.duplicates,
        "late": state.late,
        "reply_ttl": state.reply_ttl,
        "reachable": received > 0,
        "reply_address": state.reply_address,
        "errors": _error_list(state.errors) if state.errors else [],
        "error": None,
    }


def _error_list(errors: t.Dict[t.Tuple[t.Optional[int], t.Optional[int], str, t.Optional[str]], int]) -> t.List[t.Dict[str, t.Any]]:
    return [
        {"type": key[0], "code": key[1], "name": key[2], "address": key[3], "count": count}
        for key, count in sorted(errors.items(), key=lambda item: (item[0][2], str(item[0][3])))
    ]


def ping(
    targets: t.Sequence[str],
    options: PingOptions,
    network: t.Optional[Network] = None,
    clock: t.Any = None,
) -> PingReport:
    """Ping every target ``options.count`` times over one socket per family."""
    validate(options, len(targets))
    if network is None:
        from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import SystemNetwork  # noqa: PLC0415

        network = SystemNetwork()
    clock = clock or scheduler.SystemClock()
    started = clock.monotonic_ns()
    resolved = resolve_targets(targets, options.probe.family, network.lookup, network.zone_index)
    count = options.count
    per_result: t.List[t.Optional[_Target]] = [
        _Target(item.address, item.family, count) if item.error is None and item.address is not None and item.family else None
        for item in resolved
    ]
    states = [state for state in per_result if state is not None]
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
    del session, states, slots
    results: t.List[TargetResult] = []
    for index, item in enumerate(resolved):
        results.append(_result(item, per_result[index], count))
        per_result[index] = None  # free each target's counters once its result exists (peak memory)
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


def validate_expectations(max_loss_pct: t.Optional[float], max_rtt_ms: t.Optional[float]) -> None:
    """Raise ``ParameterError`` for thresholds out of range (before any packet)."""
    if not _within(max_loss_pct, 0, 100):
        raise ParameterError("max_loss_pct", max_loss_pct, "use a percentage from 0 to 100")
    if not _within(max_rtt_ms, 0, MAX_SECONDS * 1000):
        raise ParameterError("max_rtt_ms", max_rtt_ms, "use 0 to %g milliseconds" % (MAX_SECONDS * 1000))


def evaluate(
    results: t.Sequence[TargetResult],
    expect: str = "reachable",
    max_loss_pct: t.Optional[float] = None,
    max_rtt_ms: t.Optional[float] = None,
) -> t.List[str]:
    """One message per target that breaks the expectation (empty list: all good)."""
    failures = []
    for result in results:
        target, address = result["target"], result["address"]
        name = target if address in (None, target) else "%s (%s)" % (target, address)
        if result["error"]:
            failures.append("%s: %s" % (name, result["error"]))
            continue
        if expect == "unreachable":
            if result["reachable"]:
                failures.append("%s answered but was expected to be unreachable (%s)" % (name, _numbers(result)))
        elif not result["reachable"]:
            failures.append("%s is unreachable (%s%s)" % (name, _numbers(result), _error_text(result)))
        else:
            if max_loss_pct is not None and result["loss_pct"] > max_loss_pct:
                failures.append("%s: loss %s%% > max_loss_pct %s (%s)" % (
                    name, _num(result["loss_pct"]), _num(max_loss_pct), _numbers(result)))
            avg = result["rtt_ms"]["avg"] if result["rtt_ms"] else None
            if max_rtt_ms is not None and avg is not None and avg > max_rtt_ms:
                failures.append("%s: average rtt %s ms > max_rtt_ms %s" % (name, _num(avg), _num(max_rtt_ms)))
    return failures


def _numbers(result: TargetResult) -> str:
    return "sent %d, received %d, loss %s%%" % (result["sent"], result["received"], _num(result["loss_pct"]))


def _error_text(result: TargetResult) -> str:
    if not result["errors"]:
        return ""
    return "; " + ", ".join(
        "%d x %s%s" % (e["count"], e["name"], " from %s" % e["address"] if e["address"] else "") for e in result["errors"]
    )


def _num(value: float) -> str:
    return ("%.3f" % value).rstrip("0").rstrip(".")
