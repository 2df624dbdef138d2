# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Multipath traceroute: every branch of an ECMP path, hop by hop, with a confidence.

Classic (Paris) traceroute keeps one flow identity, so it sees one branch of a load
balancer per run. Here every flow is a UDP socket of its own, so its own source port:
an L4 hash (Linux ``fib_multipath_hash_policy=1``, most routers) spreads the flows over
the branches, and one flow keeps its branch at every TTL, which links the hops.

The stopping rule is the Multipath Detection Algorithm's (MDA; Augustin et al., as in
scamper's ``tracelb`` and Dublin Traceroute): having seen ``k`` next hops at a TTL, keep
sending new flows until ``n_k`` probes answered, where ``n_k`` is the fewest probes for
which ``k + 1`` equally likely next hops would all have shown up with the wanted
confidence (95 %: 6 probes for k=1, 11 for k=2, 16 for k=3, ...). The confidence
reported per hop is that probability for the probes that actually answered.

A flow that answered at a TTL and then fell silent while other flows went on to the
destination marks a failing branch: its last answering hop is named.
"""
from __future__ import annotations

import dataclasses
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import probes
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, ResolveError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import ProbeEvent, ProbeSpec
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import resolve_targets
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import Clock, SystemClock
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.traceroute import TraceRequest, params_for
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import lookup, zone_index

_ENDS = ("reply", "unreachable")


class FlowProber(t.Protocol):
    mode: str
    probes_sent: int

    def send(self, spec: ProbeSpec, flow: int) -> t.Optional[ProbeEvent]:
        ...

    def poll(self, timeout_s: float) -> t.List[ProbeEvent]:
        ...


def miss_probability(seen: int, answered: int) -> float:
    """Chance that ``seen + 1`` equally likely next hops show only ``seen`` of them (or
    fewer) in ``answered`` probes: inclusion-exclusion over the next hops never hit."""
    total = seen + 1
    probability = 0.0
    for missed in range(1, total + 1):
        sign = 1.0 if missed % 2 else -1.0
        ways = float(_choose(total, missed))
        probability += sign * ways * ((total - missed) / total) ** answered
    return max(0.0, min(1.0, probability))


def _choose(total: int, part: int) -> int:
    result = 1
    for index in range(part):
        result = result * (total - index) // (index + 1)
    return result


def probes_needed(seen: int, confidence: float) -> int:
    """MDA's n_k: answered probes needed to rule out one more next hop than ``seen``."""
    answered = seen + 1
    while miss_probability(max(seen, 1), answered) > 1.0 - confidence:
        answered += 1
    return answered


@dataclass(frozen=True)
class MultipathParams:
    destination: str
    family: int
    first_ttl: int = 1
    max_hops: int = 30
    confidence: float = 0.95
    max_flows: int = 64
    size: int = 60
    timeout_s: float = 1.0
    max_silent_hops: int = 3


@dataclass(frozen=True)
class BranchHop:
    ttl: int
    addresses: t.Tuple[str, ...]  # every next hop seen at this TTL, in order of discovery
    flows: t.Dict[str, t.Tuple[int, ...]]  # address -> flows that met it
    next_hops: t.Dict[str, t.Tuple[str, ...]]  # address -> addresses its flows met one TTL later
    probes: int
    answered: int
    confidence: t.Optional[float]  # None when silent
    status: str  # "ok", "partial", "silent", "destination"

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "ttl": self.ttl, "addresses": list(self.addresses),
            "flows": {key: list(value) for key, value in self.flows.items()},
            "next_hops": {key: list(value) for key, value in self.next_hops.items()},
            "probes": self.probes, "answered": self.answered, "confidence": self.confidence, "status": self.status,
        }


@dataclass(frozen=True)
class MultipathReport:
    destination: str
    family: int
    mode: str
    hops: t.Tuple[BranchHop, ...]
    branches: int  # the most next hops seen at one TTL
    reached: bool  # some flow reached the destination
    all_reached: bool  # every flow that got an answer went on to the destination
    failing: t.Tuple[str, ...]  # last hops of flows that died while others reached
    flows: t.Tuple[t.Tuple[t.Optional[str], ...], ...]  # per flow, the address at every TTL
    probes_sent: int
    elapsed_ms: float

    def as_dict(self) -> t.Dict[str, t.Any]:
        return {
            "destination": self.destination, "family": "ipv%d" % self.family, "method": "udp", "mode": self.mode,
            "hops": [hop.as_dict() for hop in self.hops], "branches": self.branches, "reached": self.reached,
            "all_reached": self.all_reached, "failing": list(self.failing),
            "flows": [list(path) for path in self.flows],
            "probes_sent": self.probes_sent, "elapsed_ms": self.elapsed_ms,
        }


class MultipathTrace:
    def __init__(self, prober: FlowProber, clock: Clock, params: MultipathParams) -> None:
        self.prober, self.clock, self.params = prober, clock, params
        self.number = 0
        self.next_flow = 0  # flows are numbered in the order they are first used
        self.answers: t.Dict[int, t.Dict[int, ProbeEvent]] = {}  # ttl -> flow -> event
        self.sent: t.Dict[int, t.Set[int]] = {}  # ttl -> flows probed

    def _round(self, ttl: int, flows: t.Sequence[int]) -> None:
        """Send one probe per flow at ``ttl`` and wait for their answers."""
        waiting: t.Dict[int, int] = {}
        for flow in flows:
            self.number += 1
            self.sent.setdefault(ttl, set()).add(flow)
            local = self.prober.send(ProbeSpec(self.number, ttl, self.params.size), flow)
            if local is not None:
                self.answers.setdefault(ttl, {})[flow] = local
            else:
                waiting[self.number] = flow
        deadline = self.clock.monotonic_ns() + int(self.params.timeout_s * 1e9)
        while waiting:
            left = (deadline - self.clock.monotonic_ns()) / 1e9
            if left <= 0:
                return
            for event in self.prober.poll(left):
                flow_of = waiting.pop(event.number, None)
                if flow_of is not None:
                    self.answers.setdefault(ttl, {})[flow_of] = event

    def _probe_hop(self, ttl: int) -> None:
        """MDA at one TTL: the flows that crossed the TTL before go on (so every branch is
        followed), then new flows until the stopping rule holds, or no flow answers."""
        carried = sorted(flow for flow, event in self.answers.get(ttl - 1, {}).items() if event.kind == "ttl_exceeded")
        if carried:
            self._round(ttl, carried)
            if not self.answers.get(ttl):
                return  # silent for every branch: more flows will not help
        while True:
            found = self.answers.get(ttl, {})
            seen = len({event.address for event in found.values() if event.address})
            needed = probes_needed(seen, self.params.confidence)
            if len(found) >= needed or self.next_flow >= self.params.max_flows:
                return
            count = min(self.params.max_flows - self.next_flow, needed - len(found))
            batch = range(self.next_flow, self.next_flow + count)
            self.next_flow += count
            self._round(ttl, batch)
            if not any(flow in self.answers.get(ttl, {}) for flow in batch):
                return  # silent: more flows will not help

    def run(self) -> MultipathReport:
        start = self.clock.monotonic_ns()
        silent_run = 0
        last = self.params.first_ttl
        for ttl in range(self.params.first_ttl, self.params.max_hops + 1):
            last = ttl
            self._probe_hop(ttl)
            found = self.answers.get(ttl, {})
            silent_run = 0 if found else silent_run + 1
            if silent_run >= self.params.max_silent_hops:
                break
            if found and all(event.kind in _ENDS or event.kind == "local_error" for event in found.values()):
                break
        elapsed_ms = round((self.clock.monotonic_ns() - start) / 1e6, 3)
        return self._report(range(self.params.first_ttl, last + 1), elapsed_ms)

    # --- results ----------------------------------------------------------------------
    def _report(self, ttls: t.Sequence[int], elapsed_ms: float) -> MultipathReport:
        paths = tuple(tuple(self._address(ttl, flow) for ttl in ttls) for flow in range(self.next_flow))
        reached_flows = {flow for ttl in ttls for flow, event in self.answers.get(ttl, {}).items() if event.kind == "reply"}
        failing: t.List[str] = []
        for flow in range(self.next_flow):
            lost = self._lost_after(flow, ttls)
            if reached_flows and lost is not None and lost not in failing:
                failing.append(lost)
        hops = tuple(self._hop(ttl, paths, index) for index, ttl in enumerate(ttls))
        return MultipathReport(
            destination=self.params.destination, family=self.params.family, mode=self.prober.mode, hops=hops,
            branches=max((len(hop.addresses) for hop in hops), default=0), reached=bool(reached_flows),
            all_reached=bool(reached_flows) and not failing, failing=tuple(failing), flows=paths,
            probes_sent=self.prober.probes_sent, elapsed_ms=elapsed_ms,
        )

    def _lost_after(self, flow: int, ttls: t.Sequence[int]) -> t.Optional[str]:
        """The last hop that answered ``flow``, when the flow was probed one TTL further
        and nothing answered: where the flow's branch loses it."""
        for ttl in ttls:
            event = self.answers.get(ttl, {}).get(flow)
            if event is None or event.kind != "ttl_exceeded":
                continue
            if flow in self.sent.get(ttl + 1, ()) and flow not in self.answers.get(ttl + 1, {}):
                return event.address
        return None

    def _address(self, ttl: int, flow: int) -> t.Optional[str]:
        event = self.answers.get(ttl, {}).get(flow)
        return event.address if event is not None else None

    def _hop(self, ttl: int, paths: t.Sequence[t.Sequence[t.Optional[str]]], index: int) -> BranchHop:
        found = self.answers.get(ttl, {})
        flows: t.Dict[str, t.List[int]] = {}
        next_hops: t.Dict[str, t.List[str]] = {}
        for flow, event in sorted(found.items()):
            if not event.address:
                continue
            flows.setdefault(event.address, []).append(flow)
            following = paths[flow][index + 1] if index + 1 < len(paths[flow]) else None
            known = next_hops.setdefault(event.address, [])
            if following and following not in known:
                known.append(following)
        answered = sum(1 for event in found.values() if event.address)
        probed = len(self.sent.get(ttl, ()))
        if any(event.kind in _ENDS for event in found.values()):
            status = "destination"
        else:
            status = "silent" if not answered else ("ok" if answered == probed else "partial")
        confidence = None if not answered else round(1.0 - miss_probability(len(flows), answered), 4)
        return BranchHop(
            ttl, tuple(flows), {key: tuple(value) for key, value in flows.items()},
            {key: tuple(value) for key, value in next_hops.items()}, probed, answered, confidence, status,
        )


def trace_multipath(prober: FlowProber, clock: Clock, params: MultipathParams) -> MultipathReport:
    return MultipathTrace(prober, clock, params).run()


class UdpFlowProber(probes.PathProber):
    """UDP probes with one datagram socket, so one source port, per flow.

    Matching needs nothing new: replies are matched by the destination port and the
    token in the payload, whatever the source port. Unprivileged, each flow socket has
    its own error queue, so it joins the receivers.
    """

    def __init__(self, family: int, destination: str, mode: str = "auto", port: t.Optional[int] = None,
                 source: t.Optional[str] = None, interface: t.Optional[str] = None) -> None:
        super().__init__(family, "udp", destination, mode=mode, port=port, source=source, interface=interface,
                         clock_ns=time.monotonic_ns)
        self._flows: t.Dict[int, t.Any] = {0: self._send_sock}

    def _flow_socket(self, flow: int) -> t.Any:
        sock = self._flows.get(flow)
        if sock is None:
            sock = self._flows[flow] = self.open_flow()
        return sock

    def send(self, spec: ProbeSpec, flow: int = 0) -> t.Optional[ProbeEvent]:
        self._send_sock = self._flow_socket(flow)
        return super().send(spec)


def check_params(params: MultipathParams) -> None:
    """Raises ParameterError quoting the bad value."""
    if not 0.5 <= params.confidence < 1:
        raise ParameterError("confidence", params.confidence, "give a probability from 0.5 to 0.99, such as 0.95")
    if not 2 <= params.max_flows <= 256:
        raise ParameterError("max_flows", params.max_flows, "give 2 to 256 flows")


def run_multipath(request: TraceRequest, confidence: float = 0.95, max_flows: int = 64) -> MultipathReport:
    """Resolve, open one socket per flow and trace every branch. Real sockets; UDP probes."""
    resolved = resolve_targets([request.target], request.family, lookup, zone_index)[0]
    if resolved.error or resolved.address is None or resolved.family is None:
        raise ResolveError(resolved.error or "%s does not resolve" % request.target)
    base = params_for(dataclasses.replace(request, method="udp"), resolved.family, resolved.address)
    params = MultipathParams(
        destination=resolved.address, family=resolved.family, first_ttl=base.first_ttl, max_hops=base.max_hops,
        confidence=confidence, max_flows=max_flows, size=base.size, timeout_s=base.timeout_s,
        max_silent_hops=base.max_silent_hops,
    )
    check_params(params)
    prober = UdpFlowProber(resolved.family, resolved.address, mode=request.privileged, port=request.port,
                           source=request.source, interface=request.interface)
    try:
        return trace_multipath(prober, SystemClock(), params)
    finally:
        prober.close()
