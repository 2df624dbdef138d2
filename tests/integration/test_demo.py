# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo` end to end: scripts/demo.sh in lab mode (root) and the loopback mode.

Run alone with ``.venv/bin/pytest -q tests/integration/test_demo.py`` (a few minutes: the lab
demo builds the default lab, runs every stage including the disaster drills and tears it down).
The lab demo uses the default lab name, so it must not run twice at the same time.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.registry import DRILLS

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def lab_namespaces(lab: str = "default") -> t.List[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith("nilab-%s-" % lab)]


def assert_reports(reports: Path, basename: str, title_part: str) -> None:
    """The four files of one report exist and parse."""
    document = json.loads((reports / (basename + ".json")).read_text())
    assert document["hosts"], document
    suites = ET.parse(str(reports / (basename + ".junit.xml"))).getroot()
    assert suites.iter("testcase"), basename
    families = list(text_string_to_metric_families((reports / (basename + ".prom")).read_text()))
    assert any(family.name.startswith("netdevops_icmp_") for family in families), families
    html = (reports / (basename + ".html")).read_text()
    assert "<title>" in html and title_part in html.split("<title>", 1)[1].split("</title>", 1)[0], html[:500]


def run(command: t.List[str], env: t.Dict[str, str], timeout_s: float) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    sys.stdout.write(result.stdout[-20000:])
    sys.stderr.write(result.stderr[-5000:])
    return result


@pytest.mark.root
@pytest.mark.lab
def test_demo_lab_mode(tmp_path: Path) -> None:
    assert not lab_namespaces(), "a default lab is up already (another demo running?): %s" % lab_namespaces()
    reports = tmp_path / "reports"
    env = dict(os.environ, REPORTS=str(reports))
    result = run(["bash", "scripts/demo.sh"], env, timeout_s=900)
    # teardown and reports first: they must hold also when a stage failed
    assert "Tearing the lab down" in result.stdout
    assert not lab_namespaces(), "the demo left namespaces behind: %s" % lab_namespaces()
    assert not Path("/run/netdevops_icmp_demo").exists(), "the demo left its policy snapshots behind"
    assert_reports(reports, "change-validation-pre", "")
    assert_reports(reports, "change-validation-post", "")
    assert_reports(reports, "drift-check", "")
    assert_reports(reports, "demo-measure", "measurements")
    assert_reports(reports, "disaster-drill", "Disaster drills")
    post = json.loads((reports / "change-validation-post.json").read_text())
    assert {host["name"] for host in post["hosts"]} == {"h1", "x1", "r1", "e1", "e2", "r2", "r3", "h3", "h2"}, post["hosts"]
    assert post["status"] == "pass", post["problems"]
    # the drills' timeline table closes the demo: one row per drill, all passed
    assert "result  inject s  detect s  recover s  verdict" in result.stdout, result.stdout[-3000:]
    rows = re.findall(r"\b([a-z_0-9]+) +(PASS|FAIL) +[-0-9.]+ +[-0-9.]+ +[-0-9.]+ +[a-z_-]+", result.stdout)
    assert {name for name, _result in rows} == {drill.name for drill in DRILLS}, rows  # every drill ran on the default lab
    assert all(row[1] == "PASS" for row in rows), rows
    drift = json.loads((reports / "drift-check.json").read_text())
    assert drift["hosts"][0]["policy_hits"], "the drift check reports the policy's per-rule counters"
    assert "netdevops_icmp_policy_rule_hits_total{" in (reports / "drift-check.prom").read_text()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_demo_loopback_mode(tmp_path: Path) -> None:
    """What `make demo` runs without root: probes to 127.0.0.1 and ::1 only, one report."""
    reports = tmp_path / "reports"
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
    )
    command = [
        str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
        "-e", "ansible_python_interpreter=%s" % (VENV_BIN / "python"),
        "-e", "demo_mode=loopback", "-e", "demo_reports_dir=%s" % reports,
        str(REPO / "playbooks" / "demo.yml"),
    ]
    result = run(command, env, timeout_s=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Needs root" in result.stdout
    assert_reports(reports, "demo-measure", "measurements")
    document = json.loads((reports / "demo-measure.json").read_text())
    assert [host["name"] for host in document["hosts"]] == ["localhost"], document["hosts"]
    targets = {check["target"] for check in document["hosts"][0]["checks"]}
    assert targets <= {"127.0.0.1", "::1"}, targets
