"""The traceroute module in-process: expectations, messages, result shape (offline: no packet is sent)."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import Hop, ProbeResult, TraceReport
from ansible_collections.netdevops.icmp.plugins.modules import traceroute as traceroute_module

KEYS = {"hops", "path", "reached", "destination", "elapsed_ms", "stop_reason", "probes_sent", "family",
        "method", "mode", "target", "changed"}


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        traceroute_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


def fake_report(reached: bool = True) -> TraceReport:
    def hop(ttl: int, address: t.Optional[str]) -> Hop:
        probe = ProbeResult(ttl, address, 0.1 if address else None, "ttl_exceeded" if address else "timeout",
                            11 if address else None, 0 if address else None)
        return Hop(ttl, (probe,), address, (address,) if address else (), "ok" if address else "silent")

    hops = (hop(1, "198.51.100.1"), hop(2, None), hop(3, "203.0.113.9" if reached else None))
    return TraceReport("203.0.113.9", 4, "icmp", "raw", hops, reached, "reached" if reached else "silent_tail",
                       3, 5.0)


def test_options_reach_the_engine_and_expectations_pass(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline: the engine is replaced; the real UDP trace over loopback is an integration test."""
    requests = []

    def fake_trace(request: t.Any) -> TraceReport:
        requests.append(request)
        return fake_report()

    monkeypatch.setattr(traceroute_module, "run_trace", fake_trace)
    result = run_module(capsys, {"target": "203.0.113.9", "method": "udp", "privileged": "unprivileged",
                                 "expect_reached": True, "must_traverse": ["198.51.100.0/24"], "max_hops_expected": 3})
    assert set(result) >= KEYS
    assert "failed" not in result
    assert result["reached"] is True and result["path"] == ["198.51.100.1", None, "203.0.113.9"]
    assert result["changed"] is False
    (request,) = requests
    assert (request.target, request.method, request.privileged) == ("203.0.113.9", "udp", "unprivileged")


def test_not_reached_fails_and_shows_the_path(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traceroute_module, "run_trace", lambda request: fake_report(reached=False))
    result = run_module(capsys, {"target": "203.0.113.9", "expect_reached": True})
    assert result["failed"] is True
    assert "203.0.113.9 was not reached" in result["msg"]
    assert "path found: 1 198.51.100.1, 2 *, 3 *" in result["msg"]
    assert result["path"] == ["198.51.100.1", None, None]


def test_must_traverse_and_hop_limit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traceroute_module, "run_trace", lambda request: fake_report())
    result = run_module(capsys, {"target": "203.0.113.9", "must_traverse": ["198.51.100.0/24", "192.0.2.7"],
                                 "max_hops_expected": 2})
    assert result["failed"] is True
    assert "no hop in 192.0.2.7" in result["msg"]
    assert "198.51.100.0/24" not in result["msg"].split(";")[0]
    assert "reached after 3 hops, expected at most 2" in result["msg"]


def test_met_expectations_pass(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traceroute_module, "run_trace", lambda request: fake_report())
    result = run_module(capsys, {"target": "203.0.113.9", "must_traverse": ["198.51.100.1"], "expect_reached": True,
                                 "max_hops_expected": 3})
    assert "failed" not in result


def test_expect_not_reached(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traceroute_module, "run_trace", lambda request: fake_report())
    result = run_module(capsys, {"target": "203.0.113.9", "expect_reached": False})
    assert result["failed"] is True and "was reached" in result["msg"]


@pytest.mark.parametrize(
    "args,quoted",
    [
        ({"must_traverse": ["10.0.0.0/33"]}, "'10.0.0.0/33' is not an address or CIDR"),
        ({"port": 0}, "port=0"),
        ({"max_hops": 999, "method": "udp", "privileged": "unprivileged"}, "max_hops 999"),
        ({"queries": 50, "method": "udp", "privileged": "unprivileged"}, "queries 50"),
        ({"size": 12, "method": "udp", "privileged": "unprivileged"}, "size 12"),
        ({"method": "tcp", "privileged": "unprivileged"}, "TCP SYN probes need raw sockets"),
    ],
)
def test_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any], quoted: str) -> None:
    result = run_module(capsys, dict({"target": "127.0.0.1"}, **args))
    assert result["failed"] is True
    assert quoted in result["msg"]
