# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The backend-neutral ICMP policy model.

A policy is a set of rules keyed by ``(family, direction, type, code)`` plus a set
of ICMP sysctls. Rules are kept in one canonical order (by direction, then family,
as the nftables chains are laid out), most specific first
(type+code, then type, then ``any``), so that evaluation order never depends on
the order the user wrote them in, and two policies with the same rules compare
equal and render byte-identically.
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, names
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import (  # noqa: F401 (re-exported)
    LOG_PREFIX_MAX,
    PolicyError,
)

DIRECTIONS = ("input", "forward", "output")
ACTIONS = ("accept", "drop")
RATE_UNITS = {"s": "second", "sec": "second", "second": "second",
              "m": "minute", "min": "minute", "minute": "minute",
              "h": "hour", "hour": "hour"}
DEFAULT_BURST = 5  # what both nft and iptables use when no burst is given
_RATE_RE = re.compile(r"\s*([0-9]+)\s*/\s*([a-z]+)\s*")


@dataclass(frozen=True, order=True)
class RateLimit:
    rate: int
    per: str  # second | minute | hour
    burst: int = DEFAULT_BURST

    def text(self) -> str:
        return "%d/%s burst %d" % (self.rate, self.per, self.burst)


@dataclass(frozen=True)
class Rule:
    family: str
    direction: str
    icmp_type: t.Optional[int]  # None: every ICMP type of the family
    code: t.Optional[int]
    action: str
    rate: t.Optional[RateLimit] = None
    log_prefix: t.Optional[str] = None

    @property
    def key(self) -> t.Tuple[str, str, int, int]:
        return (self.family, self.direction, _num(self.icmp_type), _num(self.code))

    def sort_key(self) -> t.Tuple[int, int, int, int, int]:
        specificity = 2 if self.icmp_type is None else (1 if self.code is None else 0)
        return (DIRECTION_ORDER[self.direction], FAMILY_ORDER[self.family], specificity,
                _num(self.icmp_type), _num(self.code))

    def matches(self, icmp_type: int, code: int) -> bool:
        if self.icmp_type is None:
            return True
        return self.icmp_type == icmp_type and (self.code is None or self.code == code)

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {
            "family": self.family,
            "direction": self.direction,
            "type": icmp_types.type_label(self.family, self.icmp_type),
            "code": self.code,
            "action": self.action,
            "rate": ("%d/%s" % (self.rate.rate, self.rate.per)) if self.rate else None,
            "burst": self.rate.burst if self.rate else None,
            "log_prefix": self.log_prefix,
        }

    def text(self) -> str:
        """One line per rule; the diff is made of these lines."""
        words = [self.family, self.direction, "type", str(icmp_types.type_label(self.family, self.icmp_type))]
        if self.code is not None:
            words += ["code", str(self.code)]
        if self.rate:
            words += ["limit", self.rate.text()]
        if self.log_prefix:
            words += ["log", repr(self.log_prefix)]
        words.append(self.action)
        return " ".join(words)


FAMILY_ORDER = {IPV4: 0, IPV6: 1}
DIRECTION_ORDER = {name: index for index, name in enumerate(DIRECTIONS)}


def _num(value: t.Optional[int]) -> int:
    return -1 if value is None else value


@dataclass(frozen=True)
class Policy:
    rules: t.Tuple[Rule, ...] = ()
    sysctls: t.Tuple[t.Tuple[str, int], ...] = field(default=())

    @classmethod
    def build(cls, rules: t.Iterable[Rule], sysctls: t.Optional[t.Mapping[str, int]] = None) -> "Policy":
        """Canonical policy: one rule per key (the last one given wins), sorted."""
        by_key: t.Dict[t.Tuple[str, str, int, int], Rule] = {}
        for rule in rules:
            by_key[rule.key] = rule
        ordered = tuple(sorted(by_key.values(), key=Rule.sort_key))
        return cls(ordered, tuple(sorted((sysctls or {}).items())))

    def chain(self, family: str, direction: str) -> t.Tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.family == family and r.direction == direction)

    def chains(self) -> t.List[t.Tuple[str, str]]:
        seen: t.List[t.Tuple[str, str]] = []
        for rule in self.rules:
            if (rule.family, rule.direction) not in seen:
                seen.append((rule.family, rule.direction))
        return seen

    def sysctl_map(self) -> t.Dict[str, int]:
        return dict(self.sysctls)

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"rules": [r.to_dict() for r in self.rules], "sysctls": self.sysctl_map()}

    def text(self) -> str:
        lines = [r.text() for r in self.rules]
        lines += ["sysctl %s = %d" % item for item in self.sysctls]
        return "".join(line + "\n" for line in lines)


def effective_action(rules: t.Sequence[Rule], icmp_type: int, code: int) -> t.Optional[Rule]:
    """The first rule of a canonical chain that decides ``(type, code)``; None: falls through."""
    for rule in rules:
        if rule.matches(icmp_type, code):
            return rule
    return None


def parse_rate(value: t.Any, burst: t.Any = None) -> RateLimit:
    match = _RATE_RE.fullmatch(str(value).lower())
    unit = RATE_UNITS.get(match.group(2)) if match else None
    if not match or unit is None or int(match.group(1)) < 1:
        raise PolicyError(
            "rate %r does not parse: write N/second, N/minute or N/hour with N >= 1 (e.g. '10/second')" % (value,)
        )
    if burst is None:
        burst_n = DEFAULT_BURST
    elif isinstance(burst, int) and not isinstance(burst, bool) and burst >= 1:
        burst_n = burst
    elif isinstance(burst, str) and burst.isdigit() and int(burst) >= 1:
        burst_n = int(burst)
    else:
        raise PolicyError("burst %r is not a whole number >= 1" % (burst,))
    return RateLimit(int(match.group(1)), unit, burst_n)


_RULE_KEYS = {"family", "direction", "type", "icmp_type", "code", "action", "rate", "burst", "log_prefix"}


def rule_from_dict(raw: t.Mapping[str, t.Any], where: str = "rule") -> Rule:
    """Validate one user rule; errors quote the whole rule so the user can find it."""
    try:
        return _rule_from_dict(raw)
    except (PolicyError, icmp_types.IcmpValueError) as err:
        raise PolicyError("%s %s: %s" % (where, _quote(raw), err)) from err


def _rule_from_dict(raw: t.Mapping[str, t.Any]) -> Rule:
    if not isinstance(raw, t.Mapping):
        raise PolicyError("a rule must be a mapping with family, direction, type and action")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise PolicyError("unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(sorted(_RULE_KEYS))))
    family = _choice(raw.get("family"), icmp_types.FAMILIES, "family")
    direction = _choice(raw.get("direction") or "input", DIRECTIONS, "direction")
    action = _choice(raw.get("action"), ACTIONS, "action")
    type_value = raw.get("type", raw.get("icmp_type"))
    if type_value is None:
        raise PolicyError("type is required: an ICMP type name, a number, or 'any'")
    icmp_type = None if str(type_value).lower() == "any" else icmp_types.type_number(family, type_value)
    code = None
    if raw.get("code") is not None:
        if icmp_type is None:
            raise PolicyError("a code needs a type; 'any' matches every type and code")
        code = icmp_types.code_number(family, icmp_type, raw["code"])
    rate = None
    if raw.get("rate") is not None:
        if action != "accept":
            raise PolicyError("rate limits apply to accept rules (packets over the rate are dropped)")
        rate = parse_rate(raw["rate"], raw.get("burst"))
    elif raw.get("burst") is not None:
        raise PolicyError("burst needs a rate")
    log_prefix = raw.get("log_prefix")
    if log_prefix is not None:
        log_prefix = _check_log_prefix(log_prefix, action, rate)
    return Rule(family, direction, icmp_type, code, action, rate, log_prefix)


def _check_log_prefix(value: t.Any, action: str, rate: t.Optional[RateLimit]) -> str:
    text = str(value)
    if action != "drop" and rate is None:
        raise PolicyError("log_prefix logs dropped packets: use it on drop rules or rate-limited accepts")
    return names.check_log_prefix(text)


def _choice(value: t.Any, allowed: t.Sequence[str], what: str) -> str:
    if value not in allowed:
        raise PolicyError("%s %r is not one of: %s" % (what, value, ", ".join(allowed)))
    return t.cast(str, value)


def _quote(raw: t.Any) -> str:
    if isinstance(raw, t.Mapping):
        return "{" + ", ".join("%s: %r" % (k, raw[k]) for k in raw) + "}"
    return repr(raw)


# --- the safety guard --------------------------------------------------------------------

# (family, type, code or None, directions, why). RFC 1191 / RFC 8201 / RFC 4890 §4.3.1, §4.4.1.
# The Path MTU Discovery messages first, then neighbour discovery.
PMTUD_MUST_PASS: t.Tuple[t.Tuple[str, int, int, t.Tuple[str, ...], str], ...] = (
    (IPV4, 3, 4, DIRECTIONS,
     "IPv4 'fragmentation needed' (type 3 code 4) carries the next-hop MTU (RFC 1191); dropping it "
     "black-holes Path MTU Discovery: small packets pass, large TCP segments stall (ssh, TLS, VPN, BGP hang)"),
    (IPV6, 2, 0, DIRECTIONS,
     "ICMPv6 'packet too big' (type 2) is the only PMTU signal in IPv6, where routers never fragment "
     "(RFC 8201, RFC 4890 4.3.1); dropping it black-holes every path with an MTU below the sender's"),
)
MUST_PASS: t.Tuple[t.Tuple[str, int, int, t.Tuple[str, ...], str], ...] = PMTUD_MUST_PASS + tuple(
    (IPV6, nd_type, 0, ("input", "output"),
     "ICMPv6 neighbour discovery (types 133-137, RFC 4861, RFC 4890 4.4.1) replaces ARP; dropping type "
     "%d breaks address resolution and takes IPv6 down on the link" % nd_type)
    for nd_type in (133, 134, 135, 136, 137)
)


def unsafe_findings(policy: Policy) -> t.List[str]:
    """Why this policy would cause an outage: one sentence per must-pass packet it drops."""
    findings = []
    for family, icmp_type, code, directions, why in MUST_PASS:
        for direction in directions:
            rule = effective_action(policy.chain(family, direction), icmp_type, code)
            if rule is not None and rule.action == "drop":
                findings.append("%s (%s %s rule '%s'). %s" % (
                    "drops %s type %d code %d" % (family, icmp_type, code), family, direction, rule.text(), why))
    return findings


def pmtud_blocked(policy: Policy) -> t.List[str]:
    """Families whose Path MTU Discovery messages (frag-needed, packet-too-big) the policy drops on input."""
    families = []
    for family, icmp_type, code, _directions, _why in PMTUD_MUST_PASS:
        rule = effective_action(policy.chain(family, "input"), icmp_type, code)
        if rule is not None and rule.action == "drop":
            families.append(family)
    return families


def check_safe(policy: Policy, allow_unsafe: bool) -> None:
    findings = unsafe_findings(policy)
    if findings and not allow_unsafe:
        raise PolicyError(
            "refusing an unsafe ICMP policy: it " + "; it ".join(findings)
            + ". Accept these types, or set allow_unsafe: true if this outage is what you want (a drill)."
        )
