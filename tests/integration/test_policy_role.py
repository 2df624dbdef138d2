# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The firewall role and the apply/rollback playbooks on a lab: verify, fail, roll back."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import nft

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def recap(output: str) -> t.Dict[str, t.Dict[str, int]]:
    result = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        result[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return result


def live_rules(lab: t.Any, node: str) -> t.Any:
    policy, _unknown = nft.parse_table(lab.run(node, ["nft", "-j", "list", "ruleset"]).stdout)
    return policy


def test_role_applies_verifies_and_rolls_back_a_bad_change(lab_default: t.Any, tmp_path: Path) -> None:
    variables = {
        "icmp_firewall_backend": "nftables",
        "icmp_firewall_profile": "{{ 'rfc4890-router' if lab_role == 'router' else 'rfc4890-host' }}",
        "icmp_firewall_confirm_timeout": 15,
        "icmp_firewall_state_dir": str(tmp_path / "state" / "{{ inventory_hostname }}"),
        "icmp_firewall_verify_peers": "{{ [hostvars['h2'].lab_addresses.ipv4[0], hostvars['h2'].lab_addresses.ipv6[0]]"
                                      " if inventory_hostname == 'h1' else [] }}",
    }
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(variables), encoding="utf-8")
    common = ["-i", lab_default.inventory_path, "-e", "@%s" % vars_file]
    apply = str(REPO / "playbooks" / "apply_policy.yml")
    try:
        first = playbook(*common, apply)
        assert first.returncode == 0, first.stdout + first.stderr
        assert recap(first.stdout)["h1"]["changed"] == 1
        good = live_rules(lab_default, "h1")
        assert good is not None and len(good.rules) > 10
        again = playbook(*common, apply)
        assert again.returncode == 0 and all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout

        # A change that breaks h1's own echo replies: verification fails, the role rolls back.
        bad = tmp_path / "bad.yml"
        bad.write_text(yaml.safe_dump({"icmp_firewall_rules": [
            {"family": "ipv4", "type": "echo-reply", "action": "drop"}]}), encoding="utf-8")
        broken = playbook(*common, "-e", "@%s" % bad, "-l", "h1", apply)
        assert broken.returncode != 0
        assert "Rolled back to snapshot" in broken.stdout, broken.stdout
        assert recap(broken.stdout)["h1"]["failed"] == 1 and recap(broken.stdout)["h1"]["rescued"] == 1
        assert live_rules(lab_default, "h1") == good, "h1 is back on the policy before the bad change"

        # Explicit rollback: previous = the newest snapshot that differs from the live policy.
        rolled = playbook(*common, "-l", "h2", str(REPO / "playbooks" / "rollback_policy.yml"))
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        assert live_rules(lab_default, "h2") is None, "h2 back to its state before the first apply (no table)"
    finally:
        for node in ("h1", "r1", "h2"):
            lab_default.run(node, ["nft", "delete", "table", "inet", "netdevops_icmp"], check=False)
