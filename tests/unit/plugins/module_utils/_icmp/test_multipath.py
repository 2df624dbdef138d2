# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Multipath traceroute (MDA) over a fake network with load-balanced diamonds."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.multipath import (
    MultipathParams,
    check_params,
    miss_probability,
    probes_needed,
    trace_multipath,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import ProbeEvent, ProbeSpec
from tests.unit.fakes.clock import FakeClock

DESTINATION = "203.0.113.9"


class FakeDiamonds:
    """Hop levels; a level with several addresses balances flows by a hash of the flow.

    A flow's branch at a level is ``(flow * 7 + level) % width``, the same at every TTL, like
    a router's L4 hash of a fixed source port. ``drops`` are addresses that answer their own
    TTL but forward nothing (a branch that loses the traffic).
    """

    def __init__(self, clock: FakeClock, levels: t.Sequence[t.Sequence[str]], drops: t.Sequence[str] = ()) -> None:
        self.clock, self.levels, self.drops = clock, [list(level) for level in levels], set(drops)
        self.mode = "raw"
        self.probes_sent = 0
        self.pending: t.List[ProbeEvent] = []
        self.sent: t.List[t.Tuple[int, int]] = []  # (ttl, flow)

    def _path(self, flow: int) -> t.List[str]:
        return [level[(flow * 7 + index) % len(level)] for index, level in enumerate(self.levels)]

    def send(self, spec: ProbeSpec, flow: int) -> t.Optional[ProbeEvent]:
        self.probes_sent += 1
        self.sent.append((spec.ttl, flow))
        path = self._path(flow)
        rx_ns = self.clock.now_ns + 1_000_000
        for index, address in enumerate(path[:spec.ttl]):
            if index + 1 == spec.ttl:
                self.pending.append(ProbeEvent(spec.number, "ttl_exceeded", address, rx_ns, 11, 0))
                return None
            if address in self.drops:
                return None
        self.pending.append(ProbeEvent(spec.number, "reply", DESTINATION, rx_ns, 3, 3))
        return None

    def poll(self, timeout_s: float) -> t.List[ProbeEvent]:
        events, self.pending = self.pending, []
        if not events:
            self.clock.advance(timeout_s)
        return events


def run(levels: t.Sequence[t.Sequence[str]], drops: t.Sequence[str] = (), **extra: t.Any) -> t.Any:
    clock = FakeClock()
    network = FakeDiamonds(clock, levels, drops)
    report = trace_multipath(network, clock, MultipathParams(DESTINATION, 4, timeout_s=0.5, **extra))
    return report, network


def test_stopping_rule_matches_the_mda_table_at_95_percent() -> None:
    assert [probes_needed(seen, 0.95) for seen in (1, 2, 3, 4, 5)] == [6, 11, 16, 21, 27]
    assert miss_probability(1, 6) == pytest.approx(2 * 0.5 ** 6)
    assert probes_needed(1, 0.99) == 8


def test_diamond_both_branches_found_and_linked() -> None:
    report, network = run([["192.0.2.1"], ["192.0.2.6", "192.0.2.10"], ["192.0.2.14"]])
    assert report.reached and report.all_reached and report.failing == ()
    assert [set(hop.addresses) for hop in report.hops[:3]] == [{"192.0.2.1"}, {"192.0.2.6", "192.0.2.10"}, {"192.0.2.14"}]
    assert report.branches == 2
    first, diamond = report.hops[0], report.hops[1]
    assert set(first.next_hops["192.0.2.1"]) == {"192.0.2.6", "192.0.2.10"}
    assert diamond.next_hops == {"192.0.2.6": ("192.0.2.14",), "192.0.2.10": ("192.0.2.14",)}
    # One next hop seen: 6 answers rule out a second; two seen: 11 rule out a third.
    assert (first.answered, diamond.answered) == (6, 11)
    assert diamond.confidence is not None and diamond.confidence >= 0.95
    assert report.hops[-1].status == "destination"
    # Every flow keeps its source identity at every TTL: flow 0 is probed at each TTL.
    assert [ttl for ttl, flow in network.sent if flow == 0] == [1, 2, 3, 4]


def test_three_way_balancer_needs_sixteen_answers() -> None:
    report, _network = run([["192.0.2.1"], ["192.0.2.5", "192.0.2.6", "192.0.2.7"], ["192.0.2.9"]])
    assert set(report.hops[1].addresses) == {"192.0.2.5", "192.0.2.6", "192.0.2.7"}
    assert report.hops[1].answered == 16


def test_failing_branch_is_named() -> None:
    report, _network = run([["192.0.2.1"], ["192.0.2.6", "192.0.2.10"], ["192.0.2.14"]], drops=["192.0.2.10"])
    assert report.reached and not report.all_reached
    assert report.failing == ("192.0.2.10",)
    assert report.hops[1].next_hops["192.0.2.10"] == ()
    assert all(path[1] == "192.0.2.10" for path in report.flows if path[-1] is None)


def test_silent_tail_stops_and_nothing_is_named_failing() -> None:
    report, _network = run([["192.0.2.1"], ["192.0.2.6"]], drops=["192.0.2.6"], max_silent_hops=2)
    assert not report.reached and report.failing == ()
    assert [hop.status for hop in report.hops] == ["ok", "ok", "silent", "silent"]
    assert report.hops[2].confidence is None


@pytest.mark.parametrize("option, value", [("confidence", 1.0), ("confidence", 0.2), ("max_flows", 1), ("max_flows", 1000)])
def test_bad_parameters_quote_the_value(option: str, value: t.Any) -> None:
    with pytest.raises(ParameterError, match=repr(value).replace(".", r"\.")):
        check_params(MultipathParams(DESTINATION, 4, **{option: value}))
