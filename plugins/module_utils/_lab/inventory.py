# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The Ansible inventory of a built lab, and a small YAML writer for it.

The engine stays stdlib-only, so it writes YAML itself: the data is only
mappings, lists, strings, integers and booleans, and strings are written as
JSON strings, which are valid YAML double-quoted scalars.
"""
from __future__ import annotations

import json
import shlex
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Node, Topology

CONNECTION = "netdevops.icmp.netns"


def link_facts(topo: Topology) -> t.List[t.Dict[str, t.Any]]:
    """Links as plain data (also the fixture's ``Lab.links()``)."""
    facts = []
    for link in topo.links:
        facts.append({
            "a": link.a.node,
            "b": link.b.node,
            "mtu": link.mtu,
            "a_ifname": link.a.ifname,
            "b_ifname": link.b.ifname,
            "ipv4": str(link.ipv4) if link.ipv4 else None,
            "ipv6": str(link.ipv6) if link.ipv6 else None,
            "a_addresses": _endpoint_addresses(link.a),
            "b_addresses": _endpoint_addresses(link.b),
        })
    return facts


def _endpoint_addresses(end: t.Any) -> t.Dict[str, t.Optional[str]]:
    return {
        "ipv4": str(end.ipv4.ip) if end.ipv4 else None,
        "ipv6": str(end.ipv6.ip) if end.ipv6 else None,
    }


def node_addresses(topo: Topology, node: str) -> t.Dict[str, t.List[str]]:
    return {
        "ipv4": [str(addr.ip) for addr in topo.addresses(node, 4)],
        "ipv6": [str(addr.ip) for addr in topo.addresses(node, 6)],
    }


def node_facts(topo: Topology, node: Node) -> t.Dict[str, t.Any]:
    interfaces = []
    for link in topo.links_of(node.name):
        end = link.endpoint(node.name)
        interfaces.append({
            "ifname": end.ifname,
            "peer": link.peer(node.name).node,
            "mtu": link.mtu,
            "ipv4": str(end.ipv4) if end.ipv4 else None,
            "ipv6": str(end.ipv6) if end.ipv6 else None,
        })
    return {
        "name": node.name,
        "role": node.role,
        "netns": node.netns,
        "sshd": node.sshd,
        "addresses": node_addresses(topo, node.name),
        "interfaces": interfaces,
    }


def _ssh_from(topo: Topology, node: Node) -> t.Optional[Node]:
    if node.ssh_from:
        return topo.node(node.ssh_from)
    others = [other for other in topo.nodes if other.name != node.name]
    hosts = [other for other in others if other.role == "host"]
    candidates = hosts or others
    return candidates[0] if candidates else None


def build_inventory(topo: Topology, paths: sshd.LabPaths, python: str) -> t.Dict[str, t.Any]:
    groups: t.Dict[str, t.Dict[str, t.Any]] = {"lab_hosts": {}, "lab_routers": {}, "lab_ssh": {}}
    for node in topo.nodes:
        facts = node_facts(topo, node)
        host = {
            "ansible_connection": CONNECTION,
            "ansible_host": node.netns,
            "ansible_python_interpreter": python,
            "lab_name": topo.name,
            "lab_node": node.name,
            "lab_role": node.role,
            "lab_netns": node.netns,
            "lab_addresses": facts["addresses"],
            "lab_interfaces": facts["interfaces"],
        }
        groups["lab_hosts" if node.role == "host" else "lab_routers"][node.name] = host
        origin = _ssh_from(topo, node)
        if node.sshd and origin is not None and facts["addresses"]["ipv4"] + facts["addresses"]["ipv6"]:
            groups["lab_ssh"][node.name + "_ssh"] = _ssh_host(node, origin, facts, paths, python, topo.name)
    children = {group: {"hosts": hosts} for group, hosts in groups.items() if hosts}
    return {"all": {"children": children, "vars": {"lab_links": link_facts(topo)}}}


def _ssh_host(node: Node, origin: Node, facts: t.Dict[str, t.Any], paths: sshd.LabPaths, python: str, lab: str) -> t.Dict[str, t.Any]:
    address = (facts["addresses"]["ipv4"] + facts["addresses"]["ipv6"])[0]
    proxy = "ip netns exec %s %s %s %%h %%p" % (origin.netns, python, paths.relay)
    options = [
        "-o IdentitiesOnly=yes",
        "-o StrictHostKeyChecking=no",
        "-o UserKnownHostsFile=/dev/null",
        "-o " + shlex.quote("ProxyCommand=" + proxy),
    ]
    return {
        "ansible_connection": "ssh",
        "ansible_host": address,
        "ansible_user": "root",
        "ansible_port": 22,
        "ansible_ssh_private_key_file": paths.key,
        "ansible_ssh_common_args": " ".join(options),
        "ansible_python_interpreter": python,
        "lab_name": lab,
        "lab_node": node.name,
        "lab_role": node.role,
        "lab_ssh_from": origin.name,
        "lab_addresses": facts["addresses"],
    }


def to_yaml(data: t.Any, indent: int = 0) -> str:
    """Block-style YAML for mappings, lists and scalars."""
    return "---\n" + "".join(_lines(data, indent))


def _scalar(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def _lines(data: t.Any, indent: int) -> t.Iterator[str]:
    pad = " " * indent
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                yield "%s%s:\n" % (pad, _key(key))
                yield from _lines(value, indent + 2)
            else:
                yield "%s%s: %s\n" % (pad, _key(key), _empty_or_scalar(value))
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)) and item:
                body = "".join(_lines(item, indent + 2))
                yield "%s- %s" % (pad, body[indent + 2:])
            else:
                yield "%s- %s\n" % (pad, _empty_or_scalar(item))
    else:
        yield "%s%s\n" % (pad, _scalar(data))


def _key(key: t.Any) -> str:
    text = str(key)
    return text if text.replace("_", "").isalnum() and text.isascii() else json.dumps(text)


def _empty_or_scalar(value: t.Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)
