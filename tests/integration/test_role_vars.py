# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boolean role variables as AWX surveys and ``-e key=value`` pass them: the strings
true/false/yes/no, through real ansible-playbook runs.

The validate role probes loopback only (127.0.0.1 answers echo, so a plan that expects it to
be unreachable fails on purpose); the firewall role runs in a one-node lab namespace.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from .ansible_run import REPO, playbook
from .conftest import ROOT_REASON, build_lab

FALSE_WORDS = ("false", "no")
TRUE_WORDS = ("true", "yes")

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def loopback_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """localhost whose plan fails: 127.0.0.1 answers, the plan expects it not to."""
    path = tmp_path_factory.mktemp("plan") / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "icmp_validate_checks": {"ping": [{"target": "127.0.0.1", "expect": "unreachable"}]}}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}), encoding="utf-8")
    return path


def validate(plan: Path, state: Path, phase: str, *extra: str) -> subprocess.CompletedProcess:
    return playbook("-i", str(plan), "netdevops.icmp.change_validation",
                    "-e", "icmp_validate_phase=%s" % phase, "-e", "icmp_validate_run_id=awx",
                    "-e", "icmp_validate_state_dir=%s" % state, "-e", "icmp_validate_ping_count=1",
                    "-e", "icmp_validate_timeout=0.5", *[arg for word in extra for arg in ("-e", word)])


@pytest.mark.parametrize("word", FALSE_WORDS + TRUE_WORDS)
def test_pre_must_pass_as_a_string(loopback_plan: Path, tmp_path: Path, word: str) -> None:
    run = validate(loopback_plan, tmp_path, "pre", "icmp_validate_pre_must_pass=%s" % word)
    output = run.stdout + run.stderr
    if word in FALSE_WORDS:
        assert run.returncode == 0, output[-3000:]
    else:
        assert run.returncode == 2, output[-3000:]
        assert "reachable but expected unreachable" in output


@pytest.mark.parametrize("word", FALSE_WORDS + TRUE_WORDS)
def test_fail_on_preexisting_as_a_string(loopback_plan: Path, tmp_path: Path, word: str) -> None:
    pre = validate(loopback_plan, tmp_path, "pre", "icmp_validate_pre_must_pass=no")
    assert pre.returncode == 0, (pre.stdout + pre.stderr)[-3000:]
    post = validate(loopback_plan, tmp_path, "post", "icmp_validate_fail_on_preexisting=%s" % word)
    report = json.loads((tmp_path / "reports" / "change-validation-post.json").read_text(encoding="utf-8"))
    (check,) = [c for h in report["hosts"] for c in h["checks"]]
    if word in FALSE_WORDS:
        assert post.returncode == 0, (post.stdout + post.stderr)[-3000:]
        assert check["regressions"] == []
    else:
        assert post.returncode == 2, (post.stdout + post.stderr)[-3000:]
        assert check["regressions"] != []


UNSAFE_RULES = [{"family": "ipv6", "type": "packet-too-big", "action": "drop"}]


@pytest.fixture(scope="module")
def one_node(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Any]:
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)
    lab = build_lab({"name": "vars", "nodes": [{"name": "h1", "role": "host"}], "links": []},
                    tmp_path_factory.mktemp("lab-vars"))
    try:
        yield lab
    finally:
        lab.down()


def firewall(lab: t.Any, state: Path, *extra: str) -> subprocess.CompletedProcess:
    variables = {"icmp_firewall_backend": "nftables", "icmp_firewall_rules": UNSAFE_RULES,
                 "icmp_firewall_confirm_timeout": 0, "icmp_firewall_state_dir": str(state),
                 # nothing answers there: the namespace has no route, so verification fails when it runs
                 "icmp_firewall_verify_peers": ["192.0.2.99"]}
    vars_file = state.parent / "vars.yml"
    vars_file.write_text(yaml.safe_dump(variables), encoding="utf-8")
    return playbook("-i", lab.inventory_path, "-e", "@%s" % vars_file, *[arg for word in extra for arg in ("-e", word)],
                    str(REPO / "playbooks" / "apply_policy.yml"))


@pytest.mark.lab
@pytest.mark.parametrize(("unsafe", "verify"), [("false", "no"), ("no", "no"), ("yes", "no"), ("true", "yes")])
def test_firewall_booleans_as_strings(one_node: t.Any, tmp_path: Path, unsafe: str, verify: str) -> None:
    run = firewall(one_node, tmp_path / "state", "icmp_firewall_allow_unsafe=%s" % unsafe,
                   "icmp_firewall_verify=%s" % verify)
    output = run.stdout + run.stderr
    table = one_node.run("h1", ["nft", "list", "table", "inet", "netdevops_icmp"], check=False)
    try:
        if unsafe in FALSE_WORDS:
            assert run.returncode == 2 and "allow_unsafe" in output, output[-3000:]
            assert table.returncode != 0, "a refused policy changes nothing"
        elif verify in FALSE_WORDS:
            assert run.returncode == 0, output[-3000:]
            assert "packet-too-big" in table.stdout and "drop" in table.stdout
        else:  # verification runs, the peer does not answer, the role rolls back
            assert run.returncode == 2, output[-3000:]
            assert "Rolled back to snapshot" in output, output[-3000:]
    finally:
        one_node.run("h1", ["nft", "delete", "table", "inet", "netdevops_icmp"], check=False)
