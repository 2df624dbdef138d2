"""The PMTU search over a fake path and a fake clock: PTB jumps, black holes, edge cases."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import (
    PmtuParams,
    PmtuRequest,
    PmtuSearch,
    discover,
    params_for,
)
from tests.unit.fakes.clock import FakeClock
from tests.unit.fakes.path import FakePath, FakeRouter

LINUX_LIMIT = {"burst": 6.0, "per_s": 1.0}


def chain(mtus: t.Sequence[int], **router: t.Any) -> t.List[FakeRouter]:
    return [FakeRouter("198.51.100.%d" % (i + 1), mtu=m, **router) for i, m in enumerate(mtus)]


def run(path: FakePath, **params: t.Any) -> t.Any:
    values: t.Dict[str, t.Any] = {"destination": path.destination, "family": path.family, "max_mtu": 1500,
                                  "local_mtu": 1500}
    values.update(params)
    return discover(path, path.clock, PmtuParams(**values))


def test_path_without_bottleneck_answers_in_one_round() -> None:
    clock = FakeClock()
    path = FakePath(clock, chain([1500, 1500, 1500]))
    report = run(path)
    assert report.path_mtu == 1500
    assert (report.black_hole, report.inferred, report.reported_by) == (False, False, None)
    assert report.probes_sent == 3  # confirmation probe + two copies of 1500
    assert report.elapsed_ms < 10


def test_ptb_jumps_straight_to_the_reported_mtu() -> None:
    clock = FakeClock()
    routers = chain([1500, 1400, 1500, 1280, 1500])
    report = run(FakePath(clock, routers))
    assert report.path_mtu == 1280
    assert report.reported_by == "198.51.100.4"
    assert report.black_hole is False and report.inferred is False
    assert "reported by 198.51.100.4" in report.message


def test_ptb_rounds_probe_exactly_the_reported_sizes() -> None:
    clock = FakeClock()
    path = FakePath(clock, chain([1500, 1400, 1500, 1280, 1500]))
    run(path)
    big = [spec.size for _t, spec in path.sent if spec.size != 576]
    assert big == [1500, 1500, 1400, 1400, 1280, 1280]


@pytest.mark.parametrize("family,min_mtu", [(4, 576), (6, 1280)])
def test_black_hole_is_found_flagged_and_exact(family: int, min_mtu: int) -> None:
    clock = FakeClock()
    routers = chain([1500, 1500, 1342, 1500], drop_ptb=True)
    path = FakePath(clock, routers, family=family)
    report = run(path, min_mtu=min_mtu)
    assert report.path_mtu == 1342
    assert report.black_hole is True and report.inferred is True
    assert report.reported_by is None
    assert "being dropped" in report.message
    assert ("fragmentation needed" if family == 4 else "packet too big") in report.message
    # Every round kept a small confirmation probe flowing.
    assert sum(1 for _t, spec in path.sent if spec.size == min_mtu) >= 3
    # Fast: a handful of short rounds, not a timeout per size.
    assert report.elapsed_ms < 2000


def test_black_hole_behind_a_reporting_router() -> None:
    """Hop 2 reports 1400; hop 4 silently drops anything over 1300."""
    clock = FakeClock()
    routers = chain([1500, 1400, 1500, 1500])
    routers.append(FakeRouter("198.51.100.9", mtu=1300, drop_ptb=True))
    report = run(FakePath(clock, routers))
    assert report.path_mtu == 1300
    assert report.black_hole is True
    assert report.reported_by == "198.51.100.2"


def test_rate_limited_ptb_still_gives_the_right_mtu() -> None:
    """The bottleneck router has no tokens left for the first PTB: a search, then exact."""
    clock = FakeClock()
    routers = chain([1500, 1400, 1500], burst=1.0, per_s=0.001)
    routers[1].tokens, routers[1].last_ns = 0.0, clock.now_ns
    report = run(FakePath(clock, routers))
    assert report.path_mtu == 1400


def test_destination_silent_is_not_a_black_hole() -> None:
    clock = FakeClock()
    report = run(FakePath(clock, chain([1500, 1500]), destination_answers=False), timeout_s=1.0)
    assert report.reachable is False
    assert report.path_mtu is None
    assert report.black_hole is False
    assert "did not answer" in report.message
    assert report.elapsed_ms <= 2100  # two rounds of the one-second timeout at most


def test_max_mtu_over_the_interface_uses_the_local_error() -> None:
    clock = FakeClock()
    path = FakePath(clock, chain([9000, 9000]), local_mtu=1500)
    report = run(path, max_mtu=9000)
    assert report.path_mtu == 1500
    assert report.black_hole is False


def udp_params(path: FakePath) -> PmtuParams:
    return params_for(PmtuRequest(path.destination, method="udp"), path.family, path.destination, 1500)


def udp_path(mtus: t.Sequence[int], tokens: float, **router: t.Any) -> FakePath:
    clock = FakeClock()
    limit = FakeRouter("dest", **LINUX_LIMIT)  # type: ignore[arg-type]
    limit.tokens, limit.last_ns = tokens, clock.now_ns  # drained by earlier runs, or full
    return FakePath(clock, chain(mtus, **router), method="udp", destination_limit=limit)


@pytest.mark.parametrize("tokens", [0.0, 1.0, 6.0])
def test_udp_black_hole_within_five_seconds_despite_the_destination_rate_limit(tokens: float) -> None:
    path = udp_path([1500, 1342, 1500], tokens, drop_ptb=True)
    report = discover(path, path.clock, udp_params(path))
    assert report.path_mtu == 1342 and report.black_hole is True
    assert report.elapsed_ms <= 5000


@pytest.mark.parametrize("tokens", [0.0, 1.0, 6.0])
def test_udp_normal_path_within_half_a_second_with_a_full_bucket(tokens: float) -> None:
    path = udp_path([1500, 1400, 1500, 1280], tokens)
    report = discover(path, path.clock, udp_params(path))
    assert report.path_mtu == 1280 and report.black_hole is False
    assert report.reported_by == "198.51.100.4"
    assert report.elapsed_ms <= (500 if tokens == 6.0 else 2500)  # a drained bucket costs a refill


def test_udp_sizes_go_largest_first_and_the_confirmation_last() -> None:
    path = udp_path([1500, 1342, 1500], 6.0, drop_ptb=True)
    discover(path, path.clock, udp_params(path))
    first_table = [spec.size for _when, spec in path.sent][2:]
    table = first_table[:first_table.index(576) + 1]
    assert table == sorted(table, reverse=True) and table[-1] == 576 and len(table) > 3


def test_udp_round_with_every_answer_withheld_is_repeated_after_a_token_refills() -> None:
    path = udp_path([1500, 1342, 1500], 1.0, drop_ptb=True)  # one token: the first round spends it
    report = discover(path, path.clock, udp_params(path))
    assert report.path_mtu == 1342
    starts = sorted({when for when, _spec in path.sent})
    assert any(b - a >= 0.99e9 for a, b in zip(starts, starts[1:]))


def test_table_covers_plateaus_and_the_gap() -> None:
    search = PmtuSearch(FakePath(FakeClock(), []), FakeClock(), PmtuParams("x", 4))
    sizes = search._table(576, 1499)
    assert 1499 in sizes and 1492 in sizes and 1280 in sizes
    assert 576 not in sizes
    assert len(sizes) <= 16 + 1 + 15
    assert search._table(1000, 1001) == [1001]


@pytest.mark.parametrize("family,min_mtu", [(4, 576), (6, 1280)])
def test_black_hole_says_where_reports_stop(family: int, min_mtu: int) -> None:
    routers = chain([1500, 1500, 1342, 1500], drop_ptb=True)  # hop 3 forwards onto a 1342 link
    report = run(FakePath(FakeClock(), routers, family=family), min_mtu=min_mtu)
    assert report.path_mtu == 1342 and report.black_hole is True
    assert (report.last_full_size_hop.ttl, report.last_full_size_hop.address) == (3, "198.51.100.3")
    assert (report.first_vanishing_hop.ttl, report.first_vanishing_hop.address) == (4, "198.51.100.4")
    assert "reports stop after hop 3 (198.51.100.3), the last to answer a 1343-byte probe" in report.message
    assert "from hop 4 (198.51.100.4) on, 1343-byte probes vanish" in report.message
    data = report.as_dict()
    assert data["last_full_size_hop"] == {"ttl": 3, "address": "198.51.100.3"}
    assert data["first_vanishing_hop"] == {"ttl": 4, "address": "198.51.100.4"}
    assert report.elapsed_ms < 2500


def test_black_hole_on_the_last_link_vanishes_at_the_destination() -> None:
    routers = chain([1500, 1500, 1400], drop_ptb=True)
    report = run(FakePath(FakeClock(), routers))
    assert report.path_mtu == 1400
    assert report.last_full_size_hop is not None and report.last_full_size_hop.ttl == 3
    assert report.first_vanishing_hop is not None
    assert (report.first_vanishing_hop.ttl, report.first_vanishing_hop.address) == (4, "203.0.113.9")


def test_a_path_without_black_hole_names_no_hops() -> None:
    report = run(FakePath(FakeClock(), chain([1500, 1400, 1500])))
    assert report.black_hole is False
    assert report.last_full_size_hop is None and report.first_vanishing_hop is None
    assert report.as_dict()["first_vanishing_hop"] is None
