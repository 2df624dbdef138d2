"""The ping algorithm and the event loop over the fake network and the fake clock."""
from __future__ import annotations

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import ping as engine
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, SocketPermissionError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import PingOptions, ProbeOptions

from tests.unit.fakes.icmp import FakeNetwork, Responder


def options(**kw: object) -> PingOptions:
    probe_keys = {"timeout_s", "size", "family", "privileged", "ttl", "df", "tos"}
    probe = ProbeOptions(**{k: v for k, v in kw.items() if k in probe_keys})  # type: ignore[arg-type]
    rest = {k: v for k, v in kw.items() if k not in probe_keys}
    rest.setdefault("interval_s", 0.1)
    return PingOptions(probe=probe, **rest)  # type: ignore[arg-type]


def by_target(report: engine.PingReport) -> dict:
    return {r["target"]: r for r in report.results}


@pytest.mark.parametrize("mode", ["raw", "unprivileged"])
def test_all_answer_with_exact_rtts(mode: str) -> None:
    net = FakeNetwork(mode=mode)
    net.responders["192.0.2.1"] = Responder(delay_s=0.002, ttl=61)
    net.responders["2001:db8::1"] = Responder(delay_s=0.004, ttl=60)
    report = engine.ping(["192.0.2.1", "2001:db8::1"], options(count=3), net, net.clock)
    v4, v6 = report.results
    assert (v4["sent"], v4["received"], v4["loss_pct"], v4["reachable"], v4["reply_ttl"]) == (3, 3, 0.0, True, 61)
    assert v4["rtt_ms"] is not None and (v4["rtt_ms"]["min"], v4["rtt_ms"]["avg"], v4["rtt_ms"]["max"], v4["rtt_ms"]["mdev"]) == (2.0, 2.0, 2.0, 0.0)
    assert v6["rtt_ms"] is not None and v6["rtt_ms"]["avg"] == 4.0 and v6["reply_ttl"] == 60
    assert (v4["family"], v6["family"]) == ("ipv4", "ipv6")
    assert report.mode == {"ipv4": mode, "ipv6": mode}
    assert report.summary == {"targets": 2, "reachable": 2, "unreachable": 0, "errors": 0, "elapsed_ms": report.elapsed_ms}
    # interval 0.1 s per target: the last probe leaves at 0.2 s, its answer 4 ms later
    assert report.elapsed_ms == pytest.approx(204.0)
    assert all(s.closed for s in net.sockets)


def test_one_socket_per_family_for_many_targets() -> None:
    net = FakeNetwork()
    targets = ["192.0.2.%d" % i for i in range(1, 201)]
    for address in targets:
        net.responders[address] = Responder()
    report = engine.ping(targets, options(count=2, rate=0), net, net.clock)
    assert len(net.sockets) == 1
    assert sum(r["received"] for r in report.results) == 400
    assert len({p[4:8] for p, _addr in net.sockets[0].sent}) == 400  # unique ident+seq per probe


def test_loss_timeout_and_mdev() -> None:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder(drop={1}, late_s={2: 0.003, 3: 0.005})
    report = engine.ping(["192.0.2.1"], options(count=4, timeout_s=0.5), net, net.clock)
    result = report.results[0]
    assert (result["sent"], result["received"], result["loss_pct"]) == (4, 3, 25.0)
    assert result["rtt_ms"] is not None
    assert (result["rtt_ms"]["min"], result["rtt_ms"]["avg"], result["rtt_ms"]["max"]) == (1.0, 3.0, 5.0)
    assert result["rtt_ms"]["mdev"] == pytest.approx(1.633, abs=0.001)


def test_late_reply_is_counted_not_mixed_in() -> None:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder(late_s={0: 0.8})
    report = engine.ping(["192.0.2.1"], options(count=2, interval_s=1.0, timeout_s=0.5), net, net.clock)
    result = report.results[0]
    assert (result["sent"], result["received"], result["late"]) == (2, 1, 1)
    assert result["rtt_ms"] is not None and result["rtt_ms"]["max"] == 1.0


def test_duplicates_are_counted_not_mixed_in() -> None:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder(duplicate={0, 1})
    result = engine.ping(["192.0.2.1"], options(count=2), net, net.clock).results[0]
    assert (result["received"], result["duplicates"], result["loss_pct"]) == (2, 2, 0.0)


@pytest.mark.parametrize("mode", ["raw", "unprivileged"])
def test_icmp_errors_are_data(mode: str) -> None:
    net = FakeNetwork(mode=mode)
    net.responders["192.0.2.9"] = Responder(error=(3, 1, "198.51.100.1"))
    net.responders["192.0.2.1"] = Responder()
    report = engine.ping(["192.0.2.9", "192.0.2.1"], options(count=2, timeout_s=5), net, net.clock)
    bad = by_target(report)["192.0.2.9"]
    assert (bad["sent"], bad["received"], bad["reachable"], bad["loss_pct"]) == (2, 0, False, 100.0)
    assert bad["errors"] == [
        {"type": 3, "code": 1, "name": "host_unreachable", "address": "198.51.100.1", "count": 2}
    ]
    # the errors answer the probes: the run does not sit out the 5 s timeout
    assert report.elapsed_ms < 1000


def test_ipv6_errors_through_quoted_datagram() -> None:
    net = FakeNetwork()
    net.responders["2001:db8::9"] = Responder(error=(2, 0, "2001:db8::1"))
    result = engine.ping(["2001:db8::9"], options(count=1), net, net.clock).results[0]
    assert [(e["name"], e["address"]) for e in result["errors"]] == [("packet_too_big", "2001:db8::1")]


def test_foreign_replies_are_not_taken_but_ours_from_another_address_count() -> None:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder(foreign_token=True)
    net.responders["192.0.2.2"] = Responder(reply_from="192.0.2.77")  # a VIP or NAT answering
    net.responders["192.0.2.3"] = Responder()
    report = engine.ping(["192.0.2.1", "192.0.2.2", "192.0.2.3"], options(count=2, timeout_s=0.2), net, net.clock)
    foreign, other_source, plain = report.results
    assert (foreign["received"], foreign["status"], foreign["reply_address"]) == (0, "unreachable", None)
    assert (other_source["received"], other_source["status"]) == (2, "reachable")
    assert other_source["reply_address"] == "192.0.2.77"
    assert plain["reply_address"] == "192.0.2.3"


def test_unresolvable_name_is_a_per_target_error() -> None:
    net = FakeNetwork()
    net.names["gw.example"] = [(4, "192.0.2.1")]
    net.responders["192.0.2.1"] = Responder()
    report = engine.ping(["nope.invalid", "gw.example"], options(count=1), net, net.clock)
    nope, good = report.results
    assert (nope["address"], nope["sent"], nope["reachable"], nope["rtt_ms"]) == (None, 0, False, None)
    assert nope["error"] == "nope.invalid does not resolve: Name or service not known"
    assert (good["address"], good["received"]) == ("192.0.2.1", 1)


def test_local_send_error_is_recorded() -> None:
    net = FakeNetwork()
    original_open = net.open

    def failing_open(*args: object) -> object:
        sock = original_open(*args)  # type: ignore[arg-type]
        sock.send_errors["192.0.2.5"] = 113  # EHOSTUNREACH
        sock.soft_failures = 2  # and the first two sends meet a full buffer: retried
        return sock

    net.open = failing_open  # type: ignore[method-assign]
    net.responders["192.0.2.1"] = Responder()
    report = engine.ping(["192.0.2.5", "192.0.2.1"], options(count=1), net, net.clock)
    bad, good = report.results
    assert (bad["sent"], bad["received"], [e["name"] for e in bad["errors"]]) == (1, 0, ["local_ehostunreach"])
    assert good["received"] == 1


def test_rate_paces_all_targets() -> None:
    net = FakeNetwork()
    targets = ["192.0.2.%d" % i for i in range(1, 11)]
    for address in targets:
        net.responders[address] = Responder(delay_s=0.0)
    report = engine.ping(targets, options(count=1, rate=100), net, net.clock)
    assert sum(r["received"] for r in report.results) == 10
    assert report.elapsed_ms == pytest.approx(90.0)  # 10 packets at 100 pps: last leaves at 90 ms


def test_deadline_stops_the_run() -> None:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder()
    report = engine.ping(["192.0.2.1"], options(count=10, interval_s=1.0, deadline_s=2.5), net, net.clock)
    result = report.results[0]
    assert (result["sent"], result["received"]) == (3, 3)
    assert report.elapsed_ms == pytest.approx(2500.0)


def test_deadline_stops_an_unpaced_burst() -> None:
    """With rate 0 every probe is due at once; the deadline still ends the sending."""
    net = FakeNetwork()
    net.send_cost_s = 0.001
    targets = ["192.0.2.%d" % (1 + i % 250) for i in range(5000)]
    report = engine.ping(targets, options(count=1, rate=0, deadline_s=2.0), net, net.clock)
    sent = sum(r["sent"] for r in report.results)
    assert 1900 <= sent <= 2000
    assert report.elapsed_ms == pytest.approx(2000.0, abs=1.0)


def test_permission_error_propagates() -> None:
    net = FakeNetwork()
    net.denied = True
    with pytest.raises(SocketPermissionError, match="CAP_NET_RAW") as info:
        engine.ping(["192.0.2.1"], options(count=1), net, net.clock)
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in str(info.value)
    assert "gid 1000" in str(info.value) and "'1 0'" in str(info.value)


@pytest.mark.parametrize(
    "kw, option",
    [
        ({"count": 0}, "count"),
        ({"count": -1}, "count"),
        ({"interval_s": -1.0}, "interval"),
        ({"rate": -5.0}, "rate"),
        ({"timeout_s": 0}, "timeout"),
        ({"deadline_s": 0}, "deadline"),
        ({"size": 65508}, "size"),
        ({"size": 65528, "family": "ipv6"}, "size"),
        ({"size": 4}, "size"),
        ({"df": "sometimes"}, "df"),
        ({"ttl": 0}, "ttl"),
        ({"tos": 256}, "tos"),
        ({"family": "ipx"}, "family"),
        ({"privileged": "maybe"}, "privileged"),
    ],
)
def test_bad_options_fail_before_any_packet(kw: dict, option: str) -> None:
    net = FakeNetwork()
    with pytest.raises(ParameterError, match="invalid %s" % option):
        engine.ping(["192.0.2.1"], options(**kw), net, net.clock)
    assert net.sockets == []


def test_size_just_fits_ipv6() -> None:
    engine.validate(options(size=65527, family="ipv6"))


def test_a_zone_that_is_no_interface_is_refused_before_sending() -> None:
    net = FakeNetwork()
    net.responders["fe80::1%eth0"] = Responder()
    with pytest.raises(ParameterError, match=r"invalid targets 'fe80::1%eth9': the zone 'eth9' is not an interface"):
        engine.ping(["fe80::1%eth0", "fe80::1%eth9"], options(count=1), net, net.clock)
    assert net.sockets == []
    report = engine.ping(["fe80::1%eth0", "fe80::2%2"], options(count=1), net, net.clock)
    assert [r["address"] for r in report.results] == ["fe80::1%eth0", "fe80::2%2"]
