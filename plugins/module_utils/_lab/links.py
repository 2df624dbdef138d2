# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Parse the ``links`` of a topology and allocate the addresses they lack.

A link's IPv4/IPv6 setting is a prefix (``198.51.100.0/24``), ``false`` (the
family is off on this link) or absent (a prefix is allocated: /30s from
192.0.2.0/24, /64s from 2001:db8::/48). Endpoints are a node name, or a mapping
``{node, ipv4, ipv6}`` with explicit addresses; missing addresses are the first
free host addresses of the prefix (``a`` first, then ``b``).
"""
from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import names
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    AUTO_POOL_V4,
    AUTO_POOL_V6,
    AUTO_PREFIXLEN_V4,
    AUTO_PREFIXLEN_V6,
    DEFAULT_MTU,
    MAX_MTU,
    MIN_MTU,
    MIN_MTU_IPV6,
    Endpoint,
    IPInterface,
    IPNetwork,
    Link,
    check_keys,
    doc_ranges_text,
    in_doc_ranges,
)

_LINK_KEYS = ("a", "b", "mtu", "ipv4", "ipv6")
_ENDPOINT_KEYS = ("node", "ipv4", "ipv6")
_FAMILIES = (4, 6)


@dataclass
class _Draft:
    index: int
    label: str
    nodes: t.Tuple[str, str]
    mtu: int
    enabled: t.Dict[int, bool]
    prefix: t.Dict[int, t.Optional[IPNetwork]]
    addresses: t.Dict[int, t.List[t.Optional[IPInterface]]] = field(default_factory=dict)


def parse_links(value: t.Any, node_names: t.Sequence[str], reserved: t.Sequence[IPNetwork] = ()) -> t.List[Link]:
    """The links; ``reserved`` are prefixes already given to segments."""
    if value is None:
        value = []
    if not isinstance(value, list):
        raise TopologyError("links must be a list of links, got %r" % (value,))
    drafts: t.List[_Draft] = []
    pairs: t.Dict[t.FrozenSet[str], int] = {}
    for index, raw in enumerate(value, start=1):
        draft = _parse_link(raw, index, node_names)
        pair = frozenset(draft.nodes)
        if pair in pairs:
            raise TopologyError(
                "link %d (%s) duplicates link %d: at most one link between two nodes"
                % (index, draft.label, pairs[pair])
            )
        pairs[pair] = index
        drafts.append(draft)
    for family in _FAMILIES:
        _check_overlaps(drafts, family, reserved)
        _allocate_prefixes(drafts, family, reserved)
        _allocate_addresses(drafts, family)
    _check_duplicate_addresses(drafts)
    return [_freeze(draft) for draft in drafts]


def _parse_link(raw: t.Any, index: int, node_names: t.Sequence[str]) -> _Draft:
    data = check_keys(raw, _LINK_KEYS, "link %d" % index)
    ends = [_parse_endpoint(data.get(side), index, side, node_names) for side in ("a", "b")]
    label = "%s-%s" % (ends[0][0], ends[1][0])
    if ends[0][0] == ends[1][0]:
        raise TopologyError(
            "link %d connects node %r to itself; a link needs two different nodes" % (index, ends[0][0])
        )
    mtu = parse_mtu(data.get("mtu", DEFAULT_MTU), "link %d (%s)" % (index, label))
    draft = _Draft(index, label, (ends[0][0], ends[1][0]), mtu, {}, {})
    for family in _FAMILIES:
        key = "ipv%d" % family
        setting = data.get(key)
        draft.enabled[family] = setting is not False
        explicit = [end[1 if family == 4 else 2] for end in ends]
        if setting is False:
            if any(addr is not None for addr in explicit):
                raise TopologyError(
                    "link %d (%s) sets %s: false but gives an %s address; remove one of them"
                    % (index, label, key, key)
                )
            draft.prefix[family] = None
            draft.addresses[family] = [None, None]
            continue
        draft.prefix[family] = _parse_prefix(setting, family, index, label)
        draft.addresses[family] = [None, None]
        # Addresses with a prefix length first: they may define the link prefix
        # that the others (written without a length) then use.
        for with_length in (True, False):
            for slot, side in enumerate(("a", "b")):
                if explicit[slot] is not None and ("/" in str(explicit[slot])) == with_length:
                    draft.addresses[family][slot] = _parse_address(explicit[slot], family, draft, side)
            _settle_prefix(draft, family)
    if draft.enabled[6] and mtu < MIN_MTU_IPV6:
        raise TopologyError(
            "link %d (%s) has mtu %d but carries IPv6, which needs at least %d (RFC 8200); "
            "raise the mtu or set ipv6: false on this link" % (index, label, mtu, MIN_MTU_IPV6)
        )
    return draft


def _parse_endpoint(raw: t.Any, index: int, side: str, node_names: t.Sequence[str]) -> t.Tuple[str, t.Any, t.Any]:
    if isinstance(raw, dict):
        data = check_keys(raw, _ENDPOINT_KEYS, "link %d endpoint %s" % (index, side))
        node, ipv4, ipv6 = data.get("node"), data.get("ipv4"), data.get("ipv6")
    else:
        node, ipv4, ipv6 = raw, None, None
    if node is None:
        raise TopologyError("link %d has no endpoint %s: give a node name" % (index, side))
    if node not in node_names:
        raise TopologyError(
            "link %d endpoint %s names unknown node %r; known nodes: %s"
            % (index, side, node, ", ".join(node_names))
        )
    return str(node), ipv4, ipv6


def parse_mtu(value: t.Any, where: str) -> int:
    """An MTU of a link or segment (``where`` names it in the error)."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_MTU <= value <= MAX_MTU:
        raise TopologyError("%s has mtu %r; use an integer from %d to %d" % (where, value, MIN_MTU, MAX_MTU))
    return value


def parse_doc_prefix(value: t.Any, family: int, where: str) -> t.Optional[IPNetwork]:
    """A prefix of the family inside the documentation ranges; None for None."""
    if value is None:
        return None
    key = "ipv%d" % family
    try:
        prefix = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        raise TopologyError(
            "%s has %s prefix %r, which is not a network prefix (%s); write it like %s"
            % (where, key, value, err, "198.51.100.0/24" if family == 4 else "2001:db8:1::/64")
        ) from err
    if prefix.version != family:
        raise TopologyError("%s has %s prefix %r of the wrong family" % (where, key, value))
    if not in_doc_ranges(prefix):
        raise TopologyError(
            "%s has %s prefix %s outside the documentation ranges; labs use only %s"
            % (where, key, prefix, doc_ranges_text())
        )
    return prefix


def _parse_prefix(value: t.Any, family: int, index: int, label: str) -> t.Optional[IPNetwork]:
    prefix = parse_doc_prefix(value, family, "link %d (%s)" % (index, label))
    if prefix is not None and prefix.num_addresses < 4:
        raise TopologyError(
            "link %d (%s) has ipv%d prefix %s, too small for two hosts; use /30 or shorter for IPv4, "
            "/126 or shorter for IPv6" % (index, label, family, prefix)
        )
    return prefix


def _parse_address(value: t.Any, family: int, draft: _Draft, side: str) -> t.Optional[IPInterface]:
    if value is None:
        return None
    where = "link %d (%s) endpoint %s" % (draft.index, draft.label, side)
    return parse_host_address(value, family, draft.prefix[family], where, "link")


def parse_host_address(value: t.Any, family: int, prefix: t.Optional[IPNetwork], where: str, kind: str) -> IPInterface:
    """An address of a ``kind`` ("link", "tunnel") with the prefix ``prefix``, or the prefix
    length it is written with when ``prefix`` is None; a host address in the documentation ranges."""
    text = str(value)
    if "/" not in text and prefix is not None:
        text = "%s/%d" % (text, prefix.prefixlen)
    try:
        addr = ipaddress.ip_interface(text)
    except ValueError as err:
        raise TopologyError("%s has ipv%d address %r, which is not an address (%s)" % (where, family, value, err)) from err
    if addr.version != family:
        raise TopologyError("%s has ipv%d address %r of the wrong family" % (where, family, value))
    if "/" not in str(value) and prefix is None:
        raise TopologyError(
            "%s has ipv%d address %r without a prefix length and the %s has no ipv%d prefix; "
            "write it like %s" % (where, family, value, kind, family, "198.51.100.1/24" if family == 4 else "2001:db8:1::1/64")
        )
    if not in_doc_ranges(addr):
        raise TopologyError(
            "%s has address %s outside the documentation ranges; labs use only %s" % (where, addr, doc_ranges_text())
        )
    if prefix is not None and addr.network != prefix:
        raise TopologyError("%s has address %s, which is not in the %s prefix %s" % (where, addr, kind, prefix))
    if addr.ip in (addr.network.network_address, addr.network.broadcast_address) and addr.network.num_addresses > 2:
        raise TopologyError(
            "%s has address %s, the %s address of its prefix; use a host address"
            % (where, addr, "network" if addr.ip == addr.network.network_address else "broadcast")
        )
    return addr


def _settle_prefix(draft: _Draft, family: int) -> None:
    """Derive the link prefix from explicit addresses when the link gives none."""
    if draft.prefix[family] is not None:
        return
    networks = {addr.network for addr in draft.addresses[family] if addr is not None}
    if len(networks) > 1:
        raise TopologyError(
            "link %d (%s) endpoints have ipv%d addresses in different prefixes: %s"
            % (draft.index, draft.label, family, ", ".join(sorted(str(net) for net in networks)))
        )
    if networks:
        draft.prefix[family] = networks.pop()


def _check_overlaps(drafts: t.Sequence[_Draft], family: int, reserved: t.Sequence[IPNetwork]) -> None:
    seen: t.List[t.Tuple[IPNetwork, _Draft]] = []
    for draft in drafts:
        prefix = draft.prefix[family]
        if prefix is None:
            continue
        for other_prefix in reserved:
            if prefix.overlaps(other_prefix):  # type: ignore[arg-type]
                raise TopologyError(
                    "link %d (%s) prefix %s overlaps segment prefix %s; every link and segment needs its own prefix"
                    % (draft.index, draft.label, prefix, other_prefix)
                )
        for other_prefix, other in seen:
            if prefix.overlaps(other_prefix):
                raise TopologyError(
                    "link %d (%s) prefix %s overlaps link %d (%s) prefix %s; every link needs its own prefix"
                    % (draft.index, draft.label, prefix, other.index, other.label, other_prefix)
                )
        seen.append((prefix, draft))


def _allocate_prefixes(drafts: t.Sequence[_Draft], family: int, reserved: t.Sequence[IPNetwork]) -> None:
    taken = [draft.prefix[family] for draft in drafts if draft.prefix[family] is not None]
    taken += [prefix for prefix in reserved if prefix.version == family]
    new_prefix = AUTO_PREFIXLEN_V4 if family == 4 else AUTO_PREFIXLEN_V6
    for draft in drafts:
        if not draft.enabled[family] or draft.prefix[family] is not None:
            continue
        draft.prefix[family] = allocate_prefix(family, new_prefix, taken, "link %d (%s)" % (draft.index, draft.label))


def allocate_prefix(family: int, new_prefix: int, taken: t.List[t.Any], what: str) -> IPNetwork:
    """The first free /``new_prefix`` of the family's pool; appended to ``taken``."""
    pool = AUTO_POOL_V4 if family == 4 else AUTO_POOL_V6
    candidates = pool.subnets(new_prefix=new_prefix)
    if family == 6:
        next(candidates)  # skip 2001:db8::/64, too easy to confuse with the whole range
    for candidate in candidates:
        if not any(candidate.overlaps(used) for used in taken):  # type: ignore[arg-type]
            taken.append(candidate)
            return candidate
    raise TopologyError(
        "no free ipv%d prefix of length /%d left in %s for %s; give it an explicit prefix"
        % (family, new_prefix, pool, what)
    )


def _allocate_addresses(drafts: t.Sequence[_Draft], family: int) -> None:
    for draft in drafts:
        prefix = draft.prefix[family]
        if prefix is None:
            continue
        pair = draft.addresses[family]
        used = {addr.ip for addr in pair if addr is not None}
        hosts = prefix.hosts()
        for slot in (0, 1):
            if pair[slot] is not None:
                continue
            for host in hosts:
                if host not in used:
                    pair[slot] = ipaddress.ip_interface("%s/%d" % (host, prefix.prefixlen))
                    used.add(host)
                    break


def _check_duplicate_addresses(drafts: t.Sequence[_Draft]) -> None:
    owners: t.Dict[t.Any, str] = {}
    for draft in drafts:
        for family in _FAMILIES:
            for node, addr in zip(draft.nodes, draft.addresses[family]):
                if addr is None:
                    continue
                owner = "node %r on link %d (%s)" % (node, draft.index, draft.label)
                if addr.ip in owners:
                    raise TopologyError(
                        "duplicate address %s: %s and %s; every address must be unique"
                        % (addr.ip, owners[addr.ip], owner)
                    )
                owners[addr.ip] = owner


def _freeze(draft: _Draft) -> Link:
    ends = []
    for slot, node in enumerate(draft.nodes):
        peer = draft.nodes[1 - slot]
        ipv4 = draft.addresses[4][slot]
        ipv6 = draft.addresses[6][slot]
        ends.append(Endpoint(node, names.ifname(peer), ipv4, ipv6))  # type: ignore[arg-type]
    return Link(
        draft.index, ends[0], ends[1], draft.mtu,
        draft.prefix[4], draft.prefix[6],  # type: ignore[arg-type]
    )
