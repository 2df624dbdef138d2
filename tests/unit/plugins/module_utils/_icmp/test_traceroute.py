"""Traceroute over a fake path and clock: hops, pacing, rate limits, silent tails, MPLS."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import MplsLabel
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import Hop, TraceReport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.traceroute import (
    TraceParams,
    TraceRequest,
    params_for,
    trace,
    traverses,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError
from tests.unit.fakes.clock import FakeClock
from tests.unit.fakes.path import FakePath, FakeRouter

DEST = "203.0.113.9"


def routers(count: int, **extra: t.Any) -> t.List[FakeRouter]:
    return [FakeRouter("198.51.100.%d" % (i + 1), **extra) for i in range(count)]


def run(path: FakePath, **params: t.Any) -> TraceReport:
    values: t.Dict[str, t.Any] = {"destination": path.destination, "family": path.family, "method": path.method}
    values.update(params)
    return trace(path, path.clock, TraceParams(**values))


def test_path_matches_the_chain_hop_by_hop() -> None:
    path = FakePath(FakeClock(), routers(6))
    report = run(path)
    assert report.reached is True and report.stop_reason == "reached"
    assert report.path == ["198.51.100.%d" % i for i in range(1, 7)] + [DEST]
    assert [hop.status for hop in report.hops] == ["ok"] * 6 + ["destination"]
    assert all(len(hop.probes) == 3 for hop in report.hops)
    assert all(p.rtt_ms is not None and p.rtt_ms > 0 for hop in report.hops for p in hop.probes)
    assert report.hops[0].probes[0].icmp_type == 11
    assert report.hops[-1].probes[0].icmp_type == 0


def test_nothing_is_sent_past_the_destination_after_it_answered() -> None:
    path = FakePath(FakeClock(), routers(2))
    report = run(path, window=8)
    ttls = [spec.ttl for _when, spec in path.sent]
    # The first window goes out at once; only the destination TTL gets the extra queries.
    assert ttls.count(3) == 3
    assert all(ttls.count(ttl) == 1 for ttl in range(4, 9))
    assert max(ttls) == 8
    assert report.probes_sent == len(path.sent)


def test_many_ttls_in_flight_at_once() -> None:
    path = FakePath(FakeClock(), routers(10))
    run(path, window=8)
    first_instant = [spec.ttl for when, spec in path.sent if when == path.sent[0][0]]
    assert first_instant == list(range(1, 9))


def test_queries_of_a_hop_are_spread_over_time() -> None:
    path = FakePath(FakeClock(), routers(3))
    run(path, query_gap_s=0.02)
    times = sorted(when for when, spec in path.sent if spec.ttl == 2)
    assert len(times) == 3
    assert all(b - a >= 0.02e9 - 1 for a, b in zip(times, times[1:]))


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("tokens", [0.0, 1.0, 6.0])
def test_linux_default_rate_limits_cause_no_false_loss(family: int, tokens: float) -> None:
    """Every router: burst 6, one token per second, partly or fully drained by earlier runs."""
    clock = FakeClock()
    chain = routers(6, burst=6.0, per_s=1.0)
    for router in chain:
        router.tokens, router.last_ns = tokens, clock.now_ns
    path = FakePath(clock, chain, family=family)
    report = run(path, queries=3)
    assert report.reached
    assert all(p.address is not None for hop in report.hops for p in hop.probes)
    assert [hop.status for hop in report.hops][:-1] == ["ok"] * 6


def test_total_loss_at_a_hop_with_answering_successors_is_filtered_not_broken() -> None:
    chain = routers(5)
    chain[1].silent = True  # hop 2 never sends time exceeded (a filter on the router)
    report = run(FakePath(FakeClock(), chain))
    hop2 = report.hops[1]
    assert hop2.status == "filtered"
    assert hop2.address is None
    assert {p.kind for p in hop2.probes} == {"filtered"}
    assert report.reached is True
    assert report.path[1] is None and report.path[2] == "198.51.100.3"


def test_a_drained_rate_limiter_still_answers_its_first_burst_so_it_is_not_filtered() -> None:
    """Linux lets a burst of 6 through before the bucket is empty: with more probes than that
    at one hop, some answer, so the hop is rate_limited (partial), never filtered."""
    clock = FakeClock()
    chain = routers(4)
    chain[1].burst, chain[1].per_s = 6.0, 0.0001
    report = run(FakePath(clock, chain), queries=10)
    hop2 = report.hops[1]
    assert hop2.status == "rate_limited"
    assert sum(1 for p in hop2.probes if p.kind == "ttl_exceeded") == 6
    assert {p.kind for p in hop2.probes} == {"ttl_exceeded", "rate_limited"}


def test_partial_answers_with_answering_successors_are_labelled_per_probe() -> None:
    clock = FakeClock()
    chain = routers(4)
    chain[2].burst, chain[2].per_s = 1.0, 0.0001  # one error, then nothing for hours
    report = run(FakePath(clock, chain))
    hop3 = report.hops[2]
    assert hop3.status == "rate_limited"
    assert sorted(p.kind for p in hop3.probes) == ["rate_limited", "rate_limited", "ttl_exceeded"]
    assert hop3.address == "198.51.100.3"


def test_unresponsive_tail_gives_up_after_max_silent_hops_quickly() -> None:
    clock = FakeClock()
    path = FakePath(clock, routers(8), blackhole_after=2)
    report = run(path, max_hops=30, max_silent_hops=3, timeout_s=1.0)
    assert report.reached is False
    assert report.stop_reason == "silent_tail"
    assert len(report.hops) == 5  # 2 answering hops + 3 silent ones
    assert [hop.status for hop in report.hops] == ["ok", "ok", "silent", "silent", "silent"]
    assert {p.kind for hop in report.hops[2:] for p in hop.probes} == {"timeout"}
    assert report.elapsed_ms < 3000  # fake clock: the algorithm's own waits, not wall time
    assert max(spec.ttl for _w, spec in path.sent) <= 2 + 8


def test_silent_tail_from_the_first_hop_uses_the_full_timeout() -> None:
    report = run(FakePath(FakeClock(), routers(3), blackhole_after=0), max_silent_hops=2, timeout_s=2.0)
    assert report.stop_reason == "silent_tail"
    assert [hop.address for hop in report.hops] == [None, None]
    assert 2000 <= report.elapsed_ms < 5000


def test_silent_middle_is_not_a_tail_when_later_hops_answer() -> None:
    chain = routers(7)
    for index in (2, 3, 4):
        chain[index].silent = True
    report = run(FakePath(FakeClock(), chain), max_silent_hops=3)
    assert report.reached is True
    assert [hop.status for hop in report.hops[2:5]] == ["filtered"] * 3


def test_unreachable_from_a_router_ends_the_trace() -> None:
    report = run(FakePath(FakeClock(), routers(5), unreachable_at=3))
    assert report.reached is False
    assert report.stop_reason == "unreachable"
    # Hop 3 has no route: TTL 3 still expires there, TTL 4 gets its "host unreachable".
    assert report.hops[2].status == "ok"
    assert report.hops[-1].ttl == 4 and report.hops[-1].status == "unreachable"
    assert report.hops[-1].address == "198.51.100.3"
    assert report.hops[-1].probes[0].icmp_code == 1


def test_max_hops_bounds_the_trace() -> None:
    report = run(FakePath(FakeClock(), routers(10)), max_hops=4)
    assert report.stop_reason == "max_hops"
    assert len(report.hops) == 4 and not report.reached


def test_first_ttl_skips_near_hops() -> None:
    report = run(FakePath(FakeClock(), routers(5)), first_ttl=3)
    assert report.hops[0].ttl == 3
    assert report.path[0] == "198.51.100.3"


def test_udp_destination_rate_limit_costs_no_false_loss() -> None:
    """The destination answers UDP with rate-limited port unreachable (burst 6, 1/s)."""
    limit = FakeRouter("dest", burst=6.0, per_s=1.0)
    path = FakePath(FakeClock(), routers(6), method="udp", destination_limit=limit)
    report = run(path, window=4)
    assert report.reached
    assert all(p.address == DEST for p in report.hops[-1].probes)
    assert report.hops[-1].probes[0].icmp_type == 3 and report.hops[-1].probes[0].icmp_code == 3


def test_mpls_labels_are_returned_per_probe() -> None:
    chain = routers(3)
    chain[1].mpls = (MplsLabel(label=24001, tc=0, bottom_of_stack=True, ttl=1),)
    report = run(FakePath(FakeClock(), chain))
    probe = report.hops[1].probes[0].as_dict()
    assert probe["mpls"] == [{"label": 24001, "tc": 0, "bottom_of_stack": True, "ttl": 1}]
    assert report.hops[0].probes[0].as_dict()["mpls"] == []


def test_report_dict_has_every_key() -> None:
    data = run(FakePath(FakeClock(), routers(2))).as_dict()
    assert set(data) == {"destination", "family", "method", "mode", "hops", "path", "reached", "stop_reason",
                         "probes_sent", "elapsed_ms"}
    assert set(data["hops"][0]) == {"ttl", "address", "addresses", "status", "probes"}
    assert set(data["hops"][0]["probes"][0]) == {"address", "rtt_ms", "icmp_type", "icmp_code", "kind", "mpls"}


def test_ecmp_hop_lists_every_address() -> None:
    hop = Hop(2, (), "198.51.100.2", ("198.51.100.2", "198.51.100.22"), "ok")
    report = TraceReport(DEST, 4, "icmp", "raw", (hop,), True, "reached", 3, 1.0)
    assert traverses(report, "198.51.100.22")
    assert traverses(report, "198.51.100.16/28")
    assert not traverses(report, "2001:db8::/32")
    assert not traverses(report, "198.51.100.3")


@pytest.mark.parametrize(
    "change,option",
    [({"first_ttl": 0}, "first_ttl"), ({"max_hops": 300}, "max_hops"), ({"queries": 0}, "queries"),
     ({"timeout_s": 0.0}, "timeout"), ({"size": 10}, "size"), ({"max_silent_hops": 0}, "max_silent_hops")],
)
def test_bad_parameters_quote_the_value(change: t.Dict[str, t.Any], option: str) -> None:
    request = TraceRequest(target=DEST, **change)
    with pytest.raises(ParameterError) as caught:
        params_for(request, 4, DEST)
    assert caught.value.option == option
    assert repr(list(change.values())[0]) in str(caught.value)
