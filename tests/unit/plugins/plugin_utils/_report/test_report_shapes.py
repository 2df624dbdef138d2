# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every shape report.schema.json allows goes through every writer (Hypothesis generates
schema-valid reports; each is checked against the schema first, so the generator cannot
drift from it), and the JUnit output is valid against Jenkins xunit's junit-10.xsd."""
from __future__ import annotations

import json
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import hypothesis.strategies as st
import jsonschema
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import drift, html, model, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_report_html import Page
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_writers import REPORTS

XSD = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))
with open(model.SCHEMA_PATH, encoding="utf-8") as _schema:
    VALIDATOR = jsonschema.Draft202012Validator(json.load(_schema))

text = st.text(max_size=12)
maybe_text = st.none() | text
number = st.integers(-10, 10 ** 6) | st.floats(-1e6, 1e6, allow_nan=False)
maybe_number = st.none() | number
count = st.integers(0, 10 ** 4)
anything = st.recursive(st.none() | st.booleans() | number | text,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6)

PING = st.fixed_dictionaries({
    "address": maybe_text, "family": maybe_text, "sent": st.none() | count, "received": st.none() | count,
    "loss_pct": st.none() | st.integers(0, 100) | st.floats(0, 100), "reachable": st.booleans(),
    "rtt_ms": st.fixed_dictionaries({key: maybe_number for key in ("min", "avg", "max", "mdev")})})
TRACEROUTE = st.fixed_dictionaries({"destination": maybe_text, "reached": st.booleans(),
                                    "path": st.lists(maybe_text, max_size=4), "hop_count": count})
PMTUD = st.fixed_dictionaries({"path_mtu": st.none() | st.integers(-1, 10 ** 5), "local_mtu": st.none() | count,
                               "reported_by": maybe_text, "black_hole": st.booleans(), "inferred": st.booleans()})
MEASURED = {"ping": PING, "traceroute": TRACEROUTE, "pmtud": PMTUD, "drill": st.dictionaries(text, anything, max_size=3)}
TIMELINE = st.dictionaries(st.sampled_from(["inject_s", "detect_s", "recover_s"]), maybe_number)
EXPECT = st.dictionaries(text, anything, max_size=2) | st.fixed_dictionaries({
    "expect": st.sampled_from(["reachable", "unreachable"]), "max_loss_pct": maybe_number, "max_rtt_ms": maybe_number,
    "drill": maybe_text, "timeline": anything | TIMELINE})
REGRESSION = st.fixed_dictionaries({"metric": text, "before": anything, "after": anything, "message": text})


@st.composite
def checks(draw: t.Callable[..., t.Any]) -> t.Dict[str, t.Any]:
    kind = draw(st.sampled_from(sorted(MEASURED)))
    check = {"id": draw(text), "kind": kind, "target": draw(text), "status": draw(st.sampled_from(["pass", "fail", "error"])),
             "measured": draw(st.none() | MEASURED[kind]), "expect": draw(EXPECT), "failures": draw(st.lists(text, max_size=2)),
             "baseline": draw(st.none() | MEASURED[kind]), "regressions": draw(st.lists(REGRESSION, max_size=2)),
             "notes": draw(st.lists(text, max_size=2))}
    if draw(st.booleans()):
        check["elapsed_ms"] = draw(st.none() | st.integers(0, 10 ** 6) | st.floats(0, 1e6))
    return check


FINDING = st.fixed_dictionaries({"kind": st.sampled_from(drift.KINDS), "message": text,
                                 "rule": st.none() | st.dictionaries(text, anything, max_size=2),
                                 "desired": anything, "live": anything})
DRIFT = st.none() | st.fixed_dictionaries({"checked": st.booleans(), "drifted": st.booleans(), "backend": maybe_text,
                                           "findings": st.lists(FINDING, max_size=3)})
HOST = st.fixed_dictionaries({
    "name": text, "status": st.sampled_from(["pass", "fail", "error"]), "error": maybe_text,
    "checks": st.lists(checks(), max_size=4), "drift": DRIFT,
    "summary": st.fixed_dictionaries({"checks": count, "failed": count, "regressions": count})})
SUMMARY_KEYS = ("hosts", "hosts_failed", "checks", "checks_failed", "regressions", "hosts_drifted")
REPORT = st.fixed_dictionaries({
    "schema_version": st.just(model.SCHEMA_VERSION), "generator": st.just("netdevops.icmp"),
    "kind": st.sampled_from(model.REPORT_KINDS), "phase": st.sampled_from([None, "pre", "post"]),
    "run_id": maybe_text, "title": text, "generated_at": st.just("2026-11-22T12:00:00Z"),
    "timestamp": st.integers(0, 2 ** 33), "status": st.sampled_from(["pass", "fail"]),
    "summary": st.fixed_dictionaries({key: count for key in SUMMARY_KEYS}),
    "problems": st.lists(text, max_size=3), "hosts": st.lists(HOST, max_size=4)},
    optional={"slice": maybe_text})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(REPORT)
def test_every_schema_valid_report_goes_through_every_writer(report: t.Dict[str, t.Any]) -> None:
    VALIDATOR.validate(report)  # the generator makes only what the schema allows
    assert json.loads(writers.to_json(report)) == report
    junit = writers.to_junit(report)
    XSD.validate(junit)
    cases = list(ET.fromstring(junit.encode()).iter("testcase"))
    assert all(float(case.get("time")) >= 0 for case in cases)
    families = list(text_string_to_metric_families(writers.to_prometheus(report)))
    assert all(f.name.startswith(writers.METRIC_PREFIX) for f in families)
    page = Page(html.to_html(report))
    assert {c["attrs"]["data-state"] for c in page.having("td", "data-state")} <= {"ok", "warn", "bad", "down", "none"}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_junit_of_every_report_kind_is_valid_against_junit_10(name: str) -> None:
    junit = writers.to_junit(REPORTS[name]())
    XSD.validate(junit)
    root = ET.fromstring(junit.encode())
    assert "skipped" not in root.attrib
    assert all(case.get("time") is not None for case in root.iter("testcase"))


def test_the_xsd_rejects_what_jenkins_rejects() -> None:
    """The test can fail: a skipped count on <testsuites> (what the writer used to write) is invalid."""
    junit = writers.to_junit(REPORTS["post"]())
    assert not XSD.is_valid(junit.replace("<testsuites ", '<testsuites skipped="1" ', 1))
    assert not XSD.is_valid(junit.replace('<testsuite name="h1"', '<testsuite name="h1" bogus="1"', 1))


def test_testcase_time_is_the_probe_run_time() -> None:
    root = ET.fromstring(writers.to_junit(REPORTS["pre"]()).encode())
    times = {case.get("name"): case.get("time") for case in root.iter("testcase") if case.get("classname") == "h2.ping"}
    assert set(times.values()) == {"0.013"}  # the ping task's 12.5 ms, shared by its targets
    traces = [case.get("time") for case in root.iter("testcase") if case.get("classname") == "h2.traceroute"]
    assert traces == ["0.040"]
    drills = ET.fromstring(writers.to_junit(REPORTS["drill"]()).encode())
    assert [case.get("time") for case in drills.iter("testcase")][0] == "6.550"  # 0.66 + 4.58 + 1.31
