# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Parse and validate a lab topology into frozen dataclasses, filling in defaults.

Input is a plain dict (the YAML document). Every error quotes the bad value and
says what to do; nothing is ever half-parsed.
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import names
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.links import parse_links
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    DEFAULT_PING_GROUP_RANGE,
    EARLY_SYSCTLS,
    ROLES,
    Node,
    Topology,
    check_keys,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.routing import (
    compute_routes,
    parse_static_routes,
)

_TOP_KEYS = ("name", "nodes", "links", "routes", "auto_routes", "description")
_NODE_KEYS = ("name", "role", "sshd", "ssh_from", "sysctls", "ping_group_range")


def parse_topology(data: t.Any, name: t.Optional[str] = None) -> Topology:
    """Validate ``data`` (the topology document); ``name`` overrides its ``name``."""
    data = check_keys(data, _TOP_KEYS, "the topology")
    lab = _parse_lab_name(name if name is not None else data.get("name"))
    nodes = _parse_nodes(data.get("nodes"), lab)
    node_names = [node.name for node in nodes]
    links = parse_links(data.get("links"), node_names)
    auto_routes = data.get("auto_routes", True)
    if not isinstance(auto_routes, bool):
        raise TopologyError("auto_routes must be true or false, got %r" % (auto_routes,))
    topo = Topology(lab, tuple(nodes), tuple(links), ())
    static = parse_static_routes(data.get("routes"), topo)
    auto = compute_routes(topo) if auto_routes else []
    overridden = {(route.node, route.destination) for route in static}
    routes = [route for route in auto if (route.node, route.destination) not in overridden]
    return Topology(lab, tuple(nodes), tuple(links), tuple(routes + static))


def _parse_lab_name(value: t.Any) -> str:
    if not isinstance(value, str) or not names.LAB_NAME_RE.match(value):
        raise TopologyError(
            "lab name %r is invalid: use 1 to 12 lower-case letters and digits, starting "
            "with a letter (it is part of every namespace name, nilab-<lab>-<node>)" % (value,)
        )
    return value


def _parse_nodes(value: t.Any, lab: str) -> t.List[Node]:
    if not isinstance(value, list) or not value:
        raise TopologyError("nodes must be a non-empty list of nodes, got %r" % (value,))
    nodes: t.List[Node] = []
    seen: t.Dict[str, int] = {}
    for index, raw in enumerate(value, start=1):
        node = _parse_node(raw, index, lab)
        if node.name in seen:
            raise TopologyError(
                "duplicate node %r in nodes (entries %d and %d): node names must be unique"
                % (node.name, seen[node.name], index)
            )
        seen[node.name] = index
        nodes.append(node)
    for node in nodes:
        if node.ssh_from is not None and (node.ssh_from not in seen or node.ssh_from == node.name):
            raise TopologyError(
                "node %r has ssh_from %r, which is not another node of the lab; known nodes: %s"
                % (node.name, node.ssh_from, ", ".join(seen))
            )
    return nodes


def _parse_node(raw: t.Any, index: int, lab: str) -> Node:
    if isinstance(raw, str):
        raw = {"name": raw}
    data = check_keys(raw, _NODE_KEYS, "node entry %d" % index)
    name = data.get("name")
    if not isinstance(name, str) or not names.NODE_NAME_RE.match(name):
        raise TopologyError(
            "node entry %d has invalid name %r: use lower-case letters, digits and _, "
            "starting with a letter" % (index, name)
        )
    derived = names.ifname(name)
    if len(derived) > names.IFNAME_MAX:
        raise TopologyError(
            "node name %r is too long: the interface name %r derived from it has %d characters "
            "and Linux allows %d; use node names of at most %d characters"
            % (name, derived, len(derived), names.IFNAME_MAX,
               names.IFNAME_MAX - len(names.IFNAME_PREFIX))
        )
    role = data.get("role", "host")
    if role not in ROLES:
        raise TopologyError("node %r has role %r; use one of: %s" % (name, role, ", ".join(ROLES)))
    sshd = data.get("sshd", False)
    if not isinstance(sshd, bool):
        raise TopologyError("node %r: sshd must be true or false, got %r" % (name, sshd))
    ssh_from = data.get("ssh_from")
    if ssh_from is not None and not isinstance(ssh_from, str):
        raise TopologyError("node %r: ssh_from must be a node name, got %r" % (name, ssh_from))
    sysctls = _node_sysctls(name, role, data)
    return Node(name, role, names.netns_name(lab, name), sshd, ssh_from, sysctls)


def _node_sysctls(name: str, role: str, data: t.Dict[str, t.Any]) -> t.Tuple[t.Tuple[str, str], ...]:
    forwarding = "1" if role == "router" else "0"
    # Set explicitly: IPv4 defaults are inherited from the root namespace otherwise.
    merged: t.Dict[str, str] = dict(EARLY_SYSCTLS)
    merged.update({
        "net.ipv4.ip_forward": forwarding,
        "net.ipv6.conf.all.forwarding": forwarding,
        "net.ipv4.ping_group_range": _ping_group_range(name, data.get("ping_group_range")),
    })
    extra = data.get("sysctls") or {}
    if not isinstance(extra, dict):
        raise TopologyError("node %r: sysctls must be a mapping of key: value, got %r" % (name, extra))
    for key, value in extra.items():
        if not isinstance(key, str) or not key or any(ch.isspace() or ch == "=" for ch in key):
            raise TopologyError("node %r: invalid sysctl key %r" % (name, key))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TopologyError(
                "node %r: sysctl %s has value %r; use a string or an integer" % (name, key, value)
            )
        merged[key.replace("/", ".")] = " ".join(str(value).split())
    return tuple(sorted(merged.items()))


def _ping_group_range(name: str, value: t.Any) -> str:
    if value is None:
        return DEFAULT_PING_GROUP_RANGE
    parts = str(value).split()
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise TopologyError(
            "node %r: ping_group_range %r must be two group ids such as \"0 2147483647\" "
            "(or \"1 0\" to forbid unprivileged ICMP sockets)" % (name, value)
        )
    return " ".join(parts)
