# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Conventions users rely on, through real ansible-playbook runs: module_defaults groups.

Probes go to loopback only (127.0.0.1).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .ansible_run import playbook


pytestmark = pytest.mark.root

PLAY = """
- name: module_defaults for the probes group
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/netdevops.icmp.probes:
      timeout: 0.5
      family: ipv6
  tasks:
    - name: Ping takes the group's defaults (family ipv6 refuses an IPv4 target)
      netdevops.icmp.ping:
        targets: [127.0.0.1]
        count: 1
      register: ping_v4
      failed_when: false

    - name: Ping with the group's defaults
      netdevops.icmp.ping:
        targets: ["::1"]
        count: 1
      register: ping_v6

    - name: Stats is not in the group, so the group's options never reach it
      netdevops.icmp.stats:
      register: stats

    - name: Keep the results for the test
      ansible.builtin.copy:
        content: "{{ {'ping_v4': ping_v4, 'ping_v6': ping_v6, 'stats': stats} | to_json }}"
        dest: "{{ results_path }}"
        mode: "0600"
"""


def test_probes_group_defaults_reach_ping_and_spare_stats(tmp_path: Path) -> None:
    play = tmp_path / "play.yml"
    play.write_text(PLAY, encoding="utf-8")
    results = tmp_path / "results.json"
    run = playbook("-i", "localhost,", "-e", "results_path=%s" % results, str(play), timeout=120,
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    found = json.loads(results.read_text(encoding="utf-8"))
    assert found["ping_v4"]["results"][0]["error"] == "127.0.0.1 is an IPv4 address but family is ipv6"
    assert found["ping_v6"]["results"][0]["reachable"] is True
    assert not found["stats"].get("failed") and found["stats"]["counters"], found["stats"]
