# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Change validation in the lab: pre, a change, post, with real probes and ansible-playbook.

Lab (default topology): h1 - r1 - h2, the r1-h2 link at MTU 1400. h1's plan pings
h2 (v4 and v6) and r1, traces to h2 through r1, and measures the path MTU to h2.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.root, pytest.mark.lab]


def playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def plan_inventory(lab: t.Any, path: Path) -> str:
    # r1's address on h1's LAN: the first hop of h1's traces (r1's first address is on its link to h2)
    h2_v4, h2_v6, r1_v4 = lab.address("h2"), lab.address("h2", 6), "198.51.100.1"
    data = {"all": {"hosts": {
        "h1": {"icmp_validate_checks": {
            "ping": [{"target": h2_v4, "max_loss_pct": 0, "max_rtt_ms": 100}, {"target": r1_v4, "max_loss_pct": 0},
                     {"target": h2_v6}],
            "traceroute": [{"target": h2_v4, "must_traverse": [r1_v4]}],
            "pmtud": [{"target": h2_v4, "min_mtu": 1400}],
        }},
        "h2": {"icmp_validate_checks": {"ping": [lab.address("h1")]}},
    }}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


# runs are limited to h1,h2, so the report files carry that limit (the report action's slice)
POST_REPORT = "change-validation-post.limit-%s.json" % hashlib.sha256(b"h1,h2").hexdigest()[:10]


def validate(lab: t.Any, plan: str, state: Path, phase: str, run_id: str) -> subprocess.CompletedProcess:
    return playbook("-i", lab.inventory_path, "-i", plan, "netdevops.icmp.change_validation", "-l", "h1,h2",
                    "-e", "icmp_validate_phase=%s" % phase, "-e", "icmp_validate_run_id=%s" % run_id,
                    "-e", "icmp_validate_state_dir=%s" % state)


def regressions(state: Path) -> t.List[t.Tuple[str, str, str, str]]:
    report = json.loads((state / "reports" / POST_REPORT).read_text())
    return [(host["name"], check["kind"], check["target"], regression["metric"])
            for host in report["hosts"] for check in host["checks"] for regression in check["regressions"]]


def fatal_messages(output: str) -> t.List[str]:
    return re.findall(r'fatal: \[(\S+)\]: FAILED! => .*"msg": "([^"]*)"', output)


def test_pre_then_dropped_echo_fails_post_naming_exactly_that_target(lab_default: t.Any, tmp_path: Path) -> None:
    plan = plan_inventory(lab_default, tmp_path / "plan.yml")
    pre = validate(lab_default, plan, tmp_path, "pre", "CHG-echo")
    assert pre.returncode == 0, pre.stdout[-3000:]
    baseline = json.loads((tmp_path / "baselines" / "CHG-echo" / "h1.json").read_text())
    assert [c["status"] for c in baseline["checks"]] == ["pass"] * 5
    assert (tmp_path / "baselines" / "CHG-echo" / "h2.json").is_file()
    # the change: h2 drops ICMPv6 echo requests
    lab_default.nft("h2", "table inet chg {\n chain input {\n  type filter hook input priority 0;\n"
                          "  icmpv6 type echo-request drop\n }\n}\n")
    try:
        post = validate(lab_default, plan, tmp_path, "post", "CHG-echo")
    finally:
        lab_default.run("h2", ["nft", "delete", "table", "inet", "chg"])
    assert post.returncode == 2, post.stdout[-3000:]
    h2_v6 = lab_default.address("h2", 6)
    assert fatal_messages(post.stdout) == [("h1", "h1 ping %s: newly unreachable (loss 0%% -> 100%%)" % h2_v6)]
    assert regressions(tmp_path) == [("h1", "ping", h2_v6, "reachable")]


def test_lower_mtu_on_the_path_fails_post_with_before_and_after(lab_default: t.Any, tmp_path: Path) -> None:
    plan = plan_inventory(lab_default, tmp_path / "plan.yml")
    assert validate(lab_default, plan, tmp_path, "pre", "CHG-mtu").returncode == 0
    link = next(link for link in lab_default.links() if {link["a"], link["b"]} == {"r1", "h2"})
    ifname = link["a_ifname"] if link["a"] == "r1" else link["b_ifname"]
    lab_default.run("r1", ["ip", "link", "set", ifname, "mtu", "1300"])
    try:
        post = validate(lab_default, plan, tmp_path, "post", "CHG-mtu")
    finally:
        lab_default.run("r1", ["ip", "link", "set", ifname, "mtu", "1400"])
    assert post.returncode == 2, post.stdout[-3000:]
    h2_v4 = lab_default.address("h2")
    assert fatal_messages(post.stdout) == [
        ("h1", "h1 pmtud %s: path MTU lowered 1400 -> 1300 (now fails: path MTU 1300 < min_mtu 1400)" % h2_v4)]
    assert regressions(tmp_path) == [("h1", "pmtud", h2_v4, "path_mtu")]


def test_harmless_change_passes_post(lab_default: t.Any, tmp_path: Path) -> None:
    plan = plan_inventory(lab_default, tmp_path / "plan.yml")
    assert validate(lab_default, plan, tmp_path, "pre", "CHG-ok").returncode == 0
    # harmless: r1 rate-limits ICMP errors harder, h2 gets a firewall table that counts TCP
    before = lab_default.sysctl("r1", "net.ipv4.icmp_ratelimit")
    lab_default.sysctl("r1", "net.ipv4.icmp_ratelimit", "2000")
    lab_default.nft("h2", "table inet harmless {\n chain input {\n  type filter hook input priority 0;\n"
                          "  meta l4proto tcp counter\n }\n}\n")
    try:
        post = validate(lab_default, plan, tmp_path, "post", "CHG-ok")
    finally:
        lab_default.run("h2", ["nft", "delete", "table", "inet", "harmless"])
        lab_default.sysctl("r1", "net.ipv4.icmp_ratelimit", before)
    assert post.returncode == 0, post.stdout[-3000:]
    assert regressions(tmp_path) == []
    report = json.loads((tmp_path / "reports" / POST_REPORT).read_text())
    assert report["status"] == "pass" and report["summary"]["checks"] == 6
    assert all(check["baseline"] is not None for host in report["hosts"] for check in host["checks"])


def test_post_without_baseline_says_to_run_pre_first(lab_default: t.Any, tmp_path: Path) -> None:
    plan = plan_inventory(lab_default, tmp_path / "plan.yml")
    post = validate(lab_default, plan, tmp_path, "post", "never-ran")
    assert post.returncode == 2
    assert "No baseline for host h1 in run never-ran" in post.stdout
    assert "icmp_validate_phase=pre" in post.stdout


def test_bad_plan_is_a_clear_error(lab_default: t.Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yml"
    plan.write_text(yaml.safe_dump({"all": {"hosts": {"h1": {"icmp_validate_checks": {
        "ping": [{"target": "203.0.113.10", "max_loss_pct": "lots"}]}}}}}))
    result = validate(lab_default, str(plan), tmp_path, "pre", "bad")
    assert result.returncode == 2
    assert "max_loss_pct must be a number >= 0, got 'lots'" in result.stdout
    assert not (tmp_path / "baselines" / "bad" / "h1.json").exists()
