# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The Ansible inventory of a built lab, as data.

The engine stays stdlib-only: the caller (the module, on the controller where
PyYAML is) dumps it.
"""
from __future__ import annotations

import shlex
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr, sshd, tunnels
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Endpoint, Node, Segment, Topology

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


def segment_facts(topo: Topology) -> t.List[t.Dict[str, t.Any]]:
    """Segments as plain data: prefixes, members' and controller's addresses."""
    facts = []
    for segment in topo.segments:
        facts.append({
            "name": segment.name,
            "netns": segment.netns,
            "mtu": segment.mtu,
            "ipv4": str(segment.ipv4) if segment.ipv4 else None,
            "ipv6": str(segment.ipv6) if segment.ipv6 else None,
            "members": {end.node: _endpoint_addresses(end) for end in segment.members},
            "controller": _endpoint_addresses(segment.controller) if segment.controller else None,
            "controller_ifname": segment.controller.ifname if segment.controller else None,
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
    for end, mtu, peer in topo.interfaces(node.name):
        interfaces.append({
            "ifname": end.ifname,
            "peer": peer,
            "mtu": mtu,
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


def multipath_facts(topo: Topology, node: str) -> t.List[t.Dict[str, t.Any]]:
    """The node's multipath (ECMP) routes: destination and every next hop (drills find their diamond here)."""
    return [
        {"family": "ipv%d" % route.family, "destination": route.destination,
         "nexthops": [{"via": via, "dev": dev} for via, dev in route.nexthops()]}
        for route in topo.routes if route.node == node and route.multipath
    ]


def _controller_segment(topo: Topology, node: Node) -> t.Optional[t.Tuple[Segment, Endpoint]]:
    """The segment (and the node's end on it) that the controller reaches directly."""
    for segment in topo.segments_of(node.name):
        end = segment.member(node.name)
        if segment.controller is not None and end is not None and (end.ipv4 or end.ipv6):
            return segment, end
    return None


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
        multipath = multipath_facts(topo, node.name)
        if multipath:
            host["lab_multipath"] = multipath
        for router in topo.bgp:
            if router.node == node.name:
                host["lab_frr"] = frr.facts(router, paths.node_dir(node.name))
        groups["lab_hosts" if node.role == "host" else "lab_routers"][node.name] = host
        if not node.sshd or not facts["addresses"]["ipv4"] + facts["addresses"]["ipv6"]:
            continue
        direct = None if node.ssh_from else _controller_segment(topo, node)
        origin = _ssh_from(topo, node)
        if direct is not None:
            end = direct[1]
            address = str((end.ipv4 or end.ipv6).ip)  # type: ignore[union-attr]
            groups["lab_ssh"][node.name + "_ssh"] = _ssh_host(node, address, None, facts, paths, python, topo.name)
        elif origin is not None:
            address = (facts["addresses"]["ipv4"] + facts["addresses"]["ipv6"])[0]
            groups["lab_ssh"][node.name + "_ssh"] = _ssh_host(node, address, origin, facts, paths, python, topo.name)
    children = {group: {"hosts": hosts} for group, hosts in groups.items() if hosts}
    lab_vars: t.Dict[str, t.Any] = {"lab_links": link_facts(topo)}
    if topo.segments:
        lab_vars["lab_segments"] = segment_facts(topo)
    if topo.tunnels:
        lab_vars["lab_tunnels"] = [tunnels.facts(tunnel) for tunnel in topo.tunnels]
    return {"all": {"children": children, "vars": lab_vars}}


def _ssh_host(node: Node, address: str, origin: t.Optional[Node], facts: t.Dict[str, t.Any], paths: sshd.LabPaths,
              python: str, lab: str) -> t.Dict[str, t.Any]:
    """An SSH host: directly from the controller (``origin`` None) or relayed from ``origin``."""
    options = [
        "-o IdentitiesOnly=yes",
        "-o StrictHostKeyChecking=no",
        "-o UserKnownHostsFile=/dev/null",
    ]
    if origin is not None:
        proxy = "ip netns exec %s %s %s %%h %%p" % (origin.netns, python, paths.relay)
        options.append("-o " + shlex.quote("ProxyCommand=" + proxy))
    return {
        "ansible_connection": "ssh",
        "ansible_host": address,
        "ansible_user": "root",
        "ansible_port": 22,
        "ansible_ssh_private_key_file": paths.key,
        "ansible_ssh_common_args": " ".join(options),
        # One ssh master per lab: a master left from another lab that had the same address
        # (its namespace gone, its TCP connection dead) would take the session and hang it.
        "ansible_control_path": "%(directory)s/" + lab + "-%%C",
        "ansible_python_interpreter": python,
        "lab_name": lab,
        "lab_node": node.name,
        "lab_role": node.role,
        "lab_ssh_from": origin.name if origin is not None else None,
        "lab_addresses": facts["addresses"],
    }
