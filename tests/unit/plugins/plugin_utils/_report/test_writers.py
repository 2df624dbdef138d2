"""Report writers on pre, post and drift runs: JSON against its schema, JUnit by an XML parser,
Prometheus text by prometheus_client's parser, HTML matrix cells."""
from __future__ import annotations

import datetime
import json
import re
import typing as t
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.filter.drill_report_hosts import drill_report_hosts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import checks, compare, drift, html, model, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.fixtures import (
    DESIRED, PLAN, gathered, ping_item, ping_result, results, rule)

# What ping's capture option returned beside a run whose echo to 203.0.113.10 got no answer.
CAPTURE = {
    "packets": 7, "by_direction": {"in": 2, "out": 5}, "kernel": {"packets": 7, "drops": 0},
    "by_type": [{"family": "ipv4", "type": 0, "code": 0, "name": "echo_reply", "direction": "in", "packets": 2},
                {"family": "ipv4", "type": 8, "code": 0, "name": "echo_request", "direction": "out", "packets": 5}],
    "top_sources": [{"address": "192.0.2.10", "packets": 5}, {"address": "203.0.113.20", "packets": 2}],
    "interfaces_seen": ["eth0"],
    "evidence": ["3 echo requests to 203.0.113.10 left eth0, no reply arrived",
                 "2 echo requests to 203.0.113.20 left eth0, 2 echo replies arrived"],
}
WHEN = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.timezone.utc)
with open(model.SCHEMA_PATH, encoding="utf-8") as _schema:
    VALIDATOR = jsonschema.Draft202012Validator(json.load(_schema))


# The hits of netdevops.icmp.policy state: gathered after 10 dropped pings (an older rule without counters last).
POLICY_HITS = [
    {"family": "ipv4", "direction": "input", "type": "echo-request", "code": None, "action": "drop", "rate": None,
     "burst": None, "log_prefix": None, "rule": "ipv4 input type echo-request drop", "packets": 10, "bytes": 840,
     "dropped_packets": 10, "dropped_bytes": 840},
    {"family": "ipv4", "direction": "input", "type": "destination-unreachable", "code": 4, "action": "accept",
     "rate": None, "burst": None, "log_prefix": None, "rule": "ipv4 input type destination-unreachable code 4 accept",
     "packets": 3, "bytes": 1680, "dropped_packets": 0, "dropped_bytes": 0},
    {"family": "ipv6", "direction": "input", "type": 148, "code": None, "action": "accept", "rate": None,
     "burst": None, "log_prefix": None, "rule": "ipv6 input type 148 accept", "packets": 0, "bytes": 0,
     "dropped_packets": 0, "dropped_bytes": 0},
    {"family": "ipv4", "direction": "input", "type": "echo-request", "code": None, "action": "accept", "rate": 10,
     "burst": 20, "log_prefix": None, "rule": "ipv4 input type echo-request limit 10/s accept",
     "packets": None, "bytes": None, "dropped_packets": None, "dropped_bytes": None},
]


def run_checks(**over: t.Any) -> t.List[t.Dict[str, t.Any]]:
    return checks.build_checks(PLAN, **results(**over))


def pre_report() -> t.Dict[str, t.Any]:
    broken = ping_result(ping_item("203.0.113.10", received=0), ping_item("203.0.113.20"), ping_item("192.0.2.99", received=0))
    return model.build_report({"h1": {"checks": run_checks(ping=broken), "capture": [CAPTURE, None]},
                               "h2": {"checks": run_checks()}},
                              kind="change_validation", phase="pre", run_id="CHG-1", generated_at=WHEN)


def post_report() -> t.Dict[str, t.Any]:
    """h1: 203.0.113.10 newly unreachable; h2: 203.0.113.20 failed before and after (not a regression)."""
    lossy = ping_item("203.0.113.20", received=3)  # 40% loss > max_loss_pct 20
    before_h2 = run_checks(ping=ping_result(ping_item("203.0.113.10"), lossy, ping_item("192.0.2.99", received=0)))
    after_h1 = run_checks(ping=ping_result(ping_item("203.0.113.10", received=0), ping_item("203.0.113.20"),
                                           ping_item("192.0.2.99", received=0)))
    h1 = compare.compare_run(after_h1, run_checks(), host="h1")
    h2 = compare.compare_run(before_h2, before_h2, host="h2")
    return model.build_report({"h1": {"checks": h1["checks"]}, "h2": {"checks": h2["checks"]}},
                              kind="change_validation", phase="post", run_id="CHG-1", generated_at=WHEN)


def drift_report() -> t.Dict[str, t.Any]:
    live = gathered(rules=[r for r in DESIRED["rules"] if r["type"] != "echo-request"] + [rule("ipv4", "timestamp-request")])
    return model.build_report({
        "r1": {"checks": run_checks(), "drift": drift.compare_policy(DESIRED, live)},
        "r2": {"checks": run_checks(), "drift": drift.compare_policy(DESIRED, gathered()), "policy_hits": POLICY_HITS},
        "r3": {"error": "the host did not finish its checks"},
    }, kind="drift_check", run_id="42", generated_at=WHEN)


def drill_report() -> t.Dict[str, t.Any]:
    results = [
        {"drill": "echo_blocked", "passed": True, "error": None,
         "diagnosis": "ICMP echo filtered towards 203.0.113.10: TCP answers <not host down>",
         "timeline": {"inject_s": 0.66, "detect_s": 4.58, "recover_s": 1.31},
         "details": {"target": "203.0.113.10", "verdict": "echo_filtered"}},
        {"drill": "policy_cutoff", "passed": False, "error": "push: boom", "diagnosis": "no diagnosis",
         "timeline": {"inject_s": 0.0, "detect_s": None, "recover_s": None}, "details": {}},
    ]
    hosts = drill_report_hosts(results, {"server_v4": "203.0.113.10"})
    return model.build_report(hosts, title="Disaster drills", run_id="demo", generated_at=WHEN)


REPORTS = {"pre": pre_report, "post": post_report, "drift": drift_report, "drill": drill_report}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_json_report_matches_its_schema(name: str) -> None:
    document = json.loads(writers.to_json(REPORTS[name]()))
    VALIDATOR.validate(document)
    assert document["schema_version"] == model.SCHEMA_VERSION


def test_schema_rejects_unknown_keys_and_bad_measurements() -> None:
    document = pre_report()
    bad = json.loads(json.dumps(document))
    bad["hosts"][0]["surprise"] = 1
    assert not VALIDATOR.is_valid(bad)
    bad = json.loads(json.dumps(document))
    bad["hosts"][0]["checks"][0]["measured"]["loss_pct"] = 101
    assert not VALIDATOR.is_valid(bad)


def junit(report: t.Dict[str, t.Any]) -> ET.Element:
    return ET.fromstring(writers.to_junit(report).encode())


def outcome(case: ET.Element) -> str:
    for element in ("failure", "error", "skipped"):
        if case.find(element) is not None:
            return element
    return "pass"


def test_junit_pre_run_fails_the_failed_check() -> None:
    root = junit(pre_report())
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in root.iter("testsuite")] == [
        ("h1", "5", "1"), ("h2", "5", "0")]
    cases = {(c.get("classname"), c.get("name")): outcome(c) for c in root.iter("testcase")}
    assert cases[("h1.ping", "ping 203.0.113.10")] == "failure"
    assert [k for k, v in cases.items() if v != "pass"] == [("h1.ping", "ping 203.0.113.10")]
    assert root.get("tests") == "10" and root.get("failures") == "1"


def test_junit_post_run_fails_regressions_and_skips_what_failed_before() -> None:
    root = junit(post_report())
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    regressed = cases[("h1.ping", "ping 203.0.113.10")]
    assert outcome(regressed) == "failure"
    assert regressed.find("failure").get("message") == "regressed: newly unreachable (loss 0% -> 100%)"
    still = cases[("h2.ping", "ping 203.0.113.20")]
    assert outcome(still) == "skipped"
    assert still.find("skipped").get("message").startswith("still failing, as before the change")
    assert (root.get("failures"), root.get("errors")) == ("1", "0")
    assert "skipped" not in root.attrib  # junit-10.xsd has no skipped on <testsuites>
    assert [s.get("skipped") for s in root.iter("testsuite")] == ["0", "1"]


def test_junit_drift_and_host_errors() -> None:
    root = junit(drift_report())
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert outcome(cases[("r1.drift", "policy drift")]) == "failure"
    assert outcome(cases[("r2.drift", "policy drift")]) == "pass"
    assert outcome(cases[("r3.host", "host")]) == "error"


def families(report: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return {f.name: f for f in text_string_to_metric_families(writers.to_prometheus(report))}


def samples(report: t.Dict[str, t.Any], name: str) -> t.Dict[t.Tuple[t.Tuple[str, str], ...], float]:
    """Values by their labels, without the ``report`` label every sample has."""
    return {tuple(sorted((k, v) for k, v in s.labels.items() if k != "report")): s.value
            for s in families(report)["netdevops_icmp_" + name].samples}


def test_prometheus_text_parses_with_every_metric_named_and_typed() -> None:
    for report in (pre_report(), post_report(), drift_report()):
        found = families(report)
        counters = ("netdevops_icmp_capture_packets", "netdevops_icmp_policy_rule_hits", "netdevops_icmp_policy_rule_dropped")
        kinds = {name: "counter" if name in counters else "gauge" for name in found}
        assert found and all(name.startswith("netdevops_icmp_") and f.type == kinds[name] for name, f in found.items())
        assert all(f.documentation for f in found.values())


def test_prometheus_values() -> None:
    pre = pre_report()
    loss = samples(pre, "ping_loss_ratio")
    assert loss[(("host", "h1"), ("target", "203.0.113.10"))] == 1.0
    assert loss[(("host", "h2"), ("target", "203.0.113.10"))] == 0.0
    assert samples(pre, "path_mtu_bytes")[(("host", "h1"), ("target", "203.0.113.10"))] == 1400
    assert samples(pre, "ping_rtt_seconds")[(("host", "h2"), ("stat", "avg"), ("target", "203.0.113.10"))] == 0.05 / 1000
    assert samples(pre, "last_run_timestamp_seconds")[(("host", "h1"),)] == WHEN.timestamp()
    assert "netdevops_icmp_check_regressions" not in families(pre)  # post runs only
    regressions = samples(post_report(), "check_regressions")
    assert regressions[(("host", "h1"), ("kind", "ping"), ("target", "203.0.113.10"))] == 1
    assert sum(regressions.values()) == 1
    report = drift_report()
    assert samples(report, "drift") == {(("host", "r1"),): 1, (("host", "r2"),): 0}
    assert samples(report, "drift_findings") == {(("host", "r1"), ("kind", "rule_added")): 1,
                                                 (("host", "r1"), ("kind", "rule_missing")): 2}
    assert samples(report, "host_passed")[(("host", "r3"),)] == 0


def test_capture_section_in_json_prometheus_and_html() -> None:
    pre = pre_report()
    h1 = pre["hosts"][0]
    assert pre["schema_version"] == "1.4.0" and pre["hosts"][1]["capture"] is None
    assert h1["capture"] == {
        "packets": 7, "by_direction": {"in": 2, "out": 5}, "by_type": CAPTURE["by_type"],
        "top_talkers": CAPTURE["top_sources"], "kernel_drops": 0, "interfaces": ["eth0"],
        "evidence": CAPTURE["evidence"]}
    assert samples(pre, "capture_packets") == {
        (("code", "0"), ("direction", "in"), ("family", "ipv4"), ("host", "h1"), ("type", "0")): 2,
        (("code", "0"), ("direction", "out"), ("family", "ipv4"), ("host", "h1"), ("type", "8")): 5}
    page = html.to_html(pre)
    row = page.split('data-capture-host="h1"', 1)[1].split("</tr>", 1)[0]
    assert "7 (2 / 5)" in row and "echo_request out &times;5" in row and "192.0.2.10 &times;5" in row
    assert "3 echo requests to 203.0.113.10 left eth0, no reply arrived" in row
    assert 'data-capture-host="h2"' not in page
    assert "<h2>Capture</h2>" not in html.to_html(drift_report())


@pytest.mark.parametrize("bad, message", [
    ("lots", "capture must be a capture result"),
    ({"packets": -1}, "capture packets must be a whole number >= 0, got -1"),
    ({"by_type": [{"family": "ipx", "type": 8, "code": 0, "direction": "out", "packets": 1}]}, "family ipv4 or ipv6"),
])
def test_bad_capture_input_names_the_host_and_value(bad: t.Any, message: str) -> None:
    with pytest.raises(model.ReportError, match="host h1: .*" + re.escape(message)):
        model.build_report({"h1": {"checks": [], "capture": bad}})


def test_policy_hits_in_json_and_prometheus_per_rule_and_schema_valid() -> None:
    report = model.build_report({"h1": {"checks": run_checks(), "policy_hits": POLICY_HITS}, "h2": {"checks": run_checks()}},
                                kind="drift_check", generated_at=WHEN)
    jsonschema.validate(json.loads(writers.to_json(report)), json.loads(open(model.SCHEMA_PATH).read()))
    assert report["hosts"][1]["policy_hits"] is None
    assert report["hosts"][0]["policy_hits"] == [
        {"rule": 1, "family": "ipv4", "direction": "input", "type": "echo-request", "code": None, "action": "drop",
         "packets": 10, "dropped_packets": 10},
        {"rule": 2, "family": "ipv4", "direction": "input", "type": "destination-unreachable", "code": 4,
         "action": "accept", "packets": 3, "dropped_packets": 0},
        {"rule": 3, "family": "ipv6", "direction": "input", "type": "148", "code": None, "action": "accept",
         "packets": 0, "dropped_packets": 0}]
    base = (("action", "drop"), ("code", ""), ("direction", "input"), ("family", "ipv4"), ("host", "h1"), ("rule", "1"),
            ("type", "echo-request"))
    frag = (("action", "accept"), ("code", "4"), ("direction", "input"), ("family", "ipv4"), ("host", "h1"),
            ("rule", "2"), ("type", "destination-unreachable"))
    cps = (("action", "accept"), ("code", ""), ("direction", "input"), ("family", "ipv6"), ("host", "h1"), ("rule", "3"),
           ("type", "148"))
    assert samples(report, "policy_rule_hits") == {base: 10, frag: 3, cps: 0}
    assert samples(report, "policy_rule_dropped") == {base: 10, frag: 0, cps: 0}


@pytest.mark.parametrize("bad, message", [
    ({"family": "ipv4"}, "policy_hits must be a list"),
    (["echo"], "got the entry 'echo'"),
    ([dict(POLICY_HITS[0], packets=-3)], "policy_hits rule 1 packets must be a whole number >= 0, got -3"),
    ([dict(POLICY_HITS[0], type=None)], "policy_hits rule 1 needs type as a name or a number, got None"),
    ([dict(POLICY_HITS[0], type=True)], "policy_hits rule 1 needs type as a name or a number, got True"),
])
def test_bad_policy_hits_name_the_host_and_value(bad: t.Any, message: str) -> None:
    with pytest.raises(model.ReportError, match="host h1: .*" + re.escape(message)):
        model.build_report({"h1": {"checks": [], "policy_hits": bad}})


def test_prometheus_every_sample_names_its_report_so_runs_can_share_a_textfile_directory() -> None:
    series = {}
    for name, build in REPORTS.items():
        report = build()
        found = [(f.name, tuple(sorted(s.labels.items()))) for f in families(report).values() for s in f.samples]
        assert {dict(labels)["report"] for _name, labels in found} == {writers.report_label(report)}, name
        series[name] = set(found)
    assert writers.report_label(pre_report()) == "change_validation_pre"
    assert writers.report_label(drift_report()) == "drift_check"
    assert not series["pre"] & series["post"], "pre and post files would give node_exporter duplicate series"


def test_prometheus_drill_phase_seconds() -> None:
    families = {f.name: f for f in text_string_to_metric_families(writers.to_prometheus(drill_report()))}
    samples = {(s.labels["host"], s.labels["phase"]): s.value for s in families["netdevops_icmp_drill_phase_seconds"].samples}
    assert samples == {("drill_echo_blocked", "inject"): 0.66, ("drill_echo_blocked", "detect"): 4.58,
                       ("drill_echo_blocked", "recover"): 1.31, ("drill_policy_cutoff", "inject"): 0.0}


@pytest.mark.parametrize("value,allowed", [("false", False), ("no", False), ("False", False), (False, False),
                                           ("true", True), ("yes", True), (True, True)])
def test_allow_black_hole_given_as_a_string_like_awx_surveys_pass_it(value: t.Any, allowed: bool) -> None:
    result = {"target": "192.0.2.9", "mtu": 1400, "black_hole": True, "inferred": False}
    check = checks.pmtud_check({"target": "192.0.2.9", "allow_black_hole": value}, result)
    assert check["expect"]["allow_black_hole"] is allowed


def test_drift_takes_a_ratelimit_the_kernel_rounded_to_its_tick_as_no_drift() -> None:
    assert drift.compare_sysctls({"icmp_ratelimit": 1001}, {"icmp_ratelimit": 1004}) == []
    found = drift.compare_sysctls({"icmp_ratelimit": 1001, "accept_redirects": 0},
                                  {"icmp_ratelimit": 1000, "accept_redirects": 0})
    assert [f["kind"] for f in found] == ["sysctl_changed"]
