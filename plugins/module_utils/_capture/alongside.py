# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""A capture that runs while a probe (ping, traceroute, pmtud) runs: evidence for its verdict.

``plan`` decides where to listen before anything is opened: ``interface: auto`` is the
route's output interface for the targets (one ``ip -j -batch`` run of ``route get``),
or all interfaces when the targets leave by different ones; the in-kernel filter keeps
ICMP to or from this host's source addresses for them. ``ProbeCapture`` opens the packet
socket before the first probe (so a missing CAP_NET_RAW fails the task before anything
is sent), reads it in a thread while the probe runs, and after the probe's last reply or
timeout reads what is still queued and closes it. ``result`` is the capture summary
plus, per target, the echo requests seen, the echo replies and the ICMP errors quoting
probes to it, and one sentence each ("3 echo requests to 203.0.113.10 left eth0, no
reply arrived").
"""
from __future__ import annotations

import ipaddress
import json
import re
import threading
import typing as t
from collections import Counter
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import bpf, sniffer
from ansible_collections.netdevops.icmp.plugins.module_utils._capture.summary import Summary, split_packet
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import transport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import IcmpError, ParameterError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import Lookup, resolve_targets

ARGUMENT_SPEC: t.Dict[str, t.Any] = {"type": "dict", "options": {
    "interface": {"type": "str", "default": "auto"},
    "max_packets": {"type": "int", "default": 10000},
    "top": {"type": "int", "default": 10},
}}
MAX_PACKETS = 1_000_000
MAX_TARGETS_SHOWN = 1000
SNAPLEN = 2048  # an ICMPv6 error quotes up to 1232 bytes; PMTUD probes of 9000 are cut in the kernel
_INTERFACE_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ECHO_REQUEST = {4: int(c.Icmp4Type.ECHO_REQUEST), 6: int(c.Icmp6Type.ECHO_REQUEST)}
_ECHO_REPLY = {4: int(c.Icmp4Type.ECHO_REPLY), 6: int(c.Icmp6Type.ECHO_REPLY)}


class ProbeCaptureError(IcmpError):
    """The capture beside a probe could not start (no CAP_NET_RAW, no such interface); nothing was sent."""


class Runner(t.Protocol):
    def run(self, argv: t.Sequence[str], stdin: t.Optional[str] = None, check: bool = True) -> t.Any: ...


@dataclass(frozen=True)
class Plan:
    interface: t.Optional[str]  # None: all interfaces
    hosts: t.Tuple[str, ...]  # this host's source addresses for the targets: the filter; () for all ICMP
    targets: t.Tuple[str, ...]  # the targets' addresses, for per-target evidence
    max_packets: int
    top: int
    chosen_by: str  # option, route, probe_interface, routes_differ, no_route

    def where(self) -> str:
        return self.interface or "this host"


def plan(settings: t.Mapping[str, t.Any], targets: t.Sequence[t.Any], family: str, source: t.Optional[str],
         probe_interface: t.Optional[str], runner: Runner, lookup: Lookup = transport.lookup) -> Plan:
    """Where and what to capture for these targets; ``ParameterError`` for a bad setting."""
    wanted = settings.get("interface") or "auto"
    if wanted not in ("auto", "any") and not _INTERFACE_RE.fullmatch(str(wanted)):
        raise ParameterError("capture.interface", wanted, "give auto, any or an interface name "
                             "(1-15 of letters, digits and _.:@-)")
    max_packets = _whole("capture.max_packets", settings.get("max_packets", 10000), MAX_PACKETS)
    top = _whole("capture.top", settings.get("top", 10), 1000)
    addresses = []
    for entry in resolve_targets(list(targets), family, lookup):
        if entry.address is not None and entry.address not in addresses:
            addresses.append(entry.address)
    routes = route_lookup(runner, [a for a in addresses if "%" not in a])
    hosts = sorted({route[1] for route in routes.values() if route[1]} | ({str(ipaddress.ip_address(source))} if _is_address(source) else set()))
    if len(hosts) > bpf.MAX_HOSTS:
        hosts = []  # too many for the filter: all ICMP on the interface, counted per target all the same
    devices = {route[0] for route in routes.values()} | {a.partition("%")[2] for a in addresses if "%" in a}
    if wanted == "any":
        interface, chosen_by = None, "option"
    elif wanted != "auto":
        interface, chosen_by = wanted, "option"
    elif probe_interface:
        interface, chosen_by = probe_interface, "probe_interface"
    elif len(devices) == 1:
        interface, chosen_by = devices.pop(), "route"
    else:
        interface, chosen_by = None, "routes_differ" if devices else "no_route"
    return Plan(interface, tuple(hosts), tuple(a.partition("%")[0] for a in addresses), max_packets, top, chosen_by)


def _whole(name: str, value: t.Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ParameterError(name, value, "give a whole number from 1 to %d" % high)
    return value


def _is_address(value: t.Optional[str]) -> bool:
    try:
        return value is not None and bool(ipaddress.ip_address(value))
    except ValueError:
        return False


def route_lookup(runner: Runner, addresses: t.Sequence[str]) -> t.Dict[str, t.Tuple[str, t.Optional[str]]]:
    """{address: (output interface, preferred source)} from one ``ip -j -force -batch -`` run.

    A lookup sends nothing. Addresses are canonical literals (``resolve_targets``); an
    address without a route is missing from the answer (``-force`` goes on past it).
    """
    if not addresses:
        return {}
    which = getattr(runner, "which", None)
    if which is not None and which("ip") is None:
        return {}
    script = "".join("route get %s\n" % address for address in addresses)
    result = runner.run(["ip", "-j", "-force", "-batch", "-"], stdin=script, check=False)
    routes: t.Dict[str, t.Tuple[str, t.Optional[str]]] = {}
    for line in str(result.stdout).splitlines():
        try:
            answers = json.loads(line) if line.startswith("[") else []
        except ValueError:
            continue
        for answer in answers:
            if isinstance(answer, dict) and answer.get("dst") in addresses and answer.get("dev"):
                routes[answer["dst"]] = (str(answer["dev"]), answer.get("prefsrc"))
    return routes


class ProbeCapture:
    """``with ProbeCapture(plan): run the probe`` then ``result()``; also usable as a no-op (plan None)."""

    def __init__(self, capture_plan: t.Optional[Plan], open_source: t.Callable[..., sniffer.PacketSource] = sniffer.PacketSocket,
                 poll_s: float = 0.05) -> None:
        self.plan = capture_plan
        self._open_source = open_source
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: t.Optional[threading.Thread] = None
        self._source: t.Optional[sniffer.PacketSource] = None
        self.summary = Summary(capture_plan.top if capture_plan else 10)
        self.evidence = Evidence(capture_plan.targets if capture_plan else ())
        self.captured = self.over_limit = 0
        self.interfaces: t.Set[str] = set()
        self.failure: t.Optional[str] = None
        self.kernel = (0, 0)

    def __enter__(self) -> "ProbeCapture":
        if self.plan is None:
            return self
        try:
            if self.plan.interface:
                sniffer.interface_index(self.plan.interface)
            program = bpf.pack(bpf.program(self.plan.hosts, (4, 6), SNAPLEN))
            self._source = self._open_source(self.plan.interface, program, SNAPLEN)
        except sniffer.CaptureError as err:
            raise ProbeCaptureError("capture: %s; nothing was sent" % err) from err
        self._thread = threading.Thread(target=self._loop, name="probe-capture", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        if self._thread is None or self._source is None:
            return
        self._stop.set()
        self._thread.join()
        try:
            self.kernel = self._source.statistics()
        except OSError:
            pass  # the counters are a nicety; the socket is closed next anyway
        self._source.close()

    def _loop(self) -> None:
        source = t.cast(sniffer.PacketSource, self._source)
        try:
            while not self._stop.is_set():
                self._take(source.receive(self._poll_s))
            while self._take(source.receive(0)):
                pass  # what the probe's last answers left queued
        except (OSError, sniffer.CaptureError) as err:
            self.failure = "the capture stopped early: %s" % err

    def _take(self, frames: t.Sequence[sniffer.Frame]) -> int:
        limit = t.cast(Plan, self.plan).max_packets
        for frame in frames:
            family = sniffer.frame_family(frame)
            if family is None:
                continue
            if self.captured >= limit:
                self.over_limit += 1
                continue
            self.captured += 1
            self.interfaces.add(frame.interface)
            self.summary.add(frame.timestamp_ns, sniffer.direction(frame), family, frame.data)
            self.evidence.add(family, frame.data)
        return len(frames)

    def result(self) -> t.Optional[t.Dict[str, t.Any]]:
        """The capture section of the probe's result, or None when no capture was asked for."""
        if self.plan is None:
            return None
        result = self.summary.to_dict()
        per_target = self.evidence.rows(self.summary, self.plan.where())
        result.update(
            interface=self.plan.interface or "any", chosen_by=self.plan.chosen_by, hosts=list(self.plan.hosts),
            captured=self.captured, over_limit=self.over_limit, interfaces_seen=sorted(self.interfaces),
            kernel={"packets": self.kernel[0], "drops": self.kernel[1]}, error=self.failure,
            per_target=per_target[:MAX_TARGETS_SHOWN], evidence=[row["evidence"] for row in per_target[:MAX_TARGETS_SHOWN]],
        )
        return result


class Evidence:
    """Echo requests to and replies from each target; its errors come from the summary's quoted flows."""

    def __init__(self, targets: t.Sequence[str]) -> None:
        self.targets = frozenset(targets)
        self.order = list(dict.fromkeys(targets))
        self.requests: t.Counter[str] = Counter()
        self.replies: t.Counter[str] = Counter()

    def add(self, family: int, data: bytes) -> None:
        try:
            src, dst, icmp = split_packet(family, data)
        except (IcmpError, IndexError, ValueError):
            return
        if not icmp:
            return
        if icmp[0] == _ECHO_REQUEST[family] and dst in self.targets:
            self.requests[dst] += 1
        elif icmp[0] == _ECHO_REPLY[family] and src in self.targets:
            self.replies[src] += 1

    def rows(self, summary: Summary, where: str) -> t.List[t.Dict[str, t.Any]]:
        errors: t.Dict[str, t.Counter[t.Tuple[str, str, t.Optional[int]]]] = {}
        for (family, icmp_type, code, _direction, reporter, mtu, flow), count in summary.errors.items():
            if flow is not None and flow[1] in self.targets:
                name = c.icmp_name(family, icmp_type, code)
                errors.setdefault(flow[1], Counter())[(name, reporter, mtu)] += count
        rows = []
        for address in self.order:
            found = errors.get(address, Counter())
            rows.append({
                "address": address, "echo_requests": self.requests[address], "echo_replies": self.replies[address],
                "errors": [{"name": name, "from": reporter, "mtu": mtu, "packets": count}
                           for (name, reporter, mtu), count in sorted(found.items(), key=_error_order)],
                "evidence": sentence(address, self.requests[address], self.replies[address], found, where),
            })
        return rows


def _error_order(item: t.Tuple[t.Tuple[str, str, t.Optional[int]], int]) -> t.Tuple[int, str, str]:
    (name, reporter, _mtu), count = item
    return (-count, name, reporter)


def sentence(address: str, requests: int, replies: int, errors: t.Mapping[t.Tuple[str, str, t.Optional[int]], int],
             where: str) -> str:
    """One line of evidence, such as "3 echo requests to 203.0.113.10 left eth0, no reply arrived"."""
    if requests:
        text = "%d echo request%s to %s left %s" % (requests, "" if requests == 1 else "s", address, where)
    else:
        text = "no echo request to %s was seen on %s" % (address, where)
    if replies:
        text += ", %d echo repl%s arrived" % (replies, "y" if replies == 1 else "ies")
    elif requests:
        text += ", no reply arrived"
    if errors:
        text += "; ICMP errors about probes to %s arrived: %s" % (address, ", ".join(
            "%d %s%s from %s" % (count, name, "" if mtu is None else " (mtu %d)" % mtu, reporter)
            for (name, reporter, mtu), count in sorted(errors.items(), key=_error_order)))
    return text


def for_params(params: t.Mapping[str, t.Any], targets: t.Sequence[t.Any], runner: Runner) -> ProbeCapture:
    """The capture a probe module's ``capture`` option asks for (a no-op when it is omitted)."""
    settings = params.get("capture")
    if settings is None:
        return ProbeCapture(None)
    return ProbeCapture(plan(settings, targets, params.get("family") or "auto", params.get("source"),
                             params.get("interface"), runner))
