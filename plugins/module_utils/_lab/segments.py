# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Parse the ``segments`` of a topology (LANs) and allocate the addresses they lack.

A segment is a Linux bridge in its own namespace with any number of member
nodes. Its IPv4/IPv6 setting is a prefix, ``false`` or absent (allocated from the
same pools as links: the smallest IPv4 prefix that holds every member, a /64 for
IPv6). ``controller: true`` adds a veth from the init namespace into the bridge,
with the first free address, so the controller reaches the members directly.
Members are node names, the name of a counted node entry (all of its nodes), or
mappings ``{node, ipv4, ipv6}`` with explicit addresses.
"""
from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import names
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.links import allocate_prefix, parse_doc_prefix, parse_mtu
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    AUTO_PREFIXLEN_V6,
    DEFAULT_MTU,
    MIN_MTU_IPV6,
    Endpoint,
    IPInterface,
    IPNetwork,
    Link,
    Segment,
    check_ifname_length,
    check_keys,
    check_name,
)

_SEGMENT_KEYS = ("name", "members", "mtu", "ipv4", "ipv6", "controller")
_MEMBER_KEYS = ("node", "ipv4", "ipv6")
_CONTROLLER_KEYS = ("ipv4", "ipv6")
_FAMILIES = (4, 6)
CONTROLLER = ""  # the node name of the controller's endpoint


@dataclass
class _Draft:
    index: int
    name: str
    mtu: int
    prefix: t.Dict[int, t.Optional[IPNetwork]]
    enabled: t.Dict[int, bool]
    # (node, explicit address per family); the controller is CONTROLLER and comes first.
    slots: t.List[t.Tuple[str, t.Dict[int, t.Any]]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return "segment %d (%s)" % (self.index, self.name)


class SegmentParser:
    """Two phases: ``parse`` (before links, so explicit prefixes are reserved) and
    ``finish`` (after links, to allocate around their prefixes)."""

    def __init__(self, lab: str, node_names: t.Sequence[str], groups: t.Mapping[str, t.Sequence[str]]) -> None:
        self.lab = lab
        self.node_names = list(node_names)
        self.groups = groups
        self.drafts: t.List[_Draft] = []

    def parse(self, value: t.Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise TopologyError("segments must be a list of segments, got %r" % (value,))
        seen: t.Dict[str, int] = {}
        for index, raw in enumerate(value, start=1):
            draft = self._parse_segment(raw, index)
            if draft.name in seen:
                raise TopologyError(
                    "duplicate segment %r (entries %d and %d): segment names must be unique"
                    % (draft.name, seen[draft.name], index)
                )
            seen[draft.name] = index
            self.drafts.append(draft)
        with_controller = [draft.name for draft in self.drafts if draft.slots and draft.slots[0][0] == CONTROLLER]
        if len(with_controller) > 1:
            raise TopologyError(
                "segments %s all set controller; a lab has at most one controller veth (%s), "
                "so only one segment may set it" % (", ".join(with_controller), names.controller_ifname(self.lab))
            )
        for family in _FAMILIES:
            _check_overlaps(self.drafts, family)

    def explicit_prefixes(self) -> t.List[IPNetwork]:
        return [prefix for draft in self.drafts for prefix in draft.prefix.values() if prefix is not None]

    def finish(self, links: t.Sequence[Link]) -> t.List[Segment]:
        for family in _FAMILIES:
            taken: t.List[t.Any] = [link.prefix(family) for link in links if link.prefix(family) is not None]
            taken += [draft.prefix[family] for draft in self.drafts if draft.prefix[family] is not None]
            for draft in self.drafts:
                if draft.enabled[family] and draft.prefix[family] is None:
                    draft.prefix[family] = allocate_prefix(family, _prefixlen(family, len(draft.slots)), taken, draft.where)
        return [self._freeze(draft) for draft in self.drafts]

    # -- one segment -------------------------------------------------------------
    def _parse_segment(self, raw: t.Any, index: int) -> _Draft:
        data = check_keys(raw, _SEGMENT_KEYS, "segment entry %d" % index)
        name = check_name(data.get("name"), "segment entry %d" % index)
        if name in self.node_names:
            raise TopologyError(
                "segment entry %d is named %r like a node; segments and nodes share the namespace "
                "names nilab-<lab>-<name>, so give the segment another name" % (index, name)
            )
        check_ifname_length("segment", name)
        draft = _Draft(index, name, parse_mtu(data.get("mtu", DEFAULT_MTU), "segment %d (%s)" % (index, name)), {}, {})
        controller = data.get("controller", False)
        if controller is not False:
            draft.slots.append((CONTROLLER, self._explicit(controller, _CONTROLLER_KEYS, "%s controller" % draft.where, True)))
        for node, explicit in self._members(data.get("members"), draft):
            draft.slots.append((node, explicit))
        for family in _FAMILIES:
            setting = data.get("ipv%d" % family)
            draft.enabled[family] = setting is not False
            draft.prefix[family] = None if setting is False else _parse_prefix(setting, family, draft)
            self._check_explicit(draft, family)
        if controller is not False and not any(draft.enabled.values()):
            raise TopologyError("%s sets controller but neither ipv4 nor ipv6; the controller needs an address" % draft.where)
        if draft.enabled[6] and draft.mtu < MIN_MTU_IPV6:
            raise TopologyError(
                "%s has mtu %d but carries IPv6, which needs at least %d (RFC 8200); raise the mtu "
                "or set ipv6: false on this segment" % (draft.where, draft.mtu, MIN_MTU_IPV6)
            )
        return draft

    def _members(self, value: t.Any, draft: _Draft) -> t.List[t.Tuple[str, t.Dict[int, t.Any]]]:
        if not isinstance(value, list) or not value:
            raise TopologyError("%s: members must be a non-empty list of node names, got %r" % (draft.where, value))
        found: t.List[t.Tuple[str, t.Dict[int, t.Any]]] = []
        for raw in value:
            if isinstance(raw, dict):
                data = check_keys(raw, _MEMBER_KEYS, "%s member %r" % (draft.where, raw.get("node")))
                found.append((self._node(data.get("node"), draft), self._explicit(data, ("node",) + _CONTROLLER_KEYS, draft.where, False)))
            elif isinstance(raw, str) and raw in self.groups:
                found += [(node, {4: None, 6: None}) for node in self.groups[raw]]
            else:
                found.append((self._node(raw, draft), {4: None, 6: None}))
        seen: t.Set[str] = set()
        for node, _explicit in found:
            if node in seen:
                raise TopologyError("%s lists node %r twice; a node joins a segment once" % (draft.where, node))
            seen.add(node)
        return found

    def _node(self, value: t.Any, draft: _Draft) -> str:
        if not isinstance(value, str) or value not in self.node_names:
            known = self.node_names + ["%s (all of %s)" % (base, ", ".join(nodes[:3] + ["..."] if len(nodes) > 3 else nodes))
                                       for base, nodes in self.groups.items()]
            raise TopologyError("%s names unknown member %r; known nodes: %s" % (draft.where, value, ", ".join(known)))
        return value

    @staticmethod
    def _explicit(value: t.Any, keys: t.Sequence[str], where: str, allow_bool: bool) -> t.Dict[int, t.Any]:
        if allow_bool and value is True:
            return {4: None, 6: None}
        data = check_keys(value, keys, where)
        return {4: data.get("ipv4"), 6: data.get("ipv6")}

    def _check_explicit(self, draft: _Draft, family: int) -> None:
        """Turn explicit addresses into interfaces inside the segment prefix, unique."""
        used: t.Dict[t.Any, str] = {}
        for position, (node, explicit) in enumerate(draft.slots):
            value = explicit.get(family)
            if value is None:
                continue
            who = "the controller" if node == CONTROLLER else "member %r" % node
            addr = _parse_address(value, family, draft, who)
            if addr.ip in used:
                raise TopologyError(
                    "%s gives address %s to %s and to %s; every address must be unique" % (draft.where, addr.ip, used[addr.ip], who)
                )
            used[addr.ip] = who
            draft.slots[position][1][family] = addr

    def _freeze(self, draft: _Draft) -> Segment:
        chosen: t.Dict[int, t.List[t.Optional[IPInterface]]] = {}
        for family in _FAMILIES:
            chosen[family] = _allocate_addresses(draft, family)
        ends = []
        for position, (node, _explicit) in enumerate(draft.slots):
            ifname = names.controller_ifname(self.lab) if node == CONTROLLER else names.ifname(draft.name)
            ends.append(Endpoint(node, ifname, chosen[4][position], chosen[6][position]))  # type: ignore[arg-type]
        controller = ends[0] if draft.slots[0][0] == CONTROLLER else None
        members = tuple(end for end in ends if end.node != CONTROLLER)
        return Segment(
            draft.index, draft.name, names.netns_name(self.lab, draft.name), draft.mtu,
            draft.prefix[4], draft.prefix[6], members, controller,  # type: ignore[arg-type]
        )


def _prefixlen(family: int, hosts: int) -> int:
    """The longest prefix with room for ``hosts`` addresses (IPv4: plus network and broadcast)."""
    if family == 6:
        return AUTO_PREFIXLEN_V6
    length = 30
    while length > 0 and (1 << (32 - length)) - 2 < hosts:
        length -= 1
    return length


def _parse_prefix(value: t.Any, family: int, draft: _Draft) -> t.Optional[IPNetwork]:
    prefix = parse_doc_prefix(value, family, draft.where)
    if prefix is None:
        return None
    room = prefix.num_addresses - (2 if family == 4 else 1)
    if room < len(draft.slots):
        raise TopologyError(
            "%s has ipv%d prefix %s with room for %d hosts but needs %d (members%s); use a shorter prefix"
            % (draft.where, family, prefix, max(room, 0), len(draft.slots),
               " and the controller" if draft.slots and draft.slots[0][0] == CONTROLLER else "")
        )
    return prefix


def _parse_address(value: t.Any, family: int, draft: _Draft, who: str) -> IPInterface:
    prefix = draft.prefix[family]
    where = "%s: %s" % (draft.where, who)
    if prefix is None:
        raise TopologyError(
            "%s has ipv%d address %r but the segment has no ipv%d prefix; give the segment one (or drop the address)"
            % (where, family, value, family)
        )
    text = str(value) if "/" in str(value) else "%s/%d" % (value, prefix.prefixlen)
    try:
        addr = ipaddress.ip_interface(text)
    except ValueError as err:
        raise TopologyError("%s has ipv%d address %r, which is not an address (%s)" % (where, family, value, err)) from err
    if addr.version != family or addr.network != prefix:
        raise TopologyError("%s has address %r, which is not in the segment prefix %s" % (where, value, prefix))
    if family == 4 and addr.ip in (prefix.network_address, prefix.broadcast_address) or addr.ip == prefix.network_address:
        raise TopologyError("%s has address %s, the network or broadcast address; use a host address" % (where, addr))
    return addr


def _allocate_addresses(draft: _Draft, family: int) -> t.List[t.Optional[IPInterface]]:
    prefix = draft.prefix[family]
    if prefix is None:
        return [None] * len(draft.slots)
    chosen: t.List[t.Optional[IPInterface]] = [explicit.get(family) for _node, explicit in draft.slots]
    used = {addr.ip for addr in chosen if addr is not None}
    hosts = prefix.hosts()
    for position, addr in enumerate(chosen):
        if addr is not None:
            continue
        for host in hosts:
            if host not in used:
                chosen[position] = ipaddress.ip_interface("%s/%d" % (host, prefix.prefixlen))
                used.add(host)
                break
    return chosen


def _check_overlaps(drafts: t.Sequence[_Draft], family: int) -> None:
    seen: t.List[t.Tuple[IPNetwork, _Draft]] = []
    for draft in drafts:
        prefix = draft.prefix[family]
        if prefix is None:
            continue
        for other_prefix, other in seen:
            if prefix.overlaps(other_prefix):  # type: ignore[arg-type]
                raise TopologyError(
                    "%s prefix %s overlaps %s prefix %s; every segment needs its own prefix"
                    % (draft.where, prefix, other.where, other_prefix)
                )
        seen.append((prefix, draft))
