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


@pytest.mark.parametrize("option,value,quoted", [
    ("table", "bad;name", "'bad;name'"), ("chain_prefix", "-J ACCEPT", "'-J ACCEPT'"), ("log_group", 0, "log_group 0"),
    ("duration", 0, "duration 0.0"), ("duration", 4000, "duration 4000.0"), ("max_packets", 0, "max_packets 0"),
])
def test_drop_log_bad_input_fails_clearly_before_reading_anything(capsys, monkeypatch, option, value, quoted):
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends

    monkeypatch.setattr(backends, "make_backend", lambda *args: pytest.fail("read before the input was checked"))
    result = run_module(capsys, {"drop_log": dict({"duration": 1}, **{option: value})})
    assert result["failed"] is True and result["msg"].startswith("drop_log: ") and quoted in result["msg"]


def test_drop_log_reads_the_policy_then_the_group_and_returns_drops_per_rule(capsys, monkeypatch):
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, model, nflog
    from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner
    from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.test_droplog import ANY_ECHO, V4
    from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.test_hits import _nft_json

    runner = FakeRunner([(("nft", "-j", "list", "ruleset"), 0, _nft_json(model.Policy.build([ANY_ECHO])), "")])
    made = []
    monkeypatch.setattr(backends, "make_backend", lambda *args: made.append(args) or backends.NftBackend(runner))
    calls = []

    def read_group(group, duration_s, max_packets):
        calls.append((group, duration_s, max_packets))
        return nflog.Reading([V4] * 10, 0, False, 1.5)

    monkeypatch.setattr(nflog, "read_group", read_group)
    result = run_module(capsys, {"drop_log": {"duration": 1.5, "log_group": 77, "backend": "nftables"}})
    runner.assert_done()
    assert made[0][-1] == 77 and calls == [(77, 1.5, 10000)]
    log = result["drop_log"]
    assert (log["backend"], log["log_group"], log["packets"], log["duration_s"]) == ("nftables", 77, 10, 1.5)
    assert [(d["rule"], d["type"], d["source"], d["packets"]) for d in log["drops"]] == [
        (ANY_ECHO.text(), 8, "127.0.0.1", 10)]


def test_drop_log_is_null_without_the_option(capsys) -> None:
    assert run_module(capsys, {})["drop_log"] is None
