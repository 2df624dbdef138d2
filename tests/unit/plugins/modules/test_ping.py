"""The ping module in-process over the fake network: options, expectations, result shape."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import ping as engine
from ansible_collections.netdevops.icmp.plugins.modules import ping as ping_module

from tests.unit.fakes.icmp import FakeNetwork, Responder

RESULT_KEYS = {"target", "address", "family", "status", "sent", "received", "loss_pct", "rtt_ms", "duplicates",
               "late", "reply_ttl", "reachable", "reply_address", "errors", "error"}


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> FakeNetwork:
    net = FakeNetwork()
    net.responders["192.0.2.1"] = Responder(delay_s=0.002)
    net.responders["192.0.2.2"] = Responder(delay_s=0.030)
    net.responders["192.0.2.3"] = Responder(drop={0})
    net.responders["192.0.2.9"] = Responder(error=(3, 1, "198.51.100.1"))
    net.responders["2001:db8::1"] = Responder()

    def fake_ping(targets: t.Sequence[str], options: t.Any) -> t.Any:
        return engine.ping(targets, options, net, net.clock)

    monkeypatch.setattr(ping_module, "ping", fake_ping)
    return net


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        ping_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


def test_shape_and_numbers(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    args: t.Dict[str, t.Any] = {"targets": ["192.0.2.1", "2001:db8::1", "192.0.2.3", "nope.invalid"], "count": 2}
    if "inject_invocation" in PASS_VARS:  # ansible-core 2.21+ returns invocation only when asked; older always
        args["_ansible_inject_invocation"] = True
    result = run_module(capsys, args)
    assert result["failed"] is True  # nope.invalid; the other targets still ran
    assert result["changed"] is False
    assert [set(r) for r in result["results"]] == [RESULT_KEYS] * 4
    first, v6, lossy, nope = result["results"]
    assert first["rtt_ms"] == {"min": 2.0, "avg": 2.0, "max": 2.0, "mdev": 0.0}
    assert (v6["family"], v6["received"]) == ("ipv6", 2)
    assert (lossy["received"], lossy["loss_pct"]) == (1, 50.0)
    assert nope["rtt_ms"] is None and nope["error"] and nope["status"] == "error"
    assert (first["status"], first["reply_address"]) == ("reachable", "192.0.2.1")
    summary = result["summary"]
    assert (summary["targets"], summary["reachable"], summary["unreachable"], summary["errors"]) == (4, 3, 0, 1)
    assert result["invocation"]["module_args"]["targets"][0] == "192.0.2.1"


@pytest.mark.parametrize(
    "targets, expect, failed",
    [
        (["192.0.2.1", "192.0.2.9", "nope.invalid"], "reachable", True),
        (["192.0.2.1", "192.0.2.9", "nope.invalid"], "unreachable", True),
        (["192.0.2.1", "2001:db8::1"], "reachable", False),
    ],
)
def test_fast_exit_writes_what_exit_json_writes(capsys: pytest.CaptureFixture[str], network: FakeNetwork,
                                                monkeypatch: pytest.MonkeyPatch, targets: t.List[str], expect: str,
                                                failed: bool) -> None:
    """The C-encoder exit gives the same result as AnsibleModule.exit_json / fail_json."""
    args = {"targets": targets, "count": 1, "expect": expect}
    fast = run_module(capsys, args)
    monkeypatch.setattr(ping_module, "get_warning_messages", lambda: ("pending",))  # forces the general path
    general = run_module(capsys, args)
    for result in (fast, general):
        result["summary"].pop("elapsed_ms")
    general.pop("exception", None)  # fail_json's traceback, when tracebacks are enabled
    assert fast == general
    assert fast.get("failed", False) is failed
    assert len(fast["results"]) == len(targets)


def test_unresolvable_target_fails_the_task_but_others_ran(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    result = run_module(capsys, {"targets": ["192.0.2.1", "nope.invalid"], "count": 1})
    assert result["failed"] is True
    assert result["msg"] == "1 of 2 targets failed: nope.invalid: nope.invalid does not resolve: Name or service not known"
    assert result["results"][0]["received"] == 1


def test_check_mode_runs_the_probes(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    result = run_module(capsys, {"targets": ["192.0.2.1"], "count": 1, "_ansible_check_mode": True})
    assert result["results"][0]["received"] == 1 and result["changed"] is False


def test_thresholds_name_each_failing_target(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    result = run_module(capsys, {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.9"], "count": 2,
                                 "max_loss_pct": 10, "max_rtt_ms": 20, "timeout": 0.5})
    assert result["failed"] is True
    assert result["msg"] == (
        "3 of 4 targets failed: 192.0.2.2: average rtt 30 ms > max_rtt_ms 20; "
        "192.0.2.3: loss 50% > max_loss_pct 10 (sent 2, received 1, loss 50%); "
        "192.0.2.9 is unreachable (sent 2, received 0, loss 100%; 2 x host_unreachable from 198.51.100.1)"
    )
    assert result["results"][3]["errors"] == [
        {"type": 3, "code": 1, "name": "host_unreachable", "address": "198.51.100.1", "count": 2}
    ]


def test_expect_unreachable(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    result = run_module(capsys, {"targets": ["192.0.2.9"], "count": 1, "expect": "unreachable"})
    assert "failed" not in result or result["failed"] is False
    result = run_module(capsys, {"targets": ["192.0.2.1"], "count": 1, "expect": "unreachable"})
    assert result["msg"] == "1 of 1 targets failed: 192.0.2.1 answered but was expected to be unreachable (sent 1, received 1, loss 0%)"


@pytest.mark.parametrize(
    "args, message",
    [
        ({"count": -1}, "invalid count -1: send 1 to 100000 probes per target; nothing was sent"),
        ({"size": 70000}, "invalid size 70000: use 12 to 65507 bytes of ICMP payload for family auto"),
        ({"pattern": "zz"}, "invalid pattern 'zz': give hexadecimal bytes such as ff00; nothing was sent"),
        ({"max_loss_pct": -1}, "invalid max_loss_pct -1.0: use a percentage from 0 to 100; nothing was sent"),
        ({"max_loss_pct": 200}, "invalid max_loss_pct 200.0: use a percentage from 0 to 100"),
        ({"max_rtt_ms": "inf"}, "invalid max_rtt_ms inf"),
        ({"interval": "inf"}, "invalid interval inf: use 0 to 3600 seconds"),
        ({"interval": 1e9}, "invalid interval 1000000000.0"),
        ({"timeout": "nan"}, "invalid timeout nan"),
        ({"deadline": 1e9}, "invalid deadline 1000000000.0"),
        ({"rate": "inf"}, "invalid rate inf"),
        ({"count": 100001}, "invalid count 100001: send 1 to 100000 probes per target"),
        ({"targets": ["192.0.2.1"] * 200, "count": 60000}, "200 targets x 60000 probes is more than 10000000"),
        ({"targets": ["1.2.3"]}, "invalid targets '1.2.3': not a valid IPv4 address"),
        ({"targets": ["127.1"]}, "invalid targets '127.1': not a valid IPv4 address"),
        ({"targets": ["0x7f000001"]}, "invalid targets '0x7f000001': not a valid IPv4 address"),
        ({"targets": ["999.1.1.1"]}, "not a valid IPv4 address"),
        ({"targets": ["::gg"]}, "invalid targets '::gg': not a valid IPv6 address"),
        ({"targets": ["192.0.2.1", None]}, "invalid targets None: a null, not a string"),
        ({"targets": [["192.0.2.1"]]}, "invalid targets ['192.0.2.1']: a list, not a string"),
        ({"targets": [7]}, "invalid targets 7: a number, not a string"),
        ({"targets": []}, "targets is empty"),
        ({"df": "maybe"}, "value of df must be one of: do, want, dont, probe, got: maybe"),
    ],
)
def test_bad_options_fail_before_sending(capsys: pytest.CaptureFixture[str], network: FakeNetwork,
                                         args: t.Dict[str, t.Any], message: str) -> None:
    result = run_module(capsys, dict({"targets": ["192.0.2.1"]}, **args))
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["msg"].endswith("nothing was sent") or "must be one of" in message
    assert network.sockets == []


def test_permission_error_message(capsys: pytest.CaptureFixture[str], network: FakeNetwork) -> None:
    network.denied = True
    result = run_module(capsys, {"targets": ["192.0.2.1"]})
    assert result["failed"] is True
    assert "CAP_NET_RAW" in result["msg"]
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in result["msg"]
    assert result["ping_group_range"] == "1 0" and result["gid"] == 1000


def test_large_result_is_written_whole_and_in_order(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast exit encodes the results in slices of 2048: every slice boundary holds."""
    targets = ["198.51.100.%d" % (i % 250 + 1) for i in range(5000)]

    def fake_ping(names: t.Sequence[str], options: t.Any) -> engine.PingReport:
        results = [dict(target=name, address=name, family="ipv4", status="reachable", sent=1, received=1,
                        loss_pct=0.0, rtt_ms={"min": 0.1, "avg": 0.1, "max": 0.1, "mdev": 0.0}, duplicates=0,
                        late=index, reply_ttl=64, reachable=True, reply_address=name, errors=[], error=None)
                   for index, name in enumerate(names)]
        return engine.PingReport(results=results, elapsed_ms=1.0, mode={"ipv4": "raw"})

    monkeypatch.setattr(ping_module, "ping", fake_ping)
    monkeypatch.setattr(ping_module, "evaluate", lambda *args: [])
    result = run_module(capsys, {"targets": targets, "count": 1})
    assert [r["late"] for r in result["results"]] == list(range(5000))
    assert [r["target"] for r in result["results"]] == targets
    assert result["summary"]["targets"] == 5000 and result["changed"] is False
