# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab through Ansible: lab_up / lab_down playbooks, the netns connection, SSH into a node.

One lab, built and removed by the playbooks themselves (ansible-playbook runs are slow,
so this module runs them once and checks several things on the way).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# h1 - r1 - h2 (the default lab before it grew a LAN, ECMP and BGP): three nodes are enough here
TOPOLOGY = REPO / "tests" / "unit" / "plugins" / "module_utils" / "_lab" / "fixtures" / "small.yml"

NODES_PLAY = """
- name: Reach every node through the netns connection
  hosts: lab_hosts:lab_routers
  gather_facts: false
  tasks:
    - name: Read the node's addresses inside its namespace
      ansible.builtin.command: ip -j addr show
      register: addr
      changed_when: false
    - name: The namespace holds exactly the node's lab addresses
      ansible.builtin.assert:
        that:
          - (addr.stdout | from_json | map(attribute='addr_info') | flatten
             | selectattr('scope', 'equalto', 'global') | map(attribute='local') | sort)
            == ((lab_addresses.ipv4 + lab_addresses.ipv6) | sort)
    - name: Copy a file in
      ansible.builtin.copy:
        content: "{{ inventory_hostname }} in {{ lab_netns }}\\n"
        dest: "{{ workdir }}/{{ inventory_hostname }}.txt"
        mode: "0644"
    - name: Fetch it back
      ansible.builtin.fetch:
        src: "{{ workdir }}/{{ inventory_hostname }}.txt"
        dest: "{{ workdir }}/fetched/"
    - name: Ping h2 from the node, inside the lab
      ansible.builtin.command: ping -c 1 -W 2 {{ hostvars['h2'].lab_addresses.ipv4[0] }}
      changed_when: false

- name: Reach the sshd nodes (h1, h2) over SSH across the lab path
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Read the node's addresses over SSH
      ansible.builtin.command: ip -j addr show
      register: addr
      changed_when: false
    - name: The SSH session landed in the node's namespace
      ansible.builtin.assert:
        that:
          - lab_addresses.ipv4[0] in addr.stdout
"""

MISSING_PLAY = """
- name: A namespace that does not exist
  hosts: ghost
  gather_facts: false
  tasks:
    - name: Anything
      ansible.builtin.command: "true"
      changed_when: false
"""


def playbook(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".build" / "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def recap_changed(output: str) -> int:
    return int(re.search(r"localhost\s*:.*changed=(\d+)", output).group(1))  # type: ignore[union-attr]


def test_lab_up_nodes_and_lab_down(tmp_path: Path) -> None:
    name = "a%s" % os.urandom(3).hex()
    topology = yaml.safe_load(TOPOLOGY.read_text(encoding="utf-8"))
    topology["nodes"][2]["sshd"] = True
    topology_file = tmp_path / "topology.yml"
    topology_file.write_text(yaml.safe_dump(topology), encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    state_dir = tmp_path / "state"
    lab_vars = [
        "-e", "icmp_lab_name=%s" % name,
        "-e", "icmp_lab_topology_file=%s" % topology_file,
        "-e", "icmp_lab_inventory_path=%s" % inventory,
        "-e", "icmp_lab_state_dir=%s" % state_dir,
    ]
    try:
        first = playbook(str(REPO / "playbooks" / "lab_up.yml"), *lab_vars)
        assert recap_changed(first.stdout) == 1
        again = playbook(str(REPO / "playbooks" / "lab_up.yml"), *lab_vars)
        assert recap_changed(again.stdout) == 0, again.stdout

        hosts = yaml.safe_load(inventory.read_text(encoding="utf-8"))["all"]["children"]
        assert sorted(hosts["lab_hosts"]["hosts"]) == ["h1", "h2"]
        assert sorted(hosts["lab_routers"]["hosts"]) == ["r1"]
        assert sorted(hosts["lab_ssh"]["hosts"]) == ["h1_ssh", "h2_ssh"]  # h1 has sshd in the default lab

        play = tmp_path / "nodes.yml"
        play.write_text(NODES_PLAY, encoding="utf-8")
        (tmp_path / "fetched").mkdir()
        nodes = playbook("-i", str(inventory), str(play), "-e", "workdir=%s" % tmp_path)
        for host in ("h1", "r1", "h2", "h1_ssh", "h2_ssh"):
            assert re.search(r"^%s\s*: ok=\d+ .*failed=0" % host, nodes.stdout, re.M), nodes.stdout
        for node in ("h1", "r1", "h2"):
            fetched = tmp_path / "fetched" / node / str(tmp_path).lstrip("/") / ("%s.txt" % node)
            assert fetched.read_text(encoding="utf-8") == "%s in nilab-%s-%s\n" % (node, name, node)

        ghost_inventory = tmp_path / "ghost.yml"
        ghost_inventory.write_text(json.dumps({"all": {"hosts": {"ghost": {
            "ansible_connection": "netdevops.icmp.netns", "ansible_host": "nilab-%s-ghost" % name,
        }}}}), encoding="utf-8")
        ghost_play = tmp_path / "ghost_play.yml"
        ghost_play.write_text(MISSING_PLAY, encoding="utf-8")
        ghost = playbook("-i", str(ghost_inventory), str(ghost_play), check=False)
        assert ghost.returncode != 0
        assert "network namespace 'nilab-%s-ghost' does not exist" % name in ghost.stdout

        down = playbook(str(REPO / "playbooks" / "lab_down.yml"), *lab_vars)
        assert recap_changed(down.stdout) == 1
        assert not inventory.exists()
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        assert "nilab-%s-" % name not in listed
        down_again = playbook(str(REPO / "playbooks" / "lab_down.yml"), *lab_vars)
        assert recap_changed(down_again.stdout) == 0
    finally:
        LabEngine(SubprocessRunner(), state_dir=str(state_dir)).down(name)


FLEET_PLAY = """
- name: Every fleet host over SSH, straight from the controller
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Read the host's addresses over SSH
      ansible.builtin.command: ip -j addr show nl-lan
      register: addr
      changed_when: false
    - name: The session landed in the right namespace, without a relay
      ansible.builtin.assert:
        that:
          - lab_addresses.ipv4[0] in addr.stdout
          - lab_ssh_from is none
          - "'ProxyCommand' not in ansible_ssh_common_args"
"""


def test_fleet_role_size_and_direct_ssh(tmp_path: Path) -> None:
    name = "f%s" % os.urandom(3).hex()
    inventory = tmp_path / "inventory.yml"
    state_dir = tmp_path / "state"
    lab_vars = [
        "-e", "icmp_lab_name=%s" % name, "-e", "icmp_lab_topology_name=fleet", "-e", "icmp_lab_fleet_size=4",
        "-e", "icmp_lab_inventory_path=%s" % inventory, "-e", "icmp_lab_state_dir=%s" % state_dir,
    ]
    try:
        up = playbook(str(REPO / "playbooks" / "lab_up.yml"), *lab_vars)
        assert recap_changed(up.stdout) == 1
        hosts = yaml.safe_load(inventory.read_text(encoding="utf-8"))["all"]["children"]["lab_ssh"]["hosts"]
        assert sorted(hosts) == ["h1_ssh", "h2_ssh", "h3_ssh", "h4_ssh"]
        assert hosts["h4_ssh"]["ansible_host"] == "198.51.100.5"
        play = tmp_path / "fleet.yml"
        play.write_text(FLEET_PLAY, encoding="utf-8")
        reached = playbook("-i", str(inventory), "-f", "4", str(play))
        assert len(re.findall(r"^h\d_ssh\s*: ok=2 .*failed=0", reached.stdout, re.M)) == 4, reached.stdout
        down = playbook(str(REPO / "playbooks" / "lab_down.yml"), *lab_vars)
        assert recap_changed(down.stdout) == 1
        links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
        assert "nl-%s" % name not in links
    finally:
        LabEngine(SubprocessRunner(), state_dir=str(state_dir)).down(name)
