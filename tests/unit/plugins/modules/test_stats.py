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
