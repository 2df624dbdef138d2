"""The PMTU search over a fake path and a fake clock: PTB jumps, black holes, edge cases."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import PmtuParams, PmtuSearch, discover
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


def test_udp_search_paces_one_size_per_second_against_the_destination_rate_limit() -> None:
    clock = FakeClock()
    routers = chain([1500, 1280, 1500], drop_ptb=True)
    limit = FakeRouter("dest", **LINUX_LIMIT)  # type: ignore[arg-type]
    path = FakePath(clock, routers, method="udp", destination_limit=limit)
    report = run(path, method="udp", fanout=1, copies=1, confirm_every_round=False, min_round_s=1.0)
    assert report.path_mtu == 1280
    assert report.black_hole is True
    times = [when for when, _spec in path.sent]
    assert all(b - a >= 0.99e9 for a, b in zip(times[2:], times[3:]))


def test_table_covers_plateaus_and_the_gap() -> None:
    search = PmtuSearch(FakePath(FakeClock(), []), FakeClock(), PmtuParams("x", 4))
    sizes = search._table(576, 1499)
    assert 1499 in sizes and 1492 in sizes and 1280 in sizes
    assert 576 not in sizes
    assert len(sizes) <= 16 + 1 + 15
    assert search._table(1000, 1001) == [1001]
