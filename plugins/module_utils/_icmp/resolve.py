# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Turn targets (addresses or names) into addresses, once, before any packet is sent.

Literal addresses are accepted only in their standard text forms and never reach the
resolver: ``getaddrinfo`` would take ``1.2.3`` for 1.2.0.3 and ``127.1`` for 127.0.0.1
(inet_aton's shorthand), and would send ``999.1.1.1`` to DNS. Anything that is neither a
standard address nor a well-formed host name is a ``ParameterError`` before any packet.
A name that does not resolve is a per-target error: the other targets still run.
The resolver itself is a seam (``transport.lookup`` in production).
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, TransportError

Lookup = t.Callable[[str, int], t.List[t.Tuple[int, str]]]
_FAMILY_NUMBER = {"auto": 0, "ipv4": 4, "ipv6": 6}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(r"%s(?:\.%s){3}" % (_OCTET, _OCTET), re.ASCII)
# A last label that is a number (decimal, octal or 0x-hex) makes the text an attempt at
# an IPv4 address, never a host name (RFC 1123 2.1: top-level labels are not numeric).
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*", re.ASCII)
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(r"%s(?:\.%s)*\.?" % (_LABEL, _LABEL), re.ASCII)
_HOST_NAME_MAX = 253
# Linux interface names: up to 15 bytes (IFNAMSIZ - 1), no '/', ':', '%' or blanks; or an index.
_ZONE = re.compile(r"[!-$&-.0-9;-~]{1,15}")  # printable ASCII but for % / :
_IPV4_HINT = "not a valid IPv4 address: use four decimal numbers 0-255 without leading zeros, such as 192.0.2.1"
_IPV6_HINT = "not a valid IPv6 address: use RFC 4291 text, optionally with a zone, such as 2001:db8::1 or fe80::1%eth0"


class ResolvedTarget(t.NamedTuple):
    """A target and what it resolved to (internal to a run; results are in ``models``)."""

    target: str
    address: t.Optional[str]
    family: t.Optional[int]  # 4 or 6
    error: t.Optional[str]


def parse_literal(target: str) -> t.Optional[t.Tuple[int, str]]:
    """(family, canonical address) when ``target`` is an IP literal in standard form, None
    when it is a well-formed host name; ``ParameterError`` for anything else.

    IPv6 zone ids (``fe80::1%eth0``) are kept: the kernel needs them for link-local.
    """
    if not isinstance(target, str):
        raise ParameterError(
            "targets", target, "a %s, not a string: give a host name or an IP address" % _type_name(target)
        )
    if _PLAIN_IPV4.fullmatch(target) is not None:
        return 4, target
    text = target.strip()
    if not text:
        raise ParameterError("targets", target, "an empty target: give a host name or an IP address")
    if ":" in text:
        return 6, _parse_ipv6(target, text)
    if _PLAIN_IPV4.fullmatch(text) is not None:
        return 4, text
    last_label = text[:-1].rpartition(".")[2] if text.endswith(".") else text.rpartition(".")[2]
    if _NUMERIC_LABEL.fullmatch(last_label) is not None:
        raise ParameterError("targets", target, _IPV4_HINT)
    if len(text) > _HOST_NAME_MAX or _HOST_NAME.fullmatch(text) is None:
        raise ParameterError(
            "targets", target,
            "not an IP address and not a valid host name: names are dot-separated labels of letters, "
            "digits, '-' and '_' (at most 63 characters each, %d in all); write international names "
            "in their xn-- form" % _HOST_NAME_MAX,
        )
    return None


def _parse_ipv6(target: str, text: str) -> str:
    import ipaddress  # noqa: PLC0415 - not needed for sweeps of IPv4 literals

    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    address, separator, zone = text.partition("%")
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        raise ParameterError("targets", target, _IPV6_HINT) from None
    if not separator:
        return str(parsed)
    if _ZONE.fullmatch(zone) is None:
        raise ParameterError(
            "targets", target,
            "the zone %r is not an interface name or index: use the interface the address is on, "
            "such as fe80::1%%eth0 (see `ip link`)" % zone,
        )
    return "%s%%%s" % (parsed, zone)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {list: "list", tuple: "list", dict: "mapping", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def resolve_targets(
    targets: t.Sequence[str], family: str, lookup: Lookup, zone_index: t.Optional[t.Callable[[str], int]] = None
) -> t.List[ResolvedTarget]:
    """Resolve each distinct name once; keep the user's order (duplicates included).

    Every target is checked before the first name is looked up, so a typo fails the run
    before anything (a DNS query, a packet) leaves the host. ``zone_index`` (the
    interface index of an IPv6 zone, ``OSError`` for none) checks zones the same way.
    """
    wanted = _FAMILY_NUMBER[family]
    plain_ipv4 = _PLAIN_IPV4.fullmatch
    new = tuple.__new__  # skips the NamedTuple's Python-level __new__: 100,000 literals
    resolved: t.List[t.Any] = []
    has_names = False
    for target in targets:
        if wanted != 6 and isinstance(target, str) and plain_ipv4(target) is not None:
            resolved.append(new(ResolvedTarget, (target, target, 4, None)))
            continue
        literal = parse_literal(target)
        if literal is None:
            has_names = True
        elif zone_index is not None and "%" in literal[1]:
            _check_zone(target, literal[1], zone_index)
        resolved.append(literal if literal is None else _literal(target, literal, wanted))
    if has_names:
        cache: t.Dict[str, ResolvedTarget] = {}
        for index, target in enumerate(targets):
            if resolved[index] is None:
                if target not in cache:
                    cache[target] = _lookup(target, wanted, lookup)
                resolved[index] = cache[target]
    return resolved


def _check_zone(target: str, address: str, zone_index: t.Callable[[str], int]) -> None:
    zone = address.partition("%")[2]
    try:
        zone_index(zone)
    except (OSError, ValueError):
        raise ParameterError(
            "targets", target,
            "the zone %r is not an interface on this host: use the interface the link-local "
            "address is on (see `ip link`)" % zone,
        ) from None


def _literal(target: str, literal: t.Tuple[int, str], wanted: int) -> ResolvedTarget:
    version, address = literal
    if wanted and version != wanted:
        return ResolvedTarget(target, address, version, "%s is an IPv%d address but family is ipv%d" % (target, version, wanted))
    return ResolvedTarget(target, address, version, None)


def _lookup(target: str, wanted: int, lookup: Lookup) -> ResolvedTarget:
    try:
        answers = lookup(target, wanted)
    except (OSError, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        return ResolvedTarget(target, None, None, "%s does not resolve%s: %s" % (target, _suffix(wanted), reason))
    if not answers:
        return ResolvedTarget(target, None, None, "%s does not resolve%s" % (target, _suffix(wanted)))
    version, address = answers[0]
    return ResolvedTarget(target, address, version, None)


def _suffix(wanted: int) -> str:
    return " to an IPv%d address" % wanted if wanted else ""


def check_source_family(source: str, family: int) -> None:
    """``TransportError`` unless ``source`` is an IP address of ``family``."""
    import ipaddress  # noqa: PLC0415 - only runs with a source option; sweeps of IPv4 literals skip it

    try:
        version = ipaddress.ip_address(source.partition("%")[0]).version
    except ValueError:
        raise TransportError(
            "source %r is not an IP address: give an address configured on this host (see `ip address`)" % source
        ) from None
    if version != family:
        raise TransportError(
            "source %r is an IPv%d address and cannot send the IPv%d probes: give an IPv%d source "
            "(see `ip address`), or probe IPv4 and IPv6 targets in separate tasks" % (source, version, family, family)
        )
