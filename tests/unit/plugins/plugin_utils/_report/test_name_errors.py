"""A name that does not resolve is a per-target error in the checks and in all four report formats."""
from __future__ import annotations

import datetime
import json
import typing as t
import xml.etree.ElementTree as ET

import jsonschema
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.filter.compare_baseline import compare_baseline
from ansible_collections.netdevops.icmp.plugins.filter.plan_checks import plan_checks
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import html, model, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.fixtures import ping_item, ping_result

WHEN = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.timezone.utc)
NAME = "db.invalid"
RESOLVER = "db.invalid does not resolve: Name or service not known"
PLAN = {"ping": [{"target": NAME}, {"target": "203.0.113.10"}]}


def unresolved() -> t.Dict[str, t.Any]:
    """The ping module's result entry for a name that does not resolve (status error, not probed)."""
    return {"target": NAME, "address": None, "family": None, "status": "error", "sent": 0, "received": 0,
            "loss_pct": 100.0, "rtt_ms": None, "duplicates": 0, "late": 0, "reply_ttl": None, "reachable": False,
            "reply_address": None, "errors": [], "error": RESOLVER}


def checks() -> t.List[t.Dict[str, t.Any]]:
    return plan_checks(PLAN, ping=ping_result(unresolved(), ping_item("203.0.113.10")))


def report() -> t.Dict[str, t.Any]:
    return model.build_report({"h1": {"checks": checks()}}, kind="drift_check", run_id="7", generated_at=WHEN)


def test_the_check_is_an_error_with_the_resolver_message_not_an_outage() -> None:
    check = checks()[0]
    assert check["status"] == "error"
    assert check["failures"] == ["%s was not probed: %s" % (NAME, RESOLVER)]
    assert check["measured"] is None
    assert not any("unreachable" in failure or "loss" in failure for failure in check["failures"])
    assert checks()[1]["status"] == "pass"


def test_a_post_run_compares_no_outage_either() -> None:
    baseline = plan_checks(PLAN, ping=ping_result(ping_item(NAME), ping_item("203.0.113.10")))
    compared = compare_baseline(checks(), baseline, host="h1")
    check = compared["checks"][0]
    assert check["status"] == "error"
    assert not any("unreachable" in r["message"] for r in check["regressions"])


def test_json_report_shows_an_error() -> None:
    data = report()
    with open(model.SCHEMA_PATH, encoding="utf-8") as handle:
        jsonschema.validate(data, json.load(handle))
    check = data["hosts"][0]["checks"][0]
    assert (check["status"], check["measured"]) == ("error", None)
    assert RESOLVER in check["failures"][0]


def test_junit_shows_an_error_not_a_failure() -> None:
    root = ET.fromstring(writers.to_junit(report()).encode())
    case = next(c for c in root.iter("testcase") if c.get("name") == "ping %s" % NAME)
    assert case.find("error") is not None and case.find("failure") is None
    assert RESOLVER in case.find("error").get("message")
    assert (root.get("errors"), root.get("failures")) == ("1", "0")


def test_prometheus_has_no_loss_or_reachability_sample_for_it() -> None:
    families = {f.name: f for f in text_string_to_metric_families(writers.to_prometheus(report()))}
    for name, family in families.items():
        targets = {sample.labels.get("target") for sample in family.samples}
        if "ping" in name:
            assert NAME not in targets, name  # no 100 % loss, no reachable 0: it was not probed
    passed = [s for f in families.values() for s in f.samples if s.labels.get("target") == NAME]
    assert [(s.name.rsplit("_", 2)[-2:], s.value) for s in passed] == [(["check", "passed"], 0.0)]


def test_html_shows_an_error_cell() -> None:
    check = checks()[0]
    assert html.cell_state(check) == "bad"
    assert html._cell_text(check) == "error"
    page = html.to_html(report())
    assert RESOLVER in page
    assert "100% loss" not in page
