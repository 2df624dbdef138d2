# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netdevops.icmp.policy through ansible-playbook: action plugin, async apply, confirm, check/diff.

The lab nodes are reached with the netns connection, and h1 also over SSH across the lab
(``h1_ssh``); the commit-confirm protocol runs for real (async wrapper, connection reset,
full-size read, ``rm`` of the cookie, async_status).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAY = """
- name: ICMP policy on every lab node
  hosts: lab_hosts:lab_routers
  gather_facts: false
  tasks:
    - name: Apply the RFC 4890 profile for the node's role, with commit-confirm
      netdevops.icmp.policy:
        state: overridden
        backend: "{{ backend }}"
        config:
          profile: "{{ 'rfc4890-router' if lab_role == 'router' else 'rfc4890-host' }}"
          rules:
            - {family: ipv4, type: timestamp-request, action: drop}
        confirm_timeout: 15
        state_dir: "{{ workdir }}/state/{{ inventory_hostname }}"
      register: applied

    - name: A real change was confirmed over a fresh connection
      ansible.builtin.assert:
        that:
          - applied.applied
          - not applied.rolled_back
          - applied.confirm == 'confirmed'
          - applied.snapshot is number
      when: applied is changed and not ansible_check_mode

    - name: Check mode returns the plan
      ansible.builtin.assert:
        that:
          - applied.commands | length > 0
          - applied.snapshot is none
      when: applied is changed and ansible_check_mode

    - name: Gather the live policy
      netdevops.icmp.policy:
        state: gathered
        backend: "{{ backend }}"
      register: live

    - name: The live policy is what was applied
      ansible.builtin.assert:
        that:
          - live.gathered.rules | length > 10
          - live.gathered.rules | selectattr('type', 'equalto', 'timestamp-request') | map(attribute='action') | list == ['drop']
      when: not ansible_check_mode
"""


# Our own SSH ControlMaster sockets: labs reuse the same documentation addresses, so a stale
# master of another lab under ~/.ansible/cp (same host, port and user) would take our sessions.
CONTROL_PATH_DIR = Path("/tmp") / ("ncp-%d" % os.getpid())


def playbook(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_SSH_CONTROL_PATH_DIR=str(CONTROL_PATH_DIR))
    proc = subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def changed_total(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output))


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_policy_playbook_check_apply_idempotent(lab_default: t.Any, tmp_path: Path, backend: str) -> None:
    play = tmp_path / "play.yml"
    play.write_text(PLAY, encoding="utf-8")
    # h1, r1 and h2: the default lab's other nodes stay without a policy
    common = ["-i", lab_default.inventory_path, str(play), "-l", "h1,r1,h2", "-e", "workdir=%s" % tmp_path,
              "-e", "backend=%s" % backend]
    try:
        first_check = playbook(*common, "--check", "--diff")
        assert changed_total(first_check.stdout) == 3, first_check.stdout
        assert "+\t\ticmp type timestamp-request counter drop" in first_check.stdout or \
            "+-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 13 -j DROP" in first_check.stdout, first_check.stdout
        applied = playbook(*common, "--diff")
        assert changed_total(applied.stdout) == 3, applied.stdout
        again = playbook(*common)
        assert changed_total(again.stdout) == 0, again.stdout
        again_check = playbook(*common, "--check")
        assert changed_total(again_check.stdout) == 0, again_check.stdout
        ping6 = lab_default.run("h1", ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", lab_default.address("h2", 6)],
                                check=False)
        assert ping6.returncode == 0, ping6.stdout
    finally:
        for node in ("h1", "r1", "h2"):
            _remove_policy(lab_default, node, backend)


def _remove_policy(lab: t.Any, node: str, backend: str) -> None:
    if backend == "nftables":
        lab.run(node, ["nft", "delete", "table", "inet", "netdevops_icmp"], check=False)
        return
    for tool in ("iptables", "ip6tables"):
        for builtin, chain in (("INPUT", "IN"), ("FORWARD", "FWD")):
            lab.run(node, [tool, "-D", builtin, "-j", "NETDEVOPS-ICMP-" + chain], check=False)
            lab.run(node, [tool, "-F", "NETDEVOPS-ICMP-" + chain], check=False)
            lab.run(node, [tool, "-X", "NETDEVOPS-ICMP-" + chain], check=False)


def test_rendered_and_parsed_never_touch_a_host(tmp_path: Path) -> None:
    play = tmp_path / "offline.yml"
    play.write_text("""
- name: Offline states
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Render
      netdevops.icmp.policy:
        state: rendered
        backend: iptables
        config: {profile: strict-host}
      register: out
    - name: Parse what was rendered, as iptables-save would print it
      netdevops.icmp.policy:
        state: parsed
        backend: iptables
        running_config: "{{ out.rendered | reject('search', 'restore') | join('\\n') | replace('-I INPUT 1', '-A INPUT') }}"
      register: back
    - name: Round trip
      ansible.builtin.assert:
        that:
          - out is not changed and back is not changed
          - back.parsed.rules | length == 33
          - back.parsed.rules | selectattr('type', 'equalto', 'echo-request') | map(attribute='rate') | list == ['5/second', '5/second']
    - name: Bad input is refused with the rule quoted
      netdevops.icmp.policy:
        state: rendered
        config:
          rules:
            - {family: ipv6, type: timestamp-request, action: drop}
      register: bad
      ignore_errors: true
    - name: The message names the rule and the fix
      ansible.builtin.assert:
        that:
          - bad is failed
          - "'is an ipv4 type' in bad.msg"
""", encoding="utf-8")
    playbook(str(play))


SSH_PLAY = """
- name: Commit-confirm over SSH across the lab (h1_ssh, the session starts in h2)
  hosts: h1_ssh
  gather_facts: false
  module_defaults:
    netdevops.icmp.policy:
      backend: "{{ backend }}"
      state_dir: "{{ workdir }}/state"
  tasks:
    - name: A safe policy is confirmed, its full-size read needs PMTUD across the 1400-byte link
      netdevops.icmp.policy:
        state: overridden
        config: {profile: rfc4890-host}
        confirm_timeout: 15
      register: safe

    - name: Push a policy that drops destination-unreachable (frag-needed too)
      netdevops.icmp.policy:
        state: merged
        allow_unsafe: true
        config:
          rules:
            - {family: ipv4, type: destination-unreachable, action: drop}
        confirm_timeout: 8
      register: cut
      ignore_errors: true

    - name: The safe push was confirmed; the bad one cut us off and the host rolled it back
      ansible.builtin.assert:
        that:
          - safe.applied and safe.confirm == 'confirmed'
          - cut is failed
          - cut.rolled_back and not cut.applied and cut.confirm == 'expired'
          - cut.warnings | select('search', 'cached path MTUs were flushed') | list | length == 1
"""


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_a_push_that_cuts_the_ssh_controller_off_is_rolled_back(lab_default: t.Any, tmp_path: Path, backend: str) -> None:
    """Lock-out over a real SSH session: h1's replies to the controller need PMTUD, the push kills it."""
    play = tmp_path / "ssh.yml"
    play.write_text(SSH_PLAY, encoding="utf-8")
    h1 = lab_default.address("h1")
    route = lab_default.run("h2", ["ip", "-4", "route", "get", h1]).stdout.split()
    via, dev = route[route.index("via") + 1], route[route.index("dev") + 1]
    # h2 (the controller's side) advertises MSS 1460, like a host on a 1500-byte LAN behind the
    # bottleneck; h1 forgets what it learnt, so its full-size replies need frag-needed.
    lab_default.run("h2", ["ip", "route", "replace", h1 + "/32", "via", via, "dev", dev, "advmss", "1460"])
    lab_default.run("h1", ["ip", "-4", "route", "flush", "cache"])
    try:
        run = playbook("-i", lab_default.inventory_path, str(play), "-e", "workdir=%s" % tmp_path,
                       "-e", "backend=%s" % backend, check=False)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
        assert re.search(r"^h1_ssh\s*: ok=3 .*failed=0 .*ignored=1", run.stdout, re.M), run.stdout[-1500:]
        # the host restored the snapshot taken before the bad push: the RFC 4890 policy, intact
        if backend == "nftables":
            live = lab_default.run("h1", ["nft", "list", "table", "inet", "netdevops_icmp"]).stdout
            assert not re.search(r"icmp type destination-unreachable counter( packets \d+ bytes \d+)? drop", live), live
            assert "packet-too-big" in live, live
        else:
            live = lab_default.run("h1", ["iptables-save"]).stdout
            assert "--icmp-type 3 -j DROP" not in live and "NETDEVOPS-ICMP-IN" in live, live
    finally:
        lab_default.run("h2", ["ip", "route", "del", h1 + "/32"], check=False)
        _remove_policy(lab_default, "h1", backend)


REPEAT_PLAY = """
- name: A repeat apply to an unchanged host costs about what a gathered run costs (h1 over SSH)
  hosts: h1_ssh
  gather_facts: false
  module_defaults:
    netdevops.icmp.policy:
      backend: "{{ backend }}"
      state_dir: "{{ workdir }}/state"
  tasks:
    - name: First apply, with commit-confirm over SSH
      netdevops.icmp.policy:
        state: overridden
        config: {profile: rfc4890-host}
      register: first

    - name: The change went through the whole protocol and was confirmed by the controller
      ansible.builtin.assert:
        that:
          - first is changed and first.confirm == 'confirmed'
          - first.commit_confirm.ran and first.commit_confirm.controller_confirmed
          - first.commit_confirm.round_trips <= 6

    - name: Alternate a gathered run and a repeat apply, {{ rounds }} times (load noise hits both alike)
      ansible.builtin.include_tasks: "{{ workdir }}/round.yml"
      loop: "{{ range(rounds | int) | list }}"

    - name: No change, no snapshot, no background job, no confirmation
      ansible.builtin.assert:
        that:
          - repeats | length == rounds | int
          - repeats | select('changed') | list | length == 0
          - repeats | map(attribute='snapshot') | select('number') | list | length == 0
          - repeats | map(attribute='commit_confirm') | map(attribute='ran') | select | list | length == 0
          - repeats | map(attribute='commit_confirm') | map(attribute='round_trips') | sum == 0
          - repeats | selectattr('confirm', 'defined') | list | length == 0

    - name: Report the times
      ansible.builtin.debug:
        msg: >-
          TIMES first_ms={{ first.commit_confirm.elapsed_ms }} confirm_ms={{ first.commit_confirm.confirm_ms }}
          gathered_s={{ gathered_s }} repeat_s={{ repeat_s }}
"""

ROUND = """
- name: Start the clock
  ansible.builtin.set_fact:
    t0: "{{ now().timestamp() }}"

- name: Gathered
  netdevops.icmp.policy:
    state: gathered

- name: Lap
  ansible.builtin.set_fact:
    t1: "{{ now().timestamp() }}"

- name: The same apply again
  netdevops.icmp.policy:
    state: overridden
    config: {profile: rfc4890-host}
  register: again

- name: Add up
  ansible.builtin.set_fact:
    gathered_s: "{{ gathered_s | default(0) | float + t1 | float - t0 | float }}"
    repeat_s: "{{ repeat_s | default(0) | float + now().timestamp() - t1 | float }}"
    repeats: "{{ repeats | default([]) + [again] }}"
"""


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_an_unchanged_repeat_apply_runs_no_async_job_and_no_confirm(
        lab_default: t.Any, tmp_path: Path, backend: str) -> None:
    play = tmp_path / "repeat.yml"
    play.write_text(REPEAT_PLAY, encoding="utf-8")
    (tmp_path / "round.yml").write_text(ROUND, encoding="utf-8")
    rounds = 5
    try:
        run = playbook("-i", lab_default.inventory_path, str(play), "-e", "workdir=%s" % tmp_path,
                       "-e", "backend=%s" % backend, "-e", "rounds=%d" % rounds, check=False)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
        times = dict(re.findall(r"(\w+_(?:ms|s))=([0-9.]+)", run.stdout.split("TIMES", 1)[1]))
        gathered, repeat = float(times["gathered_s"]) / rounds, float(times["repeat_s"]) / rounds
        print("backend=%s first_apply_ms=%s confirm_ms=%s gathered_s=%.3f repeat_apply_s=%.3f ratio=%.2f"
              % (backend, times["first_ms"], times["confirm_ms"], gathered, repeat, repeat / gathered))
        # one planning run, like gathered; the old protocol cost several times a gathered run
        assert repeat <= 1.5 * gathered, (repeat, gathered)
        # only the first apply took a snapshot
        assert len(list((tmp_path / "state" / backend).rglob("[0-9]*.json"))) == 1
    finally:
        _remove_policy(lab_default, "h1", backend)
