# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drift corpus, on real nftables / iptables in lab namespaces, through ansible-playbook.

Nine nodes get the same desired policy. Two drift_check runs on the clean lab
find nothing; then every node but one drifts in its own way, and one run must
name each node's drift, and nothing on the clean node.
"""
from __future__ import annotations

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
NODES = ["h1", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "h2"]
TOPOLOGY = {
    "name": "drift",
    "nodes": [{"name": name, "role": "host" if name.startswith("h") else "router"} for name in NODES],
    "links": [{"a": a, "b": b} for a, b in zip(NODES, NODES[1:])],
}
POLICY = {
    "profile": "rfc4890-host",
    "rules": [{"family": "ipv4", "type": "echo-request", "action": "accept", "rate": "10/second", "burst": 20},
              {"family": "ipv4", "type": "timestamp-request", "action": "drop"}],
    "sysctls": {"icmp_ratelimit": 1000, "icmp_echo_ignore_broadcasts": 1},
}
APPLY = """
- name: Apply the desired policy
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply
      netdevops.icmp.policy:
        state: overridden
        config: "{{ icmp_validate_policy }}"
        backend: "{{ apply_backend | default('nftables') }}"
        confirm_timeout: 0
"""
# node -> (what we do to it, the finding kind the drift check must report)
EXPECTED = {
    "h1": None,
    "r1": "rule_missing",
    "r2": "rule_added",
    "r3": "action_changed",
    "r4": "rate_changed",
    "r5": "table_missing",
    "r6": "rules_reordered",
    "r7": "sysctl_changed",
    "h2": "other_backend",
}

pytestmark = [pytest.mark.root, pytest.mark.lab]


def playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=900, check=False)


def handle(lab: t.Any, node: str, rule_text: str) -> str:
    listing = lab.run(node, ["nft", "-a", "list", "chain", "inet", "netdevops_icmp", "input"]).stdout
    listing = re.sub(r" counter packets \d+ bytes \d+", "", listing)  # every rule of ours carries a counter
    match = re.search(r"^\s*%s # handle (\d+)$" % re.escape(rule_text), listing, re.M)
    assert match, "no rule %r on %s:\n%s" % (rule_text, node, listing)
    return match.group(1)


def drift(lab: t.Any, node: str) -> None:
    """Make ``node`` drift the way EXPECTED says."""
    chain = ["nft", "replace", "rule", "inet", "netdevops_icmp", "input", "handle"]
    if node == "r1":
        lab.run(node, ["nft", "delete", "rule", "inet", "netdevops_icmp", "input", "handle",
                       handle(lab, node, "icmp type timestamp-request drop")])
    elif node == "r2":
        lab.run(node, ["nft", "add", "rule", "inet", "netdevops_icmp", "input", "icmp", "type",
                       "address-mask-request", "accept"])
    elif node == "r3":
        lab.run(node, chain + [handle(lab, node, "icmpv6 type echo-request accept"), "icmpv6", "type", "echo-request",
                               "drop"])
    elif node == "r4":
        lab.run(node, chain + [handle(lab, node, "icmp type echo-request limit rate 10/second burst 20 packets accept"),
                               "icmp", "type", "echo-request", "limit", "rate", "50/second", "burst", "20", "packets",
                               "accept"])
    elif node == "r5":
        lab.run(node, ["nft", "delete", "table", "inet", "netdevops_icmp"])
    elif node == "r6":  # move echo-reply behind the final IPv4 drop: same rules, other verdict
        lab.run(node, ["nft", "delete", "rule", "inet", "netdevops_icmp", "input", "handle",
                       handle(lab, node, "icmp type echo-reply accept")])
        lab.run(node, ["nft", "add", "rule", "inet", "netdevops_icmp", "input", "icmp", "type", "echo-reply", "accept"])
    elif node == "r7":
        lab.sysctl(node, "net.ipv4.icmp_ratelimit", "500")


def prepare(make_lab: t.Callable[[t.Any], t.Any], work: Path) -> t.Tuple[t.Any, Path]:
    lab = make_lab(TOPOLOGY)
    inventory = work / "desired.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"icmp_validate_policy": POLICY},
        "hosts": {"h1": {"icmp_validate_checks": {"ping": [lab.address("h2"), lab.address("h2", 6)]}}},
    }}), encoding="utf-8")
    (work / "apply.yml").write_text(APPLY, encoding="utf-8")
    applied = playbook("-i", lab.inventory_path, "-i", str(inventory), str(work / "apply.yml"))
    assert applied.returncode == 0, applied.stdout[-3000:]
    return lab, inventory


def drift_check(lab: t.Any, inventory: Path, state: Path, *extra: str) -> subprocess.CompletedProcess:
    return playbook("-i", lab.inventory_path, "-i", str(inventory), "netdevops.icmp.drift_check",
                    "-e", "icmp_validate_state_dir=%s" % state, *extra)


def findings(state: Path) -> t.Dict[str, t.List[str]]:
    report = json.loads((state / "reports" / "drift-check.json").read_text())
    return {host["name"]: [f["kind"] for f in host["drift"]["findings"]] for host in report["hosts"]}


def test_drift_corpus(make_lab: t.Callable[[t.Any], t.Any], tmp_path: Path) -> None:
    lab, inventory = prepare(make_lab, tmp_path)
    work = tmp_path
    # clean, run after run
    for run in ("clean-1", "clean-2"):
        clean = drift_check(lab, inventory, work / run)
        assert clean.returncode == 0, clean.stdout[-4000:]
        assert findings(work / run) == {node: [] for node in NODES}
        assert re.search(r"h1\s*:.*changed=0.*failed=0", clean.stdout)
    # every node but h1 drifts in its own way
    for node in NODES:
        drift(lab, node)
    other = work / "apply.yml"
    moved = playbook("-i", lab.inventory_path, "-i", str(inventory), str(other), "-l", "h2",
                     "-e", "apply_backend=iptables")
    assert moved.returncode == 0, moved.stdout[-3000:]
    lab.run("h2", ["nft", "delete", "table", "inet", "netdevops_icmp"])

    drifted = drift_check(lab, inventory, work / "drifted")
    assert drifted.returncode == 2, drifted.stdout[-4000:]
    found = findings(work / "drifted")
    assert found == {node: [kind] if kind else [] for node, kind in EXPECTED.items()}
    assert json.loads((work / "drifted" / "reports" / "drift-check.json").read_text())["run_id"] == "manual"
    failed_hosts = set(re.findall(r"fatal: \[(\S+)\]: FAILED!", drifted.stdout))
    assert failed_hosts == {node for node, kind in EXPECTED.items() if kind}
    assert "r3 drift: action flipped on ipv6 input type echo-request: accept -> drop" in drifted.stdout
    assert "r4 drift: rate limit changed on ipv4 input type echo-request: 10/second burst 20 -> 50/second burst 20" \
        in drifted.stdout
    assert "r7 drift: sysctl icmp_ratelimit is 500, desired 1000" in drifted.stdout
    assert "h2 drift: the policy is applied with iptables, not nftables" in drifted.stdout

    # the second signal: --check --diff shows the drift as a change with the rule diff
    checked = drift_check(lab, inventory, work / "checked", "--check", "--diff")
    assert checked.returncode == 2
    for node, kind in EXPECTED.items():
        recap = re.search(r"^%s\s*:.*changed=(\d+)" % node, checked.stdout, re.M)
        assert recap and int(recap.group(1)) == (1 if kind else 0), (node, checked.stdout[-3000:])
    assert "+\t\ticmpv6 type echo-request counter accept" in checked.stdout  # r3's diff: desired side
    assert "-\t\ticmpv6 type echo-request counter drop" in checked.stdout

    # AWX runs playbooks with ansible-runner: the drift must reach the job's artifacts
    runner_check(lab, inventory, work)


def runner_check(lab: t.Any, inventory: Path, tmp_path: Path) -> None:
    ansible_runner = pytest.importorskip("ansible_runner")
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    (private / "env" / "envvars").write_text(yaml.safe_dump(
        {"ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
         "PATH": "%s:%s" % (BIN, os.environ.get("PATH", "/usr/bin:/bin"))}))
    result = ansible_runner.run(
        private_data_dir=str(private), playbook=str(REPO / "playbooks" / "drift_check.yml"),
        inventory=[lab.inventory_path, str(inventory)], limit="h1,r7",
        extravars={"icmp_validate_state_dir": str(tmp_path / "state"), "tower_job_id": 4242}, quiet=True,
    )
    assert result.status == "failed" and result.rc == 2
    stats = [e for e in result.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]
    artifact = stats["artifact_data"]["netdevops_icmp_drift"]
    assert artifact["h1"]["drifted"] is False
    assert artifact["r7"]["drifted"] is True
    assert artifact["r7"]["findings"] == ["sysctl icmp_ratelimit is 500, desired 1000"]
    assert stats["failures"] == {"r7": 1}
    assert (private / "artifacts").is_dir()
    # A --limit run names its files after the limit, so slices and limited runs never overwrite each other.
    junit = list((tmp_path / "state" / "reports").glob("drift-check.limit-*.junit.xml"))
    assert len(junit) == 1, sorted(p.name for p in (tmp_path / "state" / "reports").iterdir())
    report = json.loads(junit[0].with_name(junit[0].name.replace(".junit.xml", ".json")).read_text())
    assert report["run_id"] == "4242"  # the AWX job id names the run
