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

import dataclasses
import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr, names
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.ecmp import parse_ecmp, with_hash_policy
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.links import parse_links
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    DEFAULT_PING_GROUP_RANGE,
    EARLY_SYSCTLS,
    ROLES,
    Node,
    Topology,
    check_ifname_length,
    check_keys,
    check_name,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.routing import (
    compute_routes,
    parse_static_routes,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.segments import SegmentParser
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.tunnels import parse_tunnels

_TOP_KEYS = ("name", "nodes", "links", "segments", "routes", "auto_routes", "ecmp", "tunnels", "description")
_NODE_KEYS = ("name", "role", "sshd", "ssh_from", "sysctls", "ping_group_range", "count", "frr")
MAX_COUNT = 1000
# Per-namespace sysctls only: everything outside net.* is host-wide (kernel.*, vm.*,
# fs.*), and so are the neighbour-table limits, which only the init namespace has.
SYSCTL_KEY_RE = re.compile(r"net(?:\.[A-Za-z0-9_-]+){1,6}")
HOST_WIDE_SYSCTL_RE = re.compile(r"net\.ipv[46]\.neigh\.default\.gc_(?:thresh[123]|interval|stale_time)")
SYSCTL_VALUE_RE = re.compile(r"[A-Za-z0-9_.:,/+-]+(?: [A-Za-z0-9_.:,/+-]+)*")
GROUP_ID_RE = re.compile(r"[0-9]{1,10}")


def parse_topology(data: t.Any, name: t.Optional[str] = None, fleet_size: t.Optional[int] = None) -> Topology:
    """Validate ``data`` (the topology document); ``name`` overrides its ``name``,
    ``fleet_size`` the ``count`` of every counted node entry."""
    data = check_keys(data, _TOP_KEYS, "the topology")
    lab = _parse_lab_name(name if name is not None else data.get("name"))
    nodes, groups = _parse_nodes(data.get("nodes"), lab, fleet_size)
    node_names = [node.name for node in nodes]
    segments = SegmentParser(lab, node_names, groups)
    segments.parse(data.get("segments"))
    links = parse_links(data.get("links"), node_names, reserved=segments.explicit_prefixes())
    built = segments.finish(links)
    auto_routes = data.get("auto_routes", True)
    if not isinstance(auto_routes, bool):
        raise TopologyError("auto_routes must be true or false, got %r" % (auto_routes,))
    ecmp = parse_ecmp(data.get("ecmp"))
    topo = Topology(lab, tuple(nodes), tuple(links), (), tuple(built))
    static = parse_static_routes(data.get("routes"), topo)
    auto = compute_routes(topo, multipath=ecmp.auto) if auto_routes else []
    overridden = {(route.node, route.destination) for route in static}
    routes = [route for route in auto if (route.node, route.destination) not in overridden] + static
    nodes = with_hash_policy(nodes, routes, ecmp)
    topo = Topology(lab, tuple(nodes), tuple(links), tuple(routes), tuple(built))
    topo = dataclasses.replace(topo, tunnels=parse_tunnels(data.get("tunnels"), topo))
    return dataclasses.replace(topo, bgp=frr.parse_routers(data["nodes"], topo))


def _parse_lab_name(value: t.Any) -> str:
    if not names.valid_lab_name(value):
        raise TopologyError(
            "lab name %r is invalid: use 1 to 12 lower-case letters and digits, starting "
            "with a letter (it is part of every namespace name, nilab-<lab>-<node>)" % (value,)
        )
    return value


def _parse_nodes(value: t.Any, lab: str, fleet_size: t.Optional[int]) -> t.Tuple[t.List[Node], t.Dict[str, t.List[str]]]:
    """The nodes, and the groups of counted entries (base name -> node names)."""
    if not isinstance(value, list) or not value:
        raise TopologyError("nodes must be a non-empty list of nodes, got %r" % (value,))
    nodes: t.List[Node] = []
    groups: t.Dict[str, t.List[str]] = {}
    seen: t.Dict[str, int] = {}
    for index, raw in enumerate(value, start=1):
        expanded = _expand_count(raw, index, fleet_size)
        if isinstance(raw, dict) and "count" in raw:
            groups[str(raw.get("name"))] = [str(item["name"]) for item in expanded]
        for item in expanded:
            node = _parse_node(item, index, lab)
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
    return nodes, groups


def _expand_count(raw: t.Any, index: int, fleet_size: t.Optional[int]) -> t.List[t.Any]:
    """``{name: h, count: 3}`` -> nodes h1, h2, h3 (``fleet_size`` overrides the count)."""
    if not isinstance(raw, dict) or "count" not in raw:
        return [raw]
    count = raw["count"] if fleet_size is None else fleet_size
    where = "node entry %d (%r)" % (index, raw.get("name"))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise TopologyError("%s has count %r; use a whole number from 1 to %d" % (where, count, MAX_COUNT))
    check_name(raw.get("name"), "node entry %d" % index)
    if raw.get("ssh_from") is not None:
        raise TopologyError("%s: ssh_from is not allowed on a counted entry; list such nodes one by one" % where)
    base = dict(raw)
    del base["count"]
    return [dict(base, name="%s%d" % (raw["name"], number)) for number in range(1, count + 1)]


def _parse_node(raw: t.Any, index: int, lab: str) -> Node:
    if isinstance(raw, str):
        raw = {"name": raw}
    data = check_keys(raw, _NODE_KEYS, "node entry %d" % index)
    name = check_name(data.get("name"), "node entry %d" % index)
    check_ifname_length("node", name)
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
        merged[_sysctl_key(name, key)] = _sysctl_value(name, key, value)
    return tuple(sorted(merged.items()))


def _sysctl_key(name: str, key: t.Any) -> str:
    normalised = key.replace("/", ".") if isinstance(key, str) else key
    if not isinstance(normalised, str) or SYSCTL_KEY_RE.fullmatch(normalised) is None:
        raise TopologyError(
            "node %r: sysctl key %r is refused: a lab node may set only per-namespace keys under net. "
            "(such as net.ipv4.icmp_ratelimit); keys outside net. (kernel.*, vm.*, fs.*) change the "
            "whole host" % (name, key)
        )
    if HOST_WIDE_SYSCTL_RE.fullmatch(normalised) is not None:
        raise TopologyError(
            "node %r: sysctl key %r is refused: the neighbour-table limits are shared by every "
            "namespace of the host; size the lab within them instead" % (name, key)
        )
    return normalised


def _sysctl_value(name: str, key: str, value: t.Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TopologyError("node %r: sysctl %s has value %r; use a string or an integer" % (name, key, value))
    text = " ".join(str(value).split())
    if SYSCTL_VALUE_RE.fullmatch(text) is None:
        raise TopologyError(
            "node %r: sysctl %s has value %r; use numbers, words and the characters _ . : , / + -" % (name, key, value)
        )
    return text


def _ping_group_range(name: str, value: t.Any) -> str:
    if value is None:
        return DEFAULT_PING_GROUP_RANGE
    parts = str(value).split()
    if len(parts) != 2 or not all(GROUP_ID_RE.fullmatch(part) for part in parts):
        raise TopologyError(
            "node %r: ping_group_range %r must be two group ids such as \"0 2147483647\" "
            "(or \"1 0\" to forbid unprivileged ICMP sockets)" % (name, value)
        )
    return " ".join(parts)
