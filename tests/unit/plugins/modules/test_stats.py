"""The stats module end to end in-process: argument handling and result shape."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.modules import stats as stats_module


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        stats_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


def test_reads_this_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(capsys, {})
    assert result["changed"] is False
    assert result["counters"]["ipv4"]["available"] is True
    assert isinstance(result["counters"]["ipv4"]["in_msgs"], int)
    assert set(result["sysctls"]) == {"ipv4", "ipv6"}
    assert result["delta"] is None and result["rate_per_s"] is None and result["interval_s"] is None


def test_interval_returns_deltas(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(capsys, {"interval": 0.01})
    assert result["interval_s"] is not None and result["interval_s"] >= 0.01
    assert isinstance(result["delta"]["ipv4"]["in_msgs"], int)
    assert "in_msgs" in result["rate_per_s"]["ipv4"]


@pytest.mark.parametrize("bad", [-1, 99999])
def test_bad_interval_is_a_clear_error(capsys: pytest.CaptureFixture[str], bad: float) -> None:
    result = run_module(capsys, {"interval": bad})
    assert result["failed"] is True
    assert "interval=%r" % float(bad) in result["msg"] and "between 0 and 3600" in result["msg"]


@pytest.mark.parametrize("option,value", [("table", "bad;name"), ("chain_prefix", "-J ACCEPT")])
def test_policy_hits_bad_names_fail_clearly_before_running_anything(capsys, option, value):
    result = run_module(capsys, {"policy_hits": {option: value}})
    assert result["failed"] is True and result["msg"].startswith("policy_hits: ") and repr(value) in result["msg"]


def test_policy_hits_with_an_interval_returns_the_counts_and_their_change(capsys, monkeypatch):
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends
    from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner
    from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.test_hits import (
        POLICY, _nft_json, _with_counters)

    listings = [_with_counters(_nft_json(POLICY), {10: (4, 336)}), _with_counters(_nft_json(POLICY), {10: (14, 1176)})]
    runner = FakeRunner([(("nft", "-j", "list", "ruleset"), 0, text, "") for text in listings])
    monkeypatch.setattr(backends, "make_backend", lambda *args: backends.NftBackend(runner))
    result = run_module(capsys, {"interval": 0.01, "policy_hits": {"backend": "nftables"}})
    runner.assert_done()
    hits = result["policy_hits"]
    assert hits["backend"] == "nftables" and hits["interval_s"] >= 0.01
    echo = "ipv4 input type echo-request log 'echo ' drop"
    assert [(row["rule"], row["packets"]) for row in hits["hits"]][0] == (echo, 14)
    delta = {row["rule"]: row for row in hits["delta"]}
    assert delta[echo]["packets"] == 10 and delta[echo]["dropped_bytes"] == 840 and delta[echo]["packets_per_s"] > 0
    assert result["counters"]["ipv4"]["available"] is True
