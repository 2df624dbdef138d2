"""A local MTU limit (a tunnel whose MTU is set too high) over a fake path and a fake kernel route."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import LocalLimit
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import PmtuParams, discover, kernel_local_limit
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.kernel import is_tunnel, pick_route_device
from tests.unit.fakes.clock import FakeClock
from tests.unit.fakes.path import FakePath, FakeRouter

TUNNEL = LocalLimit(1450, "vxt0", 1500)


def kernel_route(path: FakePath, limit: LocalLimit) -> t.Callable[[], t.Optional[LocalLimit]]:
    """Like VXLAN: the route's MTU drops to ``limit.mtu`` once a larger probe went through the tunnel."""
    def check() -> t.Optional[LocalLimit]:
        return limit if any(spec.size > limit.mtu for _when, spec in path.sent) else None
    return check


def run(path: FakePath, limit: LocalLimit = TUNNEL) -> t.Any:
    params = PmtuParams(path.destination, path.family, max_mtu=1500, local_mtu=1500)
    return discover(path, path.clock, params, kernel_route(path, limit))


def test_tunnel_without_df_fragments_outside_yet_the_path_mtu_is_the_tunnel_limit() -> None:
    path = FakePath(FakeClock(), [FakeRouter("198.51.100.1")])  # the 1500 probe arrives, fragmented
    report = run(path)
    assert report.path_mtu == 1450
    assert report.local_limit == TUNNEL
    assert (report.black_hole, report.inferred, report.reported_by) == (False, False, None)
    assert "limited locally by interface vxt0" in report.message
    assert "set the interface MTU to 1450" in report.message
    assert report.as_dict()["local_limit"] == {"mtu": 1450, "interface": "vxt0", "interface_mtu": 1500}


def test_tunnel_with_df_drops_the_probe_and_it_is_a_local_limit_not_a_black_hole() -> None:
    path = FakePath(FakeClock(), [FakeRouter("198.51.100.1", mtu=1450, drop_ptb=True)])
    report = run(path)
    assert report.path_mtu == 1450 and report.local_limit == TUNNEL
    assert report.black_hole is False and "black hole" not in report.message
    assert [spec.size for _t, spec in path.sent if spec.size != 576] == [1500, 1500, 1450, 1450]


def test_a_route_mtu_a_router_reported_is_not_local() -> None:
    path = FakePath(FakeClock(), [FakeRouter("198.51.100.1"), FakeRouter("198.51.100.2", mtu=1400)])
    report = run(path, LocalLimit(1400, "eth0", 1500))
    assert report.path_mtu == 1400 and report.reported_by == "198.51.100.2"
    assert report.local_limit is None


def test_a_smaller_black_hole_further_on_wins_over_the_local_limit() -> None:
    routers = [FakeRouter("198.51.100.1", mtu=1450, drop_ptb=True), FakeRouter("198.51.100.2", mtu=1300, drop_ptb=True)]
    report = run(FakePath(FakeClock(), routers))
    assert report.path_mtu == 1300 and report.black_hole is True
    assert report.local_limit is None


def test_without_a_local_signal_nothing_changes() -> None:
    path = FakePath(FakeClock(), [FakeRouter("198.51.100.1")])
    params = PmtuParams(path.destination, 4, max_mtu=1500, local_mtu=1500)
    report = discover(path, path.clock, params, lambda: None)
    assert report.path_mtu == 1500 and report.local_limit is None
    assert report.as_dict()["local_limit"] is None


ROUTE4 = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
vxt0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
nl-h2\t000200C0\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
blk\t000000CB\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0
"""
ROUTE6 = (
    "20010db8000100000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001 vxt0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n"
)


@pytest.mark.parametrize("family,table,destination,device", [
    (4, ROUTE4, "203.0.113.202", "vxt0"),
    (4, ROUTE4, "192.0.2.2", "nl-h2"),
    (4, ROUTE4, "198.51.100.7", "eth0"),  # the default route; the reject route does not match
    (6, ROUTE6, "2001:db8:1::5", "vxt0"),
    (6, ROUTE6, "2001:db8:9::5", None),  # only a reject route
    (4, "garbage\n", "192.0.2.2", None),
])
def test_route_device_is_the_longest_usable_prefix(
        family: int, table: str, destination: str, device: t.Optional[str]) -> None:
    assert pick_route_device(table, family, destination) == device


def test_only_tunnels_count_as_devices(tmp_path) -> None:
    for name, kind, uevent in (("vxt0", "1", "DEVTYPE=vxlan\nINTERFACE=vxt0\n"), ("gre1", "778", ""),
                               ("wg0", "65534", "DEVTYPE=wireguard\n"), ("eth0", "1", "INTERFACE=eth0\n"),
                               ("veth1", "1", "")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "type").write_text(kind + "\n")
        (tmp_path / name / "uevent").write_text(uevent)
    found = {name: is_tunnel(name, root=str(tmp_path)) for name in ("vxt0", "gre1", "wg0", "eth0", "veth1", "nosuch")}
    assert found == {"vxt0": True, "gre1": True, "wg0": True, "eth0": False, "veth1": False, "nosuch": False}
    assert not is_tunnel("../etc", root=str(tmp_path)) and not is_tunnel(None)


class _CachedPmtuNetwork:
    """A veth whose route MTU is a PMTU a router reported earlier (still cached), not a tunnel."""

    def route_mtu(self, family, destination, source, interface):
        return 1300

    def route_device(self, family, destination):
        return "nl-r1"

    def is_tunnel(self, device):
        return False


def test_a_cached_pmtu_on_a_plain_device_is_not_a_local_limit() -> None:
    assert kernel_local_limit(4, "203.0.113.10", None, None, 1500, network=_CachedPmtuNetwork()) is None
