# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""VXLAN tunnels between two lab nodes: the topology's ``tunnels`` section.

A tunnel is one ``vxlan`` interface ``nl-<tunnel>`` in each end's namespace. Its
underlay is the pair of addresses the two ends reach each other with: by default
their addresses on a link or segment they share (the first link between them,
else the first shared segment; IPv4 unless ``underlay: ipv6``), or explicit
``underlay: {a: ADDR, b: ADDR}``, addresses the two nodes have in the lab (the
lab's routes must then connect them). The overlay carries its own prefixes,
given or allocated from the links' pools with the links' allocator, and is not
routed beyond its two ends. The MTU defaults to the right one: the underlay
interface's MTU minus the encapsulation (50 bytes over IPv4, 70 over IPv6).
"""
from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import names
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.links import (
    allocate_prefix,
    parse_doc_prefix,
    parse_host_address,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    AUTO_PREFIXLEN_V4,
    AUTO_PREFIXLEN_V6,
    MAX_MTU,
    MIN_MTU,
    MIN_MTU_IPV6,
    Endpoint,
    IPInterface,
    IPNetwork,
    Topology,
    check_ifname_length,
    check_keys,
    check_name,
)

_KEYS = ("name", "type", "a", "b", "vni", "mtu", "df", "port", "ipv4", "ipv6", "underlay")
_END_KEYS = ("node", "ipv4", "ipv6")
_UNDERLAY_KEYS = ("a", "b")
TYPES = ("vxlan",)
DF_MODES = ("set", "unset", "inherit")
DEFAULT_DF = "unset"  # the kernel's own default
DEFAULT_PORT = 4789  # IANA VXLAN
MAX_VNI = 16777215
# Outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14) headers.
OVERHEAD = {4: 20 + 8 + 8 + 14, 6: 40 + 8 + 8 + 14}


@dataclass(frozen=True)
class Tunnel:
    name: str
    kind: str
    ifname: str
    a: Endpoint  # overlay addresses of each end
    b: Endpoint
    underlay: t.Tuple[str, str]  # (a's address, b's address)
    underlay_family: int
    underlay_mtu: int  # the MTU of the underlay interfaces (the smaller end's)
    vni: int
    mtu: int
    df: str
    port: int
    ipv4: t.Optional[ipaddress.IPv4Network]
    ipv6: t.Optional[ipaddress.IPv6Network]

    def ends(self) -> t.Tuple[t.Tuple[Endpoint, str, str], ...]:
        """(overlay endpoint, local underlay, remote underlay) of each end."""
        return ((self.a, self.underlay[0], self.underlay[1]), (self.b, self.underlay[1], self.underlay[0]))

    def end(self, node: str) -> t.Optional[Endpoint]:
        return self.a if self.a.node == node else self.b if self.b.node == node else None

    def create_args(self, local: str, remote: str) -> t.Tuple[str, ...]:
        """``ip link add`` arguments after the interface name (no ``dev``: a lower device
        would cap the MTU at its own minus the overhead, and the drills need the mistake)."""
        return ("mtu", str(self.mtu), "type", self.kind, "id", str(self.vni), "local", local,
                "remote", remote, "dstport", str(self.port), "df", self.df)

    @property
    def fitting_mtu(self) -> int:
        """The largest overlay MTU whose packets fit the underlay unfragmented."""
        return self.underlay_mtu - OVERHEAD[self.underlay_family]

    def config(self, local: str, remote: str) -> t.Tuple[t.Any, ...]:
        """What ``state.parse_vxlan`` reads back, for comparison."""
        return (self.vni, local, remote, self.port, self.df)


def parse_tunnels(value: t.Any, topo: Topology) -> t.Tuple[Tunnel, ...]:
    """The tunnels of a built topology (nodes, links, segments), validated, with overlay
    prefixes and addresses allocated where none are given."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TopologyError("tunnels must be a list of tunnels, got %r" % (value,))
    taken = {family: [net.prefix for net in topo.nets(family)] for family in (4, 6)}
    drafts = [_Draft(raw, index, topo, taken) for index, raw in enumerate(value, start=1)]
    _check_unique(drafts, topo)
    return tuple(draft.finish(taken) for draft in drafts)


def _check_unique(drafts: t.Sequence["_Draft"], topo: Topology) -> None:
    others = {node.name: "node" for node in topo.nodes}
    others.update({segment.name: "segment" for segment in topo.segments})
    keys: t.Dict[t.Tuple[str, int, int], str] = {}
    for draft in drafts:
        if draft.name in others:
            raise TopologyError(
                "%s has the name of a %s; tunnel, node and segment names must differ (each is the "
                "interface name nl-<name> somewhere)" % (draft.where, others[draft.name])
            )
        others[draft.name] = "tunnel"
        for node in draft.nodes:
            key = (node, draft.vni, draft.port)
            if key in keys:
                raise TopologyError(
                    "%s and tunnel %s both end on node %r with vni %d and port %d; the kernel allows "
                    "one such VXLAN per namespace: give one of them another vni"
                    % (draft.where, keys[key], node, draft.vni, draft.port)
                )
            keys[key] = draft.name


class _Draft:
    """One tunnel being parsed; ``finish`` allocates what it lacks."""

    def __init__(self, raw: t.Any, index: int, topo: Topology, taken: t.Dict[int, t.List[t.Any]]) -> None:
        data = check_keys(raw, _KEYS, "tunnel %d" % index)
        self.name = check_name(data.get("name"), "tunnel %d" % index)
        check_ifname_length("tunnel", self.name)
        self.where = "tunnel %d (%s)" % (index, self.name)
        self.kind = _choice(data.get("type", "vxlan"), TYPES, self.where, "type")
        ends = [self._end(data.get(side), side, topo) for side in ("a", "b")]
        self.nodes = (ends[0][0], ends[1][0])
        if self.nodes[0] == self.nodes[1]:
            raise TopologyError("%s has both ends on node %r; a tunnel joins two different nodes" % (self.where, self.nodes[0]))
        self.vni = _integer(data.get("vni"), 1, MAX_VNI, self.where, "vni")
        self.port = _integer(data.get("port", DEFAULT_PORT), 1, 65535, self.where, "port")
        self.df = _choice(data.get("df", DEFAULT_DF), DF_MODES, self.where, "df")
        self.family, self.underlay, self.underlay_mtu = _underlay(data.get("underlay"), self.nodes, topo, self.where)
        self.enabled = {family: data.get("ipv%d" % family) is not False for family in (4, 6)}
        self.prefix: t.Dict[int, t.Optional[IPNetwork]] = {}
        self.addresses: t.Dict[int, t.List[t.Optional[IPInterface]]] = {}
        for family in (4, 6):
            explicit = [end[1 if family == 4 else 2] for end in ends]
            self._overlay(family, data.get("ipv%d" % family), explicit, taken[family])
        if not any(self.enabled.values()):
            raise TopologyError("%s sets ipv4: false and ipv6: false; an overlay needs at least one family" % self.where)
        limit = MAX_MTU - OVERHEAD[self.family]
        default = max(self.underlay_mtu - OVERHEAD[self.family], MIN_MTU)
        self.mtu = _integer(data.get("mtu", default), MIN_MTU, limit, self.where, "mtu")
        if self.enabled[6] and self.mtu < MIN_MTU_IPV6:
            raise TopologyError(
                "%s has mtu %d but its overlay carries IPv6, which needs at least %d (RFC 8200); raise the "
                "mtu (and the underlay's) or set ipv6: false on the tunnel" % (self.where, self.mtu, MIN_MTU_IPV6)
            )

    def _end(self, raw: t.Any, side: str, topo: Topology) -> t.Tuple[str, t.Any, t.Any]:
        if isinstance(raw, dict):
            data = check_keys(raw, _END_KEYS, "%s end %s" % (self.where, side))
            node, ipv4, ipv6 = data.get("node"), data.get("ipv4"), data.get("ipv6")
        else:
            node, ipv4, ipv6 = raw, None, None
        known = [node.name for node in topo.nodes]
        if node not in known:
            raise TopologyError(
                "%s end %s names unknown node %r; known nodes: %s" % (self.where, side, node, ", ".join(known))
            )
        return str(node), ipv4, ipv6

    def _overlay(self, family: int, setting: t.Any, explicit: t.Sequence[t.Any], taken: t.List[t.Any]) -> None:
        key = "ipv%d" % family
        self.addresses[family] = [None, None]
        self.prefix[family] = None
        if setting is False:
            if any(value is not None for value in explicit):
                raise TopologyError("%s sets %s: false but gives an %s address; remove one of them" % (self.where, key, key))
            return
        prefix = parse_doc_prefix(setting, family, self.where)
        for slot, value in enumerate(explicit):
            if value is not None:
                addr = parse_host_address(value, family, prefix, "%s end %s" % (self.where, "ab"[slot]), "tunnel")
                prefix = prefix or addr.network
                self.addresses[family][slot] = addr
        if prefix is not None:
            for used in taken:
                if prefix.overlaps(used):
                    raise TopologyError(
                        "%s has %s prefix %s, which overlaps %s of the lab; give the overlay a prefix of its own "
                        "(or none: one is allocated)" % (self.where, key, prefix, used)
                    )
            taken.append(prefix)
        self.prefix[family] = prefix

    def finish(self, taken: t.Dict[int, t.List[t.Any]]) -> Tunnel:
        for family in (4, 6):
            if self.enabled[family] and self.prefix[family] is None:
                length = AUTO_PREFIXLEN_V4 if family == 4 else AUTO_PREFIXLEN_V6
                self.prefix[family] = allocate_prefix(family, length, taken[family], self.where)
            prefix = self.prefix[family]
            pair = self.addresses[family]
            if prefix is None:
                continue
            used = {addr.ip for addr in pair if addr is not None}
            if len(used) < len([addr for addr in pair if addr is not None]):
                raise TopologyError("%s gives both ends the same ipv%d address %s" % (self.where, family, pair[0]))
            free = (host for host in prefix.hosts() if host not in used)
            for slot in (0, 1):
                if pair[slot] is None:
                    pair[slot] = ipaddress.ip_interface("%s/%d" % (next(free), prefix.prefixlen))
        ifname = names.ifname(self.name)
        a, b = (Endpoint(node, ifname, self.addresses[4][slot], self.addresses[6][slot])  # type: ignore[arg-type]
                for slot, node in enumerate(self.nodes))
        return Tunnel(self.name, self.kind, ifname, a, b, self.underlay, self.family, self.underlay_mtu, self.vni, self.mtu,
                      self.df, self.port, self.prefix[4], self.prefix[6])  # type: ignore[arg-type]


def _choice(value: t.Any, allowed: t.Sequence[str], where: str, key: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise TopologyError("%s has %s %r; use one of: %s" % (where, key, value, ", ".join(allowed)))
    return value


def _integer(value: t.Any, low: int, high: int, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TopologyError("%s has %s %r; use an integer from %d to %d" % (where, key, value, low, high))
    return value


def _underlay(value: t.Any, nodes: t.Tuple[str, str], topo: Topology, where: str) -> t.Tuple[int, t.Tuple[str, str], int]:
    """(family, (a's address, b's address), the MTU of the underlay interfaces)."""
    if isinstance(value, dict):
        return _explicit_underlay(value, nodes, topo, where)
    if value not in (None, "ipv4", "ipv6"):
        raise TopologyError(
            "%s has underlay %r; use ipv4 or ipv6 (the ends' addresses on a link or segment they share) "
            "or {a: ADDR, b: ADDR} (addresses of the two nodes)" % (where, value)
        )
    families = (4, 6) if value is None else (int(str(value)[-1]),)
    for family in families:
        for end_a, end_b, mtu in _shared(nodes, topo):
            addr_a, addr_b = end_a.address(family), end_b.address(family)
            if addr_a is not None and addr_b is not None:
                return family, (str(addr_a.ip), str(addr_b.ip)), mtu
    wanted = "IPv4 or IPv6" if value is None else "IPv%d" % families[0]
    raise TopologyError(
        "%s: nodes %r and %r share no link or segment carrying %s, which would be the underlay; connect "
        "them, or give underlay: {a: ADDR, b: ADDR} with addresses of the two nodes" % (where, nodes[0], nodes[1], wanted)
    )


def _shared(nodes: t.Tuple[str, str], topo: Topology) -> t.List[t.Tuple[Endpoint, Endpoint, int]]:
    """(a's end, b's end, mtu) of each link between the two nodes, then of each segment they share."""
    found = [(link.endpoint(nodes[0]), link.endpoint(nodes[1]), link.mtu)
             for link in topo.links_of(nodes[0]) if nodes[1] in (link.a.node, link.b.node)]
    for segment in topo.segments_of(nodes[0]):
        end_a, end_b = segment.member(nodes[0]), segment.member(nodes[1])
        if end_a is not None and end_b is not None:
            found.append((end_a, end_b, segment.mtu))
    return found


def _explicit_underlay(value: t.Dict[str, t.Any], nodes: t.Tuple[str, str], topo: Topology,
                       where: str) -> t.Tuple[int, t.Tuple[str, str], int]:
    data = check_keys(value, _UNDERLAY_KEYS, "%s underlay" % where)
    found: t.List[str] = []
    mtus: t.List[int] = []
    families = set()
    for side, node in zip(("a", "b"), nodes):
        raw = data.get(side)
        try:
            addr = ipaddress.ip_address(str(raw))
        except ValueError as err:
            raise TopologyError("%s underlay %s is %r, not an address of node %r" % (where, side, raw, node)) from err
        owned = [(end, mtu) for end, mtu, _peer in topo.interfaces(node)
                 if any(own is not None and own.ip == addr for own in (end.ipv4, end.ipv6))]
        if not owned:
            have = [str(own.ip) for family in (4, 6) for own in topo.addresses(node, family)]
            raise TopologyError("%s underlay %s is %s, which node %r does not have; its addresses: %s"
                                % (where, side, addr, node, ", ".join(have) or "none"))
        found.append(str(addr))
        mtus.append(owned[0][1])
        families.add(addr.version)
    if len(families) != 1:
        raise TopologyError("%s underlay mixes IPv4 and IPv6 (%s, %s); give two addresses of one family"
                            % (where, found[0], found[1]))
    return families.pop(), (found[0], found[1]), min(mtus)


def facts(tunnel: Tunnel) -> t.Dict[str, t.Any]:
    """A tunnel as plain data (the inventory's ``lab_tunnels``, the module's ``tunnels``)."""
    ends = {}
    for side, (end, local, _remote) in zip(("a", "b"), tunnel.ends()):
        ends[side] = {
            "node": end.node,
            "ipv4": str(end.ipv4.ip) if end.ipv4 else None,
            "ipv6": str(end.ipv6.ip) if end.ipv6 else None,
            "underlay": local,
        }
    return dict(ends, **{
        "name": tunnel.name,
        "type": tunnel.kind,
        "ifname": tunnel.ifname,
        "vni": tunnel.vni,
        "port": tunnel.port,
        "df": tunnel.df,
        "mtu": tunnel.mtu,
        "fitting_mtu": tunnel.fitting_mtu,
        "underlay_family": tunnel.underlay_family,
        "underlay_mtu": tunnel.underlay_mtu,
        "ipv4": str(tunnel.ipv4) if tunnel.ipv4 else None,
        "ipv6": str(tunnel.ipv6) if tunnel.ipv6 else None,
    })
