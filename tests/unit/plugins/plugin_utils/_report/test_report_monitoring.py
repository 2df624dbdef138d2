# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped monitoring assets: Prometheus rules (promtool check and unit tests), metrics that
pass ``promtool check metrics``, and a Grafana dashboard whose every query names a metric the
report action really writes (compared with .prom files generated from real reports)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_writers import REPORTS

REPO = Path(__file__).resolve().parents[5]
RULES = REPO / "files" / "prometheus" / "netdevops_icmp.rules.yml"
RULE_TESTS = REPO / "files" / "prometheus" / "netdevops_icmp.rules.test.yml"
DASHBOARD = REPO / "files" / "grafana" / "netdevops_icmp.dashboard.json"
DOCS = REPO / "docs" / "reports.md"
PROMTOOL = shutil.which("promtool")
NEEDS_PROMTOOL = pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian package prometheus; "
                                    "scripts/setup-system.sh installs it)")
METRIC = re.compile(r"\bnetdevops_icmp_[a-z_]+\b")


def written_metrics() -> t.Set[str]:
    """Every metric family in .prom files of pre, post, drift and drill reports."""
    names = set()
    for build in REPORTS.values():
        names |= {family.name + ("_total" if family.type == "counter" else "")  # the parser drops the suffix
                  for family in text_string_to_metric_families(writers.to_prometheus(build()))}
    return names


def dashboard_queries() -> t.List[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["query"]["query"] for variable in dashboard["templating"]["list"] if variable["type"] == "query"]
    return queries


def rules() -> t.List[t.Dict[str, t.Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_reports_write_every_metric_the_writer_knows() -> None:
    assert written_metrics() == set(writers.metric_names())


def test_every_dashboard_query_names_a_written_metric() -> None:
    written = written_metrics()
    queries = dashboard_queries()
    assert queries
    for query in queries:
        named = set(METRIC.findall(query))
        assert named, "query names no netdevops_icmp metric: %s" % query
        assert named <= written, (query, named - written)


def test_the_dashboard_has_the_panels_the_fleet_needs() -> None:
    panels = {(panel["type"], metric) for panel in json.loads(DASHBOARD.read_text())["panels"]
              for target in panel["targets"] for metric in METRIC.findall(target["expr"])}
    for wanted in [("heatmap", "netdevops_icmp_ping_loss_ratio"), ("heatmap", "netdevops_icmp_ping_rtt_seconds"),
                   ("timeseries", "netdevops_icmp_path_mtu_bytes"), ("state-timeline", "netdevops_icmp_drift"),
                   ("barchart", "netdevops_icmp_drill_phase_seconds"),
                   ("timeseries", "netdevops_icmp_capture_packets_total"),
                   ("timeseries", "netdevops_icmp_policy_rule_dropped_total")]:
        assert wanted in panels, wanted


def test_every_alert_has_severity_summary_description_runbook_and_for() -> None:
    anchors = {"#" + re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in DOCS.read_text().splitlines() if line.startswith("#")}
    found = rules()
    assert len(found) >= 6
    for rule in found:
        assert rule["alert"].startswith("NetdevopsIcmp") and rule.get("for"), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), rule
        assert "#" + rule["annotations"]["runbook_url"].split("#", 1)[1] in anchors, rule["annotations"]["runbook_url"]
        assert set(METRIC.findall(rule["expr"])) <= written_metrics(), rule["expr"]


@NEEDS_PROMTOOL
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    check = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run([str(PROMTOOL), "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent,
                           capture_output=True, text=True, check=False)
    assert tests.returncode == 0 and "SUCCESS" in tests.stdout, tests.stdout + tests.stderr


@NEEDS_PROMTOOL
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_promtool_accepts_the_metrics(name: str) -> None:
    lint = subprocess.run([str(PROMTOOL), "check", "metrics"], input=writers.to_prometheus(REPORTS[name]()),
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
