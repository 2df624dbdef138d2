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

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import names
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
class Segment:
    """A LAN: a bridge (``br0``) in its own namespace, one veth per member.

    Inside a member's namespace the interface is ``nl-<segment>``; its peer in the
    bridge namespace is ``nl-<node>``. The controller's veth (``nl-<lab>``) lives in
    the init namespace and carries only the segment's connected subnet.
    """

    index: int
    name: str
    netns: str
    mtu: int
    ipv4: t.Optional[ipaddress.IPv4Network]
    ipv6: t.Optional[ipaddress.IPv6Network]
    members: t.Tuple[Endpoint, ...]
    controller: t.Optional[Endpoint] = None

    def prefix(self, family: int) -> t.Optional[IPNetwork]:
        return self.ipv4 if family == 4 else self.ipv6

    def member(self, node: str) -> t.Optional[Endpoint]:
        for end in self.members:
            if end.node == node:
                return end
        return None


@dataclass(frozen=True)
class Net:
    """What routing sees of a link or a segment: a prefix and the endpoints on it."""

    label: str
    prefix: IPNetwork
    endpoints: t.Tuple[Endpoint, ...]


@dataclass(frozen=True)
class Route:
    node: str
    family: int
    destination: str  # normalised prefix, "0.0.0.0/0" / "::/0" for default
    via: str  # the first next hop; ``nexthops()`` has them all
    dev: str
    origin: str  # "auto" or "static"
    # Further equal-cost next hops (via, dev): a multipath (ECMP) route when not empty.
    extra_nexthops: t.Tuple[t.Tuple[str, str], ...] = ()

    def nexthops(self) -> t.Tuple[t.Tuple[str, str], ...]:
        return ((self.via, self.dev),) + self.extra_nexthops

    @property
    def multipath(self) -> bool:
        return bool(self.extra_nexthops)


@dataclass(frozen=True)
class Topology:
    name: str
    nodes: t.Tuple[Node, ...]
    links: t.Tuple[Link, ...]
    routes: t.Tuple[Route, ...]
    segments: t.Tuple[Segment, ...] = ()
    # BGP routers (frr.Router): bgpd runs in these nodes' namespaces.
    bgp: t.Tuple[t.Any, ...] = ()
    # VXLAN tunnels (tunnels.Tunnel): an interface at each end, not part of routing.
    tunnels: t.Tuple[t.Any, ...] = ()

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def links_of(self, node: str) -> t.List[Link]:
        return [link for link in self.links if node in (link.a.node, link.b.node)]

    def segments_of(self, node: str) -> t.List[Segment]:
        return [segment for segment in self.segments if segment.member(node) is not None]

    def tunnels_of(self, node: str) -> t.List[t.Any]:
        return [tunnel for tunnel in self.tunnels if tunnel.end(node) is not None]

    def interfaces(self, node: str) -> t.List[t.Tuple[Endpoint, int, str]]:
        """(endpoint, mtu, peer) of every interface of ``node``; peer is a node or a segment."""
        found = [(link.endpoint(node), link.mtu, link.peer(node).node) for link in self.links_of(node)]
        for segment in self.segments_of(node):
            found.append((t.cast(Endpoint, segment.member(node)), segment.mtu, segment.name))
        return found

    def addresses(self, node: str, family: int) -> t.List[IPInterface]:
        found = [end.address(family) for end, _mtu, _peer in self.interfaces(node)]
        return [addr for addr in found if addr is not None]

    def nets(self, family: int) -> t.List[Net]:
        """Every link and segment that carries ``family``, as routing sees it."""
        found: t.List[Net] = []
        for link in self.links:
            prefix = link.prefix(family)
            if prefix is not None:
                found.append(Net("link %d (%s-%s)" % (link.index, link.a.node, link.b.node), prefix, (link.a, link.b)))
        for segment in self.segments:
            prefix = segment.prefix(family)
            if prefix is not None:
                found.append(Net("segment %s" % segment.name, prefix, segment.members))
        return found


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


def check_ifname_length(kind: str, name: str) -> None:
    """nl-<name> is an interface name: it must fit Linux's IFNAMSIZ."""
    derived = names.ifname(name)
    if len(derived) > names.IFNAME_MAX:
        raise TopologyError(
            "%s name %r is too long: the interface name %r derived from it has %d characters "
            "and Linux allows %d; use %s names of at most %d characters"
            % (kind, name, derived, len(derived), names.IFNAME_MAX, kind,
               names.IFNAME_MAX - len(names.IFNAME_PREFIX))
        )


def check_name(value: t.Any, where: str) -> str:
    """A node or segment name, matched in full; ``where`` is "node entry 3" and the like."""
    if not names.valid_node_name(value):
        raise TopologyError(
            "%s has invalid name %r: use lower-case letters, digits and _, starting with a letter" % (where, value)
        )
    return t.cast(str, value)
