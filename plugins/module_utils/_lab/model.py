# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The lab's data model: frozen dataclasses, constants and shared checks."""
from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError

IPInterface = t.Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
IPNetwork = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Labs use only the documentation ranges (RFC 5737, RFC 3849).
DOC_RANGES: t.Tuple[IPNetwork, ...] = (
    ipaddress.ip_network("192.0.2.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
)
# Where links without an explicit prefix get theirs from.
AUTO_POOL_V4 = ipaddress.ip_network("192.0.2.0/24")
AUTO_PREFIXLEN_V4 = 30
AUTO_POOL_V6 = ipaddress.ip_network("2001:db8:0:0::/48")
AUTO_PREFIXLEN_V6 = 64
DEFAULT_MTU = 1500
MIN_MTU = 68
MIN_MTU_IPV6 = 1280  # RFC 8200 section 5
MAX_MTU = 65535
DEFAULT_PING_GROUP_RANGE = "0 2147483647"
ROLES = ("host", "router")
# Set right after a namespace is created, before any interface exists, so that
# link-local addresses skip duplicate address detection too (global addresses
# are added with nodad): a tentative link-local delays neighbour discovery and
# loses the first IPv6 packets of a fresh lab.
EARLY_SYSCTLS = (
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
)


@dataclass(frozen=True)
class Node:
    name: str
    role: str
    netns: str
    sshd: bool
    ssh_from: t.Optional[str]
    sysctls: t.Tuple[t.Tuple[str, str], ...]


@dataclass(frozen=True)
class Endpoint:
    node: str
    ifname: str
    ipv4: t.Optional[ipaddress.IPv4Interface]
    ipv6: t.Optional[ipaddress.IPv6Interface]

    def address(self, family: int) -> t.Optional[IPInterface]:
        return self.ipv4 if family == 4 else self.ipv6


@dataclass(frozen=True)
class Link:
    index: int
    a: Endpoint
    b: Endpoint
    mtu: int
    ipv4: t.Optional[ipaddress.IPv4Network]
    ipv6: t.Optional[ipaddress.IPv6Network]

    def prefix(self, family: int) -> t.Optional[IPNetwork]:
        return self.ipv4 if family == 4 else self.ipv6

    def endpoint(self, node: str) -> Endpoint:
        return self.a if self.a.node == node else self.b

    def peer(self, node: str) -> Endpoint:
        return self.b if self.a.node == node else self.a


@dataclass(frozen=True)
class Route:
    node: str
    family: int
    destination: str  # normalised prefix, "0.0.0.0/0" / "::/0" for default
    via: str
    dev: str
    origin: str  # "auto" or "static"


@dataclass(frozen=True)
class Topology:
    name: str
    nodes: t.Tuple[Node, ...]
    links: t.Tuple[Link, ...]
    routes: t.Tuple[Route, ...]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def links_of(self, node: str) -> t.List[Link]:
        return [link for link in self.links if node in (link.a.node, link.b.node)]

    def addresses(self, node: str, family: int) -> t.List[IPInterface]:
        found = [link.endpoint(node).address(family) for link in self.links_of(node)]
        return [addr for addr in found if addr is not None]


def check_keys(data: t.Any, allowed: t.Sequence[str], where: str) -> t.Dict[str, t.Any]:
    if not isinstance(data, dict):
        raise TopologyError("%s must be a mapping, got %r" % (where, data))
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise TopologyError(
            "%s has unknown key(s) %s; allowed keys: %s"
            % (where, ", ".join(unknown), ", ".join(allowed))
        )
    return data


def in_doc_ranges(net: t.Union[IPNetwork, IPInterface]) -> bool:
    network = net.network if isinstance(net, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)) else net
    return any(
        network.version == doc.version and network.subnet_of(doc)  # type: ignore[arg-type]
        for doc in DOC_RANGES
    )


def doc_ranges_text() -> str:
    return ", ".join(str(doc) for doc in DOC_RANGES)
