# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drill evidence: the probes' captures ride on the diagnosis into the drill report (JSON, HTML)."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis
from ansible_collections.netdevops.icmp.plugins.filter.drill_report_hosts import drill_report_hosts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import html, model, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.synthetic import capture_result
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_writers import VALIDATOR

TARGET = "203.0.113.10"
SILENT = "3 echo requests to 203.0.113.10 left eth0, no reply arrived"


def ping(reachable: bool, capture: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    return {"results": [{"address": TARGET, "reachable": reachable, "loss_pct": 0.0 if reachable else 100.0}],
            "capture": capture}


def test_echo_filtered_carries_what_the_capture_saw() -> None:
    verdict = drill_diagnosis(ping(False, capture_result(TARGET, 3, 0)), tcp={"connected": True},
                              pmtud={"path_mtu": 1400, "black_hole": False, "capture": capture_result(TARGET, 2, 2)})
    assert verdict["verdict"] == "echo_filtered"
    assert verdict["evidence"] == [SILENT, "2 echo requests to 203.0.113.10 left eth0, 2 echo replies arrived"]
    assert verdict["capture"]["by_direction"] == {"in": 2, "out": 5} and verdict["capture"]["packets"] == 7


def test_without_a_capture_the_verdict_is_unchanged() -> None:
    assert set(drill_diagnosis(ping(False), tcp={"connected": True})) == {"verdict", "diagnosis"}


def test_a_broken_capture_is_a_filter_error() -> None:
    with pytest.raises(AnsibleFilterError, match="capture packets must be a whole number"):
        drill_diagnosis(ping(False, {"packets": "many"}))


def test_the_drill_report_shows_the_evidence() -> None:
    verdict = drill_diagnosis(ping(False, capture_result(TARGET, 3, 0)), tcp={"connected": True})
    results = [{"drill": "echo_blocked", "passed": True, "error": None, "diagnosis": verdict["diagnosis"],
                "timeline": {"inject_s": 0.5, "detect_s": 4.0, "recover_s": 1.0},
                "details": {"target": TARGET, "verdict": verdict["verdict"], "capture": verdict["capture"]}},
               {"drill": "policy_cutoff", "passed": True, "error": None, "diagnosis": "rolled back",
                "timeline": {}, "details": {}}]
    report = model.build_report(drill_report_hosts(results), title="Disaster drills")
    VALIDATOR.validate(json.loads(writers.to_json(report)))
    hosts = {host["name"]: host for host in report["hosts"]}
    assert hosts["drill_echo_blocked"]["capture"]["evidence"] == [SILENT]
    assert hosts["drill_policy_cutoff"]["capture"] is None
    page = html.to_html(report)
    row = page.split('data-drill="echo_blocked"', 1)[1].split("</tr>", 1)[0]
    assert '<ul class="evidence"><li>%s</li></ul>' % SILENT in row
    assert "<ul" not in page.split('data-drill="policy_cutoff"', 1)[1].split("</tr>", 1)[0]
