"""The pmtud module in-process: argument checks, expectation, result shape (offline: no packet is sent)."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import PmtuReport
from ansible_collections.netdevops.icmp.plugins.modules import pmtud as pmtud_module

KEYS = {"path_mtu", "local_mtu", "reported_by", "black_hole", "inferred", "reachable", "probes_sent",
        "elapsed_ms", "message", "destination", "family", "method", "mode", "target", "changed"}


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        pmtud_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


def fake_report(path_mtu: t.Optional[int], black_hole: bool = False) -> PmtuReport:
    return PmtuReport("192.0.2.9", 4, "icmp", "raw", path_mtu, 1500, None, black_hole, black_hole,
                      path_mtu is not None, 7, 12.5, "path MTU to 192.0.2.9 is %s" % path_mtu)


def test_options_reach_the_engine_and_the_report_is_returned(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline: the engine is replaced; the real UDP run over loopback is an integration test."""
    requests = []

    def fake_measure(request: t.Any) -> PmtuReport:
        requests.append(request)
        return fake_report(9000)

    monkeypatch.setattr(pmtud_module, "measure", fake_measure)
    result = run_module(capsys, {"target": "192.0.2.9", "method": "udp", "privileged": "unprivileged",
                                 "max_mtu": 9000, "port": 9})
    assert set(result) >= KEYS
    assert result["changed"] is False and result["path_mtu"] == 9000
    (request,) = requests
    assert (request.target, request.method, request.privileged, request.max_mtu, request.port) == (
        "192.0.2.9", "udp", "unprivileged", 9000, 9)


def test_expect_min_mtu_fails_with_the_numbers(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmtud_module, "measure", lambda request: fake_report(1280, black_hole=True))
    result = run_module(capsys, {"target": "192.0.2.9", "expect_min_mtu": 1400})
    assert result["failed"] is True
    assert "is 1280, expected at least 1400" in result["msg"]
    assert result["path_mtu"] == 1280 and result["black_hole"] is True


def test_expectation_met_passes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmtud_module, "measure", lambda request: fake_report(1500))
    result = run_module(capsys, {"target": "192.0.2.9", "expect_min_mtu": 1400})
    assert "failed" not in result
    assert set(result) >= KEYS


def test_unmeasurable_path_fails_the_expectation(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmtud_module, "measure", lambda request: fake_report(None))
    result = run_module(capsys, {"target": "192.0.2.9", "expect_min_mtu": 576})
    assert result["failed"] is True and result["path_mtu"] is None


@pytest.mark.parametrize(
    "args,quoted",
    [
        ({"target": "127.0.0.1", "min_mtu": 10, "method": "udp", "privileged": "unprivileged"}, "min_mtu 10"),
        ({"target": "127.0.0.1", "min_mtu": 1400, "max_mtu": 1300, "method": "udp", "privileged": "unprivileged"}, "max_mtu 1300"),
        ({"target": "127.0.0.1", "timeout": 0, "method": "udp", "privileged": "unprivileged"}, "timeout 0.0"),
        ({"target": "127.0.0.1", "port": 70000}, "port=70000"),
        ({"target": "no-such-host.invalid"}, "no-such-host.invalid does not resolve"),
        ({"target": "127.0.0.1", "family": "ipv6"}, "is an IPv4 address but family is ipv6"),
    ],
)
def test_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any], quoted: str) -> None:
    result = run_module(capsys, args)
    assert result["failed"] is True
    assert quoted in result["msg"]
    assert "Traceback" not in result["msg"]
