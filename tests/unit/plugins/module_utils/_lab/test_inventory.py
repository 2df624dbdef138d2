# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory a lab writes (data; the module dumps it with PyYAML)."""
from __future__ import annotations

import shlex
import typing as t

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory, names, sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology


def test_inventory_of_the_default_lab(default_topology: t.Dict[str, t.Any]) -> None:
    default_topology["nodes"][2]["sshd"] = True
    topo = parse_topology(default_topology, name="t1")
    paths = sshd.LabPaths("/state", "t1")
    data = inventory.build_inventory(topo, paths, "/venv/bin/python3")
    assert yaml.safe_load(yaml.safe_dump(data)) == data
    children = data["all"]["children"]
    assert sorted(children) == ["lab_hosts", "lab_routers", "lab_ssh"]
    h1 = children["lab_hosts"]["hosts"]["h1"]
    assert h1["ansible_connection"] == "netdevops.icmp.netns"
    assert h1["ansible_host"] == "nilab-t1-h1"
    assert h1["ansible_python_interpreter"] == "/venv/bin/python3"
    assert h1["lab_addresses"] == {"ipv4": ["198.51.100.10"], "ipv6": ["2001:db8:1::10"]}
    assert h1["lab_role"] == "host" and h1["lab_name"] == "t1"
    assert h1["lab_interfaces"] == [
        {"ifname": "nl-r1", "peer": "r1", "mtu": 1500, "ipv4": "198.51.100.10/24", "ipv6": "2001:db8:1::10/64"},
    ]
    assert children["lab_routers"]["hosts"]["r1"]["lab_role"] == "router"
    links = data["all"]["vars"]["lab_links"]
    assert [(link["a"], link["b"], link["mtu"]) for link in links] == [("h1", "r1", 1500), ("r1", "h2", 1400)]
    assert links[1]["b_addresses"] == {"ipv4": "203.0.113.10", "ipv6": "2001:db8:2::10"}

    ssh = children["lab_ssh"]["hosts"]["h2_ssh"]
    assert ssh["ansible_host"] == "203.0.113.10"
    assert ssh["ansible_ssh_private_key_file"] == "/state/t1/id_ed25519"
    assert ssh["lab_ssh_from"] == "h1"
    words = shlex.split(ssh["ansible_ssh_common_args"])
    assert "ProxyCommand=ip netns exec nilab-t1-h1 /venv/bin/python3 /state/t1/tcp_relay.py %h %p" in words


def test_ssh_from_is_respected(default_topology: t.Dict[str, t.Any]) -> None:
    default_topology["nodes"][0].update({"sshd": True, "ssh_from": "r1"})
    topo = parse_topology(default_topology)
    data = inventory.build_inventory(topo, sshd.LabPaths("/s", "default"), "python3")
    assert data["all"]["children"]["lab_ssh"]["hosts"]["h1_ssh"]["lab_ssh_from"] == "r1"


def fleet(size: int = 3) -> t.Dict[str, t.Any]:
    return {
        "name": "f1",
        "nodes": [{"name": "h", "count": size, "sshd": True}, {"name": "r1", "role": "router", "sshd": True}],
        "segments": [{"name": "lan", "members": ["h", "r1"], "controller": True, "ipv4": "198.51.100.0/24",
                      "ipv6": "2001:db8:100::/64"}],
    }


def test_fleet_hosts_are_reached_directly_from_the_controller() -> None:
    topo = parse_topology(fleet())
    data = inventory.build_inventory(topo, sshd.LabPaths("/state", "f1"), "/venv/bin/python3")
    ssh_hosts = data["all"]["children"]["lab_ssh"]["hosts"]
    assert sorted(ssh_hosts) == ["h1_ssh", "h2_ssh", "h3_ssh", "r1_ssh"]
    h2 = ssh_hosts["h2_ssh"]
    # The controller is 198.51.100.1; members follow in order.
    assert h2["ansible_host"] == "198.51.100.3"
    assert h2["ansible_ssh_private_key_file"] == "/state/f1/id_ed25519"
    assert h2["lab_ssh_from"] is None
    assert "ProxyCommand" not in h2["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=no" in h2["ansible_ssh_common_args"]
    # Another lab on the same addresses (the default lab's h1 is a fleet's h9) never shares its ssh master.
    assert h2["ansible_control_path"] == "%(directory)s/f1-%%C"
    segment = data["all"]["vars"]["lab_segments"][0]
    assert segment["controller"] == {"ipv4": "198.51.100.1", "ipv6": "2001:db8:100::1"}
    assert segment["controller_ifname"] == "nl-f1"
    assert segment["members"]["h3"] == {"ipv4": "198.51.100.4", "ipv6": "2001:db8:100::4"}
    h1 = data["all"]["children"]["lab_hosts"]["hosts"]["h1"]
    assert h1["lab_interfaces"] == [
        {"ifname": "nl-lan", "peer": "lan", "mtu": 1500, "ipv4": "198.51.100.2/24", "ipv6": "2001:db8:100::2/64"},
    ]


def test_explicit_ssh_from_still_relays_on_a_controller_segment() -> None:
    spec = fleet(2)
    spec["nodes"].append({"name": "x", "sshd": True, "ssh_from": "h1"})
    spec["segments"][0]["members"].append("x")
    topo = parse_topology(spec)
    data = inventory.build_inventory(topo, sshd.LabPaths("/state", "f1"), "python3")
    relayed = data["all"]["children"]["lab_ssh"]["hosts"]["x_ssh"]
    assert relayed["lab_ssh_from"] == "h1"
    assert "ProxyCommand=ip netns exec nilab-f1-h1" in relayed["ansible_ssh_common_args"]


def test_names() -> None:
    assert names.netns_name("t1", "r1") == "nilab-t1-r1"
    assert names.split_netns("nilab-t1-r1") == ("t1", "r1")
    assert names.split_netns("nilab-t1-my_node") == ("t1", "my_node")
    for other in ("nipath-h1", "nilab-", "nilab-t1", "nilabt1-h1", "mol-ns1"):
        assert names.split_netns(other) is None
    assert names.is_lab_link("nl-h1") and names.is_lab_link("nilab-x-p")
    assert not names.is_lab_link("nlmon0") and not names.is_lab_link("eth0")
    assert names.is_lab_link("nl-t1", ["t1"]) and not names.is_lab_link("nl-t2", ["t1"])
    assert names.controller_ifname("t1") == "nl-t1" and names.is_lab_link(names.controller_ifname("t1"), ["t1"])


@pytest.mark.parametrize("value", ["lab\n", "lab\nx", "Lab", "1lab", "lab-1", "abcdefghijklm", "", None, 7])
def test_lab_names_are_matched_in_full(value: t.Any) -> None:
    assert not names.valid_lab_name(value)


@pytest.mark.parametrize("value", ["h1\n", "h1\nip", "H1", "1h", "h-1", "h 1", "", None])
def test_node_names_are_matched_in_full(value: t.Any) -> None:
    assert not names.valid_node_name(value)
