# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Cisco IOS / IOS-XE access lists: render the policy, parse ``show running-config``.

One named list per family and direction: ``<prefix>-IN``, ``<prefix>-FWD``,
``<prefix>-OUT`` for IPv4 (``ip access-list extended``) and ``<prefix>-V6-IN``
... for IPv6 (``ipv6 access-list``). Entries use IOS's ICMP keywords where IOS
has one and ``type [code]`` numbers otherwise. Every list ends with an explicit
verdict for all other ICMP (``permit icmp any any`` unless the policy drops the
rest), because IOS denies whatever no entry matches. The text has the exact form
``cisco.ios.ios_acls state: rendered`` prints, and ``ios_acls_config`` gives the
same lists as that module's data model, for the entries the model can hold: it
has no numeric ICMP type/code and no IPv6 neighbour-discovery keywords, and its
parser turns such entries into "every ICMP type" (checked in the tests), so a
policy with them is only given as text.

Source and destination prefixes are IOS addresses: ``any``, ``host A``, ``A WILDCARD``
(IPv4) or ``P/LEN`` (IPv6), one per entry, so a rule takes one prefix per field here.

Parsing reads only our lists. IOS's implicit end (IPv6: permit nd-na and nd-ns,
then deny everything) becomes explicit rules, remarks and non-ICMP entries are
skipped, and an entry with an object group or a non-contiguous wildcard is
refused: the model cannot hold it.
"""
from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import firstmatch, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES, IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import DIRECTIONS, Policy, PolicyError, Rule

WHAT = "backend cisco_ios (IOS access lists)"
_SUFFIX = {"input": "IN", "forward": "FWD", "output": "OUT"}

# (type, code or None) -> IOS keyword. IPv4 from the IOS command reference; all of them
# are also options of cisco.ios.ios_acls (see IOS_ACLS_KEYWORDS).
V4_KEYWORDS: t.Dict[t.Tuple[int, t.Optional[int]], str] = {
    (0, None): "echo-reply", (3, None): "unreachable", (3, 0): "net-unreachable", (3, 1): "host-unreachable",
    (3, 2): "protocol-unreachable", (3, 3): "port-unreachable", (3, 4): "packet-too-big",
    (3, 5): "source-route-failed", (3, 6): "network-unknown", (3, 7): "host-unknown", (3, 8): "host-isolated",
    (3, 9): "dod-net-prohibited", (3, 10): "dod-host-prohibited", (3, 11): "net-tos-unreachable",
    (3, 12): "host-tos-unreachable", (3, 13): "administratively-prohibited",
    (3, 14): "host-precedence-unreachable", (3, 15): "precedence-unreachable", (4, None): "source-quench",
    (5, None): "redirect", (5, 0): "net-redirect", (5, 1): "host-redirect", (5, 2): "net-tos-redirect",
    (5, 3): "host-tos-redirect", (6, None): "alternate-address", (8, None): "echo",
    (9, None): "router-advertisement", (10, None): "router-solicitation", (11, None): "time-exceeded",
    (11, 0): "ttl-exceeded", (11, 1): "reassembly-timeout", (12, None): "parameter-problem",
    (12, 0): "general-parameter-problem", (12, 1): "option-missing", (12, 2): "no-room-for-option",
    (13, None): "timestamp-request", (14, None): "timestamp-reply", (15, None): "information-request",
    (16, None): "information-reply", (17, None): "mask-request", (18, None): "mask-reply",
    (30, None): "traceroute", (31, None): "conversion-error", (32, None): "mobile-redirect",
}
V6_KEYWORDS: t.Dict[t.Tuple[int, t.Optional[int]], str] = {
    (1, None): "unreachable", (1, 0): "no-route", (1, 1): "admin-prohibited", (1, 3): "address-unreachable",
    (1, 4): "port-unreachable", (2, None): "packet-too-big", (3, None): "time-exceeded", (3, 0): "hop-limit",
    (3, 1): "reassembly-timeout", (4, None): "parameter-problem", (4, 0): "header", (4, 1): "next-header",
    (4, 2): "parameter-option", (128, None): "echo-request", (129, None): "echo-reply",
    (130, None): "mld-query", (131, None): "mld-report", (132, None): "mld-reduction",
    (133, None): "router-solicitation", (134, None): "router-advertisement", (135, None): "nd-ns",
    (136, None): "nd-na", (137, None): "redirect", (138, None): "router-renumbering",
}
KEYWORDS = {IPV4: V4_KEYWORDS, IPV6: V6_KEYWORDS}
_BY_NAME = {family: {name: key for key, name in table.items()} for family, table in KEYWORDS.items()}
# The ICMP options of cisco.ios.ios_acls (argspec acls.py, protocol_options.icmp), as IOS keywords.
IOS_ACLS_KEYWORDS = frozenset(V4_KEYWORDS.values())
# IPv6 implicit entries at the end of every IPv6 list (IOS command reference, "ipv6 access-list").
_V6_IMPLICIT = ((136, "accept"), (135, "accept"))

_HEADER_RE = re.compile(r"(ip access-list extended|ipv6 access-list) (\S+)")
_ENTRY_RE = re.compile(
    r"(?:(?P<seq>\d+) |sequence (?P<seqp>\d+) )?(?P<grant>permit|deny) (?P<proto>\S+) (?P<rest>.*?)"
    r"(?: sequence (?P<seq6>\d+))?")
_LINE_RE = re.compile(r"(?:\d+ |sequence \d+ )?(?:permit|deny|remark)\b.*")
_DOTTED_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_TRAILERS = ("log-input", "log")


def acl_name(prefix: str, family: str, direction: str) -> str:
    return "%s-%s%s" % (prefix, "V6-" if family == IPV6 else "", _SUFFIX[direction])


# --- render -------------------------------------------------------------------------------

def _icmp_words(rule: Rule) -> str:
    if rule.icmp_type is None:
        return ""
    keyword = KEYWORDS[rule.family].get((rule.icmp_type, rule.code))
    if keyword:
        return " " + keyword
    if rule.code is None:
        return " %d" % rule.icmp_type
    return " %d %d" % (rule.icmp_type, rule.code)


def _address_words(rule: Rule, networks: prefixes.Prefixes) -> str:
    """IOS's words for one prefix (or every address)."""
    if not networks:
        return "any"
    address, length = prefixes.host_or_network(networks[0])
    net = ipaddress.ip_network(networks[0])
    if length == net.max_prefixlen:
        return "host %s" % address
    return networks[0] if rule.family == IPV6 else "%s %s" % (address, net.hostmask)


def _entry_line(rule: Rule, sequence: int) -> str:
    body = "%s icmp %s %s%s" % ("permit" if rule.action == "accept" else "deny", _address_words(rule, rule.source),
                                _address_words(rule, rule.destination), _icmp_words(rule))
    if rule.family == IPV4:
        return "%d %s" % (sequence, body)
    return "%s sequence %d" % (body, sequence)


def lists(policy: Policy) -> t.List[t.Tuple[str, str, t.List[Rule]]]:
    """(family, direction, rules in order) for every chain the policy has."""
    return [(family, direction, firstmatch.ordered(policy, family, direction, WHAT, ("source", "destination")))
            for direction in DIRECTIONS for family in FAMILIES if policy.chain(family, direction)]


def render(policy: Policy, prefix: str, start: int = 10, step: int = 10) -> t.List[str]:
    """Configuration lines, in the form ``cisco.ios.ios_acls state: rendered`` prints."""
    lines: t.List[str] = []
    for family, direction, rules in lists(policy):
        header = "ip access-list extended %s" if family == IPV4 else "ipv6 access-list %s"
        lines.append(header % acl_name(prefix, family, direction))
        lines.extend(_entry_line(rule, start + index * step) for index, rule in enumerate(rules))
    return lines


def running_config(policy: Policy, prefix: str, start: int = 10, step: int = 10) -> t.List[str]:
    """The same lists as ``show running-config`` prints them (indented; IPv6 with a leading ``sequence``)."""
    lines: t.List[str] = []
    for line in render(policy, prefix, start, step):
        if line.startswith(("ip access-list", "ipv6 access-list")):
            lines.append(line)
            continue
        words = line.split()
        if words[-2:-1] == ["sequence"]:
            words = words[-2:] + words[:-2]
        lines.append(" " + " ".join(words))
    return lines


def not_in_ios_acls(policy: Policy) -> t.List[str]:
    """Rules that cisco.ios.ios_acls's data model cannot hold (its parser widens them to any ICMP)."""
    missing = []
    for _family, _direction, rules in lists(policy):
        for rule in rules:
            keyword = KEYWORDS[rule.family].get((rule.icmp_type, rule.code))
            if rule.icmp_type is not None and keyword not in IOS_ACLS_KEYWORDS:
                missing.append(rule.text())
    return missing


def _ace_address(rule: Rule, networks: prefixes.Prefixes) -> t.Dict[str, t.Any]:
    """An address in ``cisco.ios.ios_acls``'s data model."""
    words = _address_words(rule, networks).split()
    if words == ["any"]:
        return {"any": True}
    if words[0] == "host":
        return {"host": words[1]}
    return {"address": words[0], "wildcard_bits": words[1]} if len(words) == 2 else {"address": words[0]}


def _ace(rule: Rule, sequence: int) -> t.Dict[str, t.Any]:
    ace: t.Dict[str, t.Any] = {"sequence": sequence, "grant": "permit" if rule.action == "accept" else "deny",
                               "protocol": "icmp", "source": _ace_address(rule, rule.source),
                               "destination": _ace_address(rule, rule.destination)}
    if rule.icmp_type is not None:
        keyword = KEYWORDS[rule.family][(rule.icmp_type, rule.code)]
        ace["protocol_options"] = {"icmp": {keyword.replace("-", "_"): True}}
    return ace


def ios_acls_config(policy: Policy, prefix: str, start: int = 10, step: int = 10) -> t.Optional[t.List[t.Any]]:
    """``cisco.ios.ios_acls`` ``config`` for the policy, or None when it holds rules the model cannot."""
    if not_in_ios_acls(policy):
        return None
    config: t.List[t.Dict[str, t.Any]] = []
    for family in FAMILIES:
        acls = []
        for fam, direction, rules in lists(policy):
            if fam != family:
                continue
            acl: t.Dict[str, t.Any] = {"name": acl_name(prefix, family, direction),
                                       "aces": [_ace(rule, start + i * step) for i, rule in enumerate(rules)]}
            if family == IPV4:
                acl["acl_type"] = "extended"
            acls.append(acl)
        if acls:
            config.append({"afi": family, "acls": acls})
    return config


# --- parse --------------------------------------------------------------------------------

def _sections(text: str, names: t.Mapping[str, t.Tuple[str, str]]) -> t.Dict[t.Tuple[str, str], t.List[str]]:
    """Entry lines of our lists, by (family, direction); everything else ends a section."""
    found: t.Dict[t.Tuple[str, str], t.List[str]] = {}
    current: t.Optional[t.List[str]] = None
    for raw in text.splitlines():
        line = " ".join(raw.split())
        header = _HEADER_RE.fullmatch(line)
        if header is not None:
            key = names.get(header.group(2))
            family_ok = key is not None and (key[0] == IPV6) == header.group(1).startswith("ipv6")
            current = found.setdefault(key, []) if (key is not None and family_ok) else None
        elif _LINE_RE.fullmatch(line) is None:
            current = None
        elif current is not None:
            current.append(line)
    return found


def _icmp_match(family: str, words: str, where: str) -> t.Tuple[t.Optional[int], t.Optional[int]]:
    if not words:
        return None, None
    if words in _BY_NAME[family]:
        return _BY_NAME[family][words]
    parts = words.split()
    if 1 <= len(parts) <= 2 and all(p.isdigit() and int(p) <= 255 for p in parts):
        return int(parts[0]), (int(parts[1]) if len(parts) == 2 else None)
    raise PolicyError("%s: cannot read the ICMP match %r; use an IOS ICMP keyword or 'type [code]' numbers"
                      % (where, words))


def _address(words: t.Sequence[str], index: int, where: str) -> t.Tuple[str, int]:
    """One IOS address (any, host A, A WILDCARD, P/LEN, object-group N) from ``words[index:]``."""
    if index >= len(words):
        raise PolicyError("%s: the entry has no source or destination address" % where)
    word = words[index]
    if word == "any" or "/" in word:
        return word, index + 1
    if (word in ("host", "object-group") or _DOTTED_RE.fullmatch(word)) and index + 1 < len(words):
        return " ".join(words[index:index + 2]), index + 2
    raise PolicyError("%s: cannot read the address %r" % (where, word))


def _strip_trailers(rest: str) -> str:
    words = rest.split()
    while words and words[-1] in _TRAILERS:
        words.pop()
    return " ".join(words)


def _entry(line: str, family: str, direction: str, name: str) -> t.Optional[firstmatch.Entry]:
    match = _ENTRY_RE.fullmatch(line)
    if match is None:
        raise PolicyError("access list %s: cannot read the entry %r" % (name, line))
    seq = match.group("seq") or match.group("seqp") or match.group("seq6")
    where = "access list %s %s" % (name, ("sequence %s" % seq) if seq else repr(line))
    proto = match.group("proto")
    all_protocols = "ipv6" if family == IPV6 else "ip"
    if proto not in ("icmp", all_protocols):
        return None  # tcp, udp, ...: not ICMP, not our concern
    words = _strip_trailers(match.group("rest")).split()
    source, index = _address(words, 0, where)
    destination, index = _address(words, index, where)
    icmp_type, code = (None, None) if proto == all_protocols else _icmp_match(family, " ".join(words[index:]), where)
    action = "accept" if match.group("grant") == "permit" else "drop"
    return firstmatch.Entry(family, direction, icmp_type, code, action, where, False,
                            _prefix(family, source, where, line), _prefix(family, destination, where, line))


def _prefix(family: str, words: str, where: str, line: str) -> prefixes.Prefixes:
    """An IOS address as model prefixes; what the model cannot hold is refused, quoting the entry."""
    parts = words.split()
    try:
        if parts == ["any"]:
            return ()
        if parts[0] == "host" and len(parts) == 2:
            return prefixes.canonical([prefixes.network(family, parts[1])])
        if family == IPV4 and len(parts) == 2 and parts[0] != "object-group":
            length = ipaddress.IPv4Network("0.0.0.0/%s" % parts[1]).prefixlen  # a wildcard is a hostmask
            return prefixes.canonical([prefixes.network(family, "%s/%d" % (parts[0], length))])
        if family == IPV6 and len(parts) == 1:
            return prefixes.canonical([prefixes.network(family, parts[0])])
    except (PolicyError, ValueError) as err:
        raise PolicyError("%s (%r): cannot read the address %r as a prefix (%s)" % (where, line, words, err)) from err
    raise PolicyError("%s (%r): the address %r is not a host, a prefix or any (object groups are not supported); "
                      "keep such entries in another access list" % (where, line, words))


def parse(text: str, prefix: str) -> t.Tuple[Policy, t.List[str]]:
    """Our lists in ``show running-config`` text -> (policy, notes)."""
    if not isinstance(text, str) or not text.strip():
        raise PolicyError("running_config is empty: pass the output of 'show running-config | section access-list'")
    names = {acl_name(prefix, family, direction): (family, direction) for family in FAMILIES for direction in DIRECTIONS}
    entries: t.List[firstmatch.Entry] = []
    for (family, direction), lines in sorted(_sections(text, names).items()):
        name = acl_name(prefix, family, direction)
        for line in lines:
            if line.startswith("remark"):
                continue
            entry = _entry(line, family, direction, name)
            if entry is not None:
                entries.append(entry)
        implicit = _V6_IMPLICIT if family == IPV6 else ()
        for icmp_type, action in implicit:
            entries.append(firstmatch.Entry(family, direction, icmp_type, None, action,
                                            "access list %s implicit nd entry" % name, True))
        entries.append(firstmatch.Entry(family, direction, None, None, "drop", "access list %s implicit deny" % name,
                                        True))
    rules, notes = firstmatch.to_rules(entries)
    return Policy.build(rules), notes
