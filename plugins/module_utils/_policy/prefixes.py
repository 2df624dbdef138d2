# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Source and destination prefixes of policy rules.

A rule's ``source`` / ``destination`` is a tuple of networks in canonical text
(``192.0.2.0/24``, ``2001:db8::1/128``); the empty tuple means every address.
Lists are collapsed (``ipaddress.collapse_addresses``): overlapping and adjacent
prefixes merge, as nftables merges the intervals of an anonymous set, so what a
backend reads back is what the model holds.
"""
from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError

Prefixes = t.Tuple[str, ...]
MAX_PREFIXES = 32  # per field: iptables and device lists render one line per source x destination
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4_RE = re.compile(r"%s(?:\.%s){3}(?:/(?:3[0-2]|[12]?[0-9]))?" % (_OCTET, _OCTET))
# the characters of the IPv6 text forms (RFC 4291 2.2, embedded IPv4 included); ipaddress checks the rest
_V6_RE = re.compile(r"[0-9A-Fa-f:.]{2,45}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?")
_PATTERN = {IPV4: _V4_RE, IPV6: _V6_RE}
_VERSION = {IPV4: 4, IPV6: 6}
Network = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def network(family: str, text: t.Any, what: str = "prefix") -> Network:
    """One prefix in the family's standard text form; host bits set is refused, naming both fixes."""
    if not isinstance(text, str):
        raise PolicyError("%s %r is not text: write a prefix such as %s" % (what, text, _example(family)))
    other = IPV6 if family == IPV4 else IPV4
    if _PATTERN[other].fullmatch(text) is not None and (other == IPV4 or ":" in text):
        raise PolicyError("%s %r is not an %s prefix (it is an %s prefix; this rule is %s): write an address or "
                          "address/length such as %s" % (what, text, family, other, family, _example(family)))
    if _PATTERN[family].fullmatch(text) is None:
        raise PolicyError("%s %r is not an %s prefix: write an address or address/length such as %s"
                          % (what, text, family, _example(family)))
    try:
        parsed = ipaddress.ip_network(text, strict=True)
    except ValueError as err:
        if "host bits set" in str(err):
            wide = ipaddress.ip_network(text, strict=False)
            raise PolicyError("%s %r has host bits set: write %s for the network or %s/%d for the single address"
                              % (what, text, wide, text.split("/")[0], wide.max_prefixlen)) from err
        raise PolicyError("%s %r is not an %s prefix (%s): write an address or address/length such as %s"
                          % (what, text, family, err, _example(family))) from err
    if parsed.version != _VERSION[family]:
        raise PolicyError("%s %r is an IPv%d prefix but the rule is %s" % (what, text, parsed.version, family))
    return parsed


def _example(family: str) -> str:
    return "'192.0.2.0/24' or '192.0.2.1'" if family == IPV4 else "'2001:db8::/32' or '2001:db8::1'"


def parse(family: str, value: t.Any, what: str) -> Prefixes:
    """A rule field (None, one prefix or a list of prefixes) -> canonical tuple; () is every address."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise PolicyError("%s %r must be a prefix or a list of prefixes" % (what, value))
    if len(items) > MAX_PREFIXES:
        raise PolicyError("%s lists %d prefixes; at most %d per rule (split the rule, or summarise the prefixes)"
                          % (what, len(items), MAX_PREFIXES))
    networks = [network(family, item, what) for item in items]
    everywhere = [str(net) for net in networks if net.prefixlen == 0]
    if everywhere:
        raise PolicyError("%s %r matches every address: leave %s out instead" % (what, everywhere[0], what))
    return canonical(networks)


def canonical(networks: t.Iterable[Network]) -> Prefixes:
    """Collapsed and sorted, in ``ipaddress``'s compressed text."""
    collapsed = ipaddress.collapse_addresses(networks)  # type: ignore[misc]
    return tuple(str(net) for net in sorted(collapsed, key=_order))


def _order(net: Network) -> t.Tuple[int, int]:
    return int(net.network_address), net.prefixlen


def sort_key(prefixes: Prefixes) -> t.Tuple[t.Tuple[int, int], ...]:
    return tuple(_order(ipaddress.ip_network(text)) for text in prefixes)


def specificity(prefixes: Prefixes) -> int:
    """The shortest prefix length of the field (0 for every address): longer goes first."""
    return min((ipaddress.ip_network(text).prefixlen for text in prefixes), default=0)


def covers(outer: Prefixes, inner: Prefixes) -> bool:
    """True when every address ``inner`` matches is matched by ``outer``."""
    if not outer:
        return True
    if not inner:
        return False
    wide = [ipaddress.ip_network(text) for text in outer]
    return all(any(_within(ipaddress.ip_network(text), net) for net in wide) for text in inner)


def _within(inner: Network, outer: Network) -> bool:
    return (inner.version == outer.version and inner.prefixlen >= outer.prefixlen
            and int(inner.network_address) & int(outer.netmask) == int(outer.network_address))


def words(prefixes: Prefixes) -> str:
    return ",".join(prefixes) if prefixes else "any"


def host_or_network(text: str) -> t.Tuple[str, int]:
    """``(address, length)`` of a canonical prefix."""
    net = ipaddress.ip_network(text)
    return str(net.network_address), net.prefixlen
