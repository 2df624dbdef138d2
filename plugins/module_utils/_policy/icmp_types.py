# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""ICMPv4 and ICMPv6 type and code names, numbers and validation.

Type names are the ones nftables prints in ``nft -j`` output, so the nftables
parser maps them back with the same table. A few aliases people type (``ping``,
``neighbor-solicitation``) are accepted on input only; output always uses the
canonical name, or the number for unassigned types.
"""
from __future__ import annotations

import re
import typing as t

IPV4 = "ipv4"
IPV6 = "ipv6"
FAMILIES = (IPV4, IPV6)


class IcmpValueError(ValueError):
    """A type or code that does not exist for the family; the message says what to use."""


# name -> (number, highest defined code).  RFC 792, 950, 1256, 1812, 4884.
ICMPV4_TYPES: t.Dict[str, t.Tuple[int, int]] = {
    "echo-reply": (0, 0),
    "destination-unreachable": (3, 15),
    "source-quench": (4, 0),
    "redirect": (5, 3),
    "echo-request": (8, 0),
    "router-advertisement": (9, 16),
    "router-solicitation": (10, 0),
    "time-exceeded": (11, 1),
    "parameter-problem": (12, 2),
    "timestamp-request": (13, 0),
    "timestamp-reply": (14, 0),
    "info-request": (15, 0),
    "info-reply": (16, 0),
    "address-mask-request": (17, 0),
    "address-mask-reply": (18, 0),
}

# RFC 4443, 2710, 3810, 4861, 3122, 2894.
ICMPV6_TYPES: t.Dict[str, t.Tuple[int, int]] = {
    "destination-unreachable": (1, 7),
    "packet-too-big": (2, 0),
    "time-exceeded": (3, 1),
    "parameter-problem": (4, 3),
    "echo-request": (128, 0),
    "echo-reply": (129, 0),
    "mld-listener-query": (130, 0),
    "mld-listener-report": (131, 0),
    "mld-listener-done": (132, 0),
    "nd-router-solicit": (133, 0),
    "nd-router-advert": (134, 0),
    "nd-neighbor-solicit": (135, 0),
    "nd-neighbor-advert": (136, 0),
    "nd-redirect": (137, 0),
    "router-renumbering": (138, 255),
    "ind-neighbor-solicit": (141, 0),
    "ind-neighbor-advert": (142, 0),
    "mld2-listener-report": (143, 0),
}

_ALIASES: t.Dict[str, t.Dict[str, str]] = {
    IPV4: {"ping": "echo-request", "pong": "echo-reply", "timestamp": "timestamp-request",
           "unreachable": "destination-unreachable"},
    IPV6: {"ping": "echo-request", "pong": "echo-reply", "mld-listener-reduction": "mld-listener-done",
           "unreachable": "destination-unreachable", "router-solicitation": "nd-router-solicit",
           "router-advertisement": "nd-router-advert", "neighbor-solicitation": "nd-neighbor-solicit",
           "neighbor-advertisement": "nd-neighbor-advert", "redirect": "nd-redirect"},
}

# Code names nftables prints (``icmp code frag-needed``), per family; valid for type 3 (v4) / 1 (v6).
ICMPV4_CODES: t.Dict[str, int] = {
    "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
    "frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13,
}
ICMPV6_CODES: t.Dict[str, int] = {
    "no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
    "policy-fail": 5, "reject-route": 6,
}

_TYPES = {IPV4: ICMPV4_TYPES, IPV6: ICMPV6_TYPES}
_CODES = {IPV4: ICMPV4_CODES, IPV6: ICMPV6_CODES}
_NUMBERS = {fam: {num: name for name, (num, _max) in table.items()} for fam, table in _TYPES.items()}
_CODE_NAMES = {fam: {num: name for name, num in table.items()} for fam, table in _CODES.items()}
_UNREACH = {IPV4: 3, IPV6: 1}
# IPv4 type 255 is reserved, and the kernel's iptables icmp match reads type 255 as "any type"
# (iptables-save prints it as ``--icmp-type any``): a rule for it would match every ICMP packet.
_TYPE_MAX = {IPV4: 254, IPV6: 255}
_TYPE_MAX_WHY = {IPV4: " (255 is reserved, and iptables reads it as every type; use type: any for that)", IPV6: ""}


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise IcmpValueError("family %r is not one of %s" % (family, ", ".join(FAMILIES)))


def _as_int(value: t.Any) -> t.Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value.strip()):
        return int(value.strip())
    return None


def type_number(family: str, value: t.Any) -> int:
    """Resolve an ICMP type name or number for ``family``; raise ``IcmpValueError``."""
    _check_family(family)
    number = _as_int(value)
    if number is not None:
        if not 0 <= number <= _TYPE_MAX[family]:
            raise IcmpValueError("ICMP type %r is out of range: use 0-%d%s"
                                 % (value, _TYPE_MAX[family], _TYPE_MAX_WHY[family]))
        return number
    name = str(value).strip().lower()
    name = _ALIASES[family].get(name, name)
    if name in _TYPES[family]:
        return _TYPES[family][name][0]
    other = IPV6 if family == IPV4 else IPV4
    hint = ""
    if name in _TYPES[other] or name in _ALIASES[other]:
        hint = " (%r is an %s type; put it in a rule with family: %s)" % (value, other, other)
    raise IcmpValueError(
        "unknown %s ICMP type %r%s; use a number 0-255 or one of: %s"
        % (family, value, hint, ", ".join(sorted(_TYPES[family])))
    )


def code_number(family: str, icmp_type: int, value: t.Any) -> int:
    """Resolve an ICMP code for ``(family, icmp_type)``; check its range for known types."""
    _check_family(family)
    number = _as_int(value)
    if number is None:
        name = str(value).strip().lower()
        if icmp_type != _UNREACH[family] or name not in _CODES[family]:
            raise IcmpValueError(
                "unknown ICMP code %r for %s type %d; use a number (code names exist only for "
                "destination-unreachable: %s)" % (value, family, icmp_type, ", ".join(sorted(_CODES[family])))
            )
        return _CODES[family][name]
    name_of_type = _NUMBERS[family].get(icmp_type)
    highest = _TYPES[family][name_of_type][1] if name_of_type else 255
    if not 0 <= number <= highest:
        raise IcmpValueError(
            "ICMP code %r is out of range for %s type %d (%s): use 0-%d"
            % (value, family, icmp_type, name_of_type or "unassigned", highest)
        )
    return number


def output_code_number(family: str, icmp_type: int, value: t.Any) -> int:
    """A code as ``nft -j`` prints it: the code names are plain aliases of numbers there, printed
    for every type (``icmp type 42 icmp code frag-needed`` is code 4), so resolve them first."""
    _check_family(family)
    if isinstance(value, str) and value in _CODES[family]:
        value = _CODES[family][value]
    return code_number(family, icmp_type, value)


def type_name(family: str, number: int) -> t.Optional[str]:
    """The canonical (nftables) name of a type number, or None when it has none."""
    return _NUMBERS[family].get(number)


def type_label(family: str, number: t.Optional[int]) -> t.Union[str, int]:
    """Name when known, else the number; ``any`` for a rule that matches every type."""
    if number is None:
        return "any"
    return type_name(family, number) or number


def code_name(family: str, icmp_type: int, code: int) -> t.Optional[str]:
    if icmp_type != _UNREACH[family]:
        return None
    return _CODE_NAMES[family].get(code)
