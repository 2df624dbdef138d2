# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Turn targets (addresses or names) into addresses, once, before any packet is sent.

A name that does not resolve is a per-target error: the other targets still run.
The resolver itself is a seam (``transport.lookup`` in production).
"""
from __future__ import annotations

import re
import typing as t

Lookup = t.Callable[[str, int], t.List[t.Tuple[int, str]]]
_FAMILY_NUMBER = {"auto": 0, "ipv4": 4, "ipv6": 6}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(r"%s(?:\.%s){3}" % (_OCTET, _OCTET), re.ASCII)


class ResolvedTarget(t.NamedTuple):
    """A target and what it resolved to (internal to a run; results are in ``models``)."""

    target: str
    address: t.Optional[str]
    family: t.Optional[int]  # 4 or 6
    error: t.Optional[str]


def parse_literal(target: str) -> t.Optional[t.Tuple[int, str]]:
    """(family, canonical address) when ``target`` is an IP literal, else None.

    IPv6 zone ids (``fe80::1%eth0``) are kept: the kernel needs them for link-local.
    """
    text = target.strip()
    if _is_plain_ipv4(text):
        return 4, text
    import ipaddress  # noqa: PLC0415 - not needed on the fast path above

    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    address, _separator, zone = text.partition("%")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    canonical = str(parsed)
    if zone and parsed.version == 6:
        canonical += "%" + zone
    return parsed.version, canonical


def _is_plain_ipv4(text: str) -> bool:
    """A canonical dotted quad (fast path for sweeps of thousands of literals)."""
    return _PLAIN_IPV4.fullmatch(text) is not None


def resolve_targets(targets: t.Sequence[str], family: str, lookup: Lookup) -> t.List[ResolvedTarget]:
    """Resolve each distinct target once; keep the user's order (duplicates included)."""
    wanted = _FAMILY_NUMBER[family]
    cache: t.Dict[str, ResolvedTarget] = {}
    resolved = []
    for target in targets:
        if target not in cache:
            cache[target] = _resolve_one(target, wanted, lookup)
        resolved.append(cache[target])
    return resolved


def _resolve_one(target: str, wanted: int, lookup: Lookup) -> ResolvedTarget:
    literal = parse_literal(target)
    if literal is not None:
        version, address = literal
        if wanted and version != wanted:
            return ResolvedTarget(
                target, address, version, "%s is an IPv%d address but family is ipv%d" % (target, version, wanted)
            )
        return ResolvedTarget(target, address, version, None)
    try:
        answers = lookup(target, wanted)
    except (OSError, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        return ResolvedTarget(
            target, None, None, "%s does not resolve%s: %s" % (target, _suffix(wanted), reason)
        )
    if not answers:
        return ResolvedTarget(target, None, None, "%s does not resolve%s" % (target, _suffix(wanted)))
    version, address = answers[0]
    return ResolvedTarget(target, address, version, None)


def _suffix(wanted: int) -> str:
    return " to an IPv%d address" % wanted if wanted else ""
