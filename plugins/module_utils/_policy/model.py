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

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, names, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError

DIRECTIONS = ("input", "forward", "output")
ACTIONS = ("accept", "drop")
RATE_UNITS = {"s": "second", "sec": "second", "second": "second",
              "m": "minute", "min": "minute", "minute": "minute",
              "h": "hour", "hour": "hour"}
DEFAULT_BURST = 5  # what both nft and iptables use when no burst is given
# What both backends keep, measured with ``nft -c`` and ``iptables-restore --test`` (1.0.6 / 1.8.9):
# iptables refuses a rate faster than 10000/s ("Rate too fast": it stores 10000 * seconds-per-unit
# / rate as an integer) and a burst over 10000; nft takes far more but wraps a burst of 2**32 + 1
# to 1, so the limits of iptables are the contract for both.
BURST_MAX = 10000
RATE_MAX = {"second": 10000, "minute": 600000, "hour": 36000000}
_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
_XT_LIMIT_SCALE = 10000
# The guard's floor: a rate-limited accept of a must-pass type slower than this drops the rest
# (a PMTUD storm after a route change or ND on a busy link easily exceeds it), so it counts as a drop.
MUST_PASS_FLOOR_PER_SECOND = 10
_RATE_RE = re.compile(r" *([0-9]{1,12}) */ *([a-z]+) *")


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
    source: prefixes.Prefixes = ()  # (): every address
    destination: prefixes.Prefixes = ()

    @property
    def key(self) -> "RuleKey":
        return (self.family, self.direction, _num(self.icmp_type), _num(self.code), self.source, self.destination)

    @property
    def addressed(self) -> bool:
        """The rule matches only some source or destination addresses."""
        return bool(self.source or self.destination)

    def sort_key(self) -> t.Tuple[t.Any, ...]:
        """Most specific first: by type and code, then a rule with addresses before one without,
        longer prefixes before shorter ones (so a /32 exception goes before its /24)."""
        specificity = 2 if self.icmp_type is None else (1 if self.code is None else 0)
        return (DIRECTION_ORDER[self.direction], FAMILY_ORDER[self.family], specificity,
                _num(self.icmp_type), _num(self.code), 0 if self.addressed else 1,
                -prefixes.specificity(self.source), -prefixes.specificity(self.destination),
                prefixes.sort_key(self.source), prefixes.sort_key(self.destination))

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
            "source": list(self.source) or None,
            "destination": list(self.destination) or None,
        }

    def text(self) -> str:
        """One line per rule; the diff is made of these lines."""
        words = [self.family, self.direction, "type", str(icmp_types.type_label(self.family, self.icmp_type))]
        if self.code is not None:
            words += ["code", str(self.code)]
        words += address_words(self)
        if self.rate:
            words += ["limit", self.rate.text()]
        if self.log_prefix:
            words += ["log", repr(self.log_prefix)]
        words.append(self.action)
        return " ".join(words)


RuleKey = t.Tuple[str, str, int, int, prefixes.Prefixes, prefixes.Prefixes]
FAMILY_ORDER = {IPV4: 0, IPV6: 1}
DIRECTION_ORDER = {name: index for index, name in enumerate(DIRECTIONS)}


def address_words(rule: Rule) -> t.List[str]:
    """``from A,B`` / ``to C`` for a rule with addresses; nothing for every address."""
    words = ["from", prefixes.words(rule.source)] if rule.source else []
    return words + (["to", prefixes.words(rule.destination)] if rule.destination else [])


def _num(value: t.Optional[int]) -> int:
    return -1 if value is None else value


@dataclass(frozen=True)
class Policy:
    rules: t.Tuple[Rule, ...] = ()
    sysctls: t.Tuple[t.Tuple[str, int], ...] = field(default=())

    @classmethod
    def build(cls, rules: t.Iterable[Rule], sysctls: t.Optional[t.Mapping[str, int]] = None) -> "Policy":
        """Canonical policy: one rule per key (the last one given wins), sorted."""
        by_key: t.Dict[RuleKey, Rule] = {}
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


def fold_duplicates(rules: t.Sequence[Rule]) -> t.List[Rule]:
    """The user's rules (numbered from 1) with identical duplicates folded.

    Two rules for the same family, direction, type and code that differ in action, rate
    or log prefix are refused naming both: which one the user meant cannot be guessed.
    (A user rule overriding a profile's rule is a feature; see ``profiles.extend``.)
    """
    seen: t.Dict[RuleKey, t.Tuple[int, Rule]] = {}
    folded: t.List[Rule] = []
    for number, rule in enumerate(rules, 1):
        if rule.key not in seen:
            seen[rule.key] = (number, rule)
            folded.append(rule)
            continue
        first_number, first = seen[rule.key]
        if first != rule:
            raise PolicyError(
                "rule %d and rule %d both match %s but differ ('%s' and '%s'): keep one of them"
                % (first_number, number, _match_text(rule), first.text(), rule.text()))
    return folded


def _match_text(rule: Rule) -> str:
    text = "%s %s type %s" % (rule.family, rule.direction, icmp_types.type_label(rule.family, rule.icmp_type))
    text = text if rule.code is None else "%s code %d" % (text, rule.code)
    return " ".join([text] + address_words(rule))


def effective_action(rules: t.Sequence[Rule], icmp_type: int, code: int) -> t.Optional[Rule]:
    """The first rule of a canonical chain that decides ``(type, code)`` for every address; None: falls
    through (rules limited to some addresses decide only for those, see ``deciding_rules``)."""
    deciding = deciding_rules(rules, icmp_type, code)
    return deciding[-1] if deciding and not deciding[-1].addressed else None


def deciding_rules(rules: t.Sequence[Rule], icmp_type: int, code: int) -> t.List[Rule]:
    """The rules ``(type, code)`` meets in order: those limited to some addresses (each decides for its
    addresses only), up to the first one for every address, which decides for all the rest."""
    met = []
    for rule in rules:
        if rule.matches(icmp_type, code):
            met.append(rule)
            if not rule.addressed:
                break
    return met


def parse_rate(value: t.Any, burst: t.Any = None) -> RateLimit:
    match = _RATE_RE.fullmatch(str(value).lower())
    unit = RATE_UNITS.get(match.group(2)) if match else None
    if not match or unit is None or int(match.group(1)) < 1:
        raise PolicyError(
            "rate %r does not parse: write N/second, N/minute or N/hour with N >= 1 (e.g. '10/second')" % (value,)
        )
    rate = int(match.group(1))
    if rate > RATE_MAX[unit]:
        raise PolicyError("rate %r is too fast: iptables keeps at most %d/%s (10000/second); use a lower rate"
                          % (value, RATE_MAX[unit], unit))
    stored = iptables_rate(rate, unit)
    if stored != (rate, unit):
        raise PolicyError(
            "rate %r is stored by iptables as %d/%s, so the rule would never read back as written: write "
            "'%d/%s' or a rate iptables keeps exactly" % (value, stored[0], stored[1], stored[0], stored[1]))
    return RateLimit(rate, unit, _burst(burst))


def _burst(burst: t.Any) -> int:
    if burst is None:
        return DEFAULT_BURST
    number = None
    if isinstance(burst, int) and not isinstance(burst, bool):
        number = burst
    elif isinstance(burst, str) and re.fullmatch(r"[0-9]{1,12}", burst):
        number = int(burst)
    if number is None or not 1 <= number <= BURST_MAX:
        raise PolicyError("burst %r is not a whole number 1-%d (iptables keeps at most %d; nft wraps larger "
                          "values)" % (burst, BURST_MAX, BURST_MAX))
    return number


def iptables_rate(rate: int, per: str) -> t.Tuple[int, str]:
    """The rate ``iptables-save`` prints back for ``--limit rate/per`` (libxt_limit's arithmetic).

    iptables keeps a period in 1/10000 s and picks the largest unit that divides it evenly
    on output, so 60/minute reads back as 1/second and 9999/second as 10000/second.
    """
    period = _XT_LIMIT_SCALE * _SECONDS[per] // rate
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    index = 1
    while index < len(units):
        mult = _XT_LIMIT_SCALE * units[index][1]
        if period > mult or mult // period < mult % period:
            break
        index += 1
    name, seconds = units[index - 1]
    return _XT_LIMIT_SCALE * seconds // period, name


_RULE_KEYS = {"family", "direction", "type", "icmp_type", "code", "action", "rate", "burst", "log_prefix", "source",
              "destination"}


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
    source = prefixes.parse(family, raw.get("source"), "source")
    destination = prefixes.parse(family, raw.get("destination"), "destination")
    if rate is not None and max(len(source), 1) * max(len(destination), 1) > 1:
        raise PolicyError("a rate limit needs one source and one destination prefix at most (iptables would give "
                          "each prefix its own limit, nftables one shared limit): write one rule per prefix")
    return Rule(family, direction, icmp_type, code, action, rate, log_prefix, source, destination)


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
ROUTER_ADVERTISEMENT = 134
LINK_LOCAL_V6 = ("fe80::/10",)  # where router advertisements come from (RFC 4861 6.1.2)
MUST_PASS: t.Tuple[t.Tuple[str, int, int, t.Tuple[str, ...], str], ...] = PMTUD_MUST_PASS + tuple(
    (IPV6, nd_type, 0, ("input", "output"),
     "ICMPv6 neighbour discovery (types 133-137, RFC 4861, RFC 4890 4.4.1) replaces ARP; dropping type "
     "%d breaks address resolution and takes IPv6 down on the link" % nd_type)
    for nd_type in (133, 134, 135, 136, 137)
)


def below_floor(rate: t.Optional[RateLimit]) -> bool:
    """A rate limit slower than the guard's floor (``MUST_PASS_FLOOR_PER_SECOND``)."""
    return rate is not None and rate.rate < MUST_PASS_FLOOR_PER_SECOND * _SECONDS[rate.per]


def unsafe_findings(policy: Policy) -> t.List[str]:
    """Why this policy would cause an outage: one sentence per must-pass packet it drops.

    A rate-limited accept below the floor drops all but a trickle, so it counts as a drop.
    A rule limited to some addresses decides only for them: an accept from one prefix leaves the
    others to the next rule, and a drop from one prefix is reported as dropping from that prefix.
    """
    findings = []
    for family, icmp_type, code, directions, why in MUST_PASS:
        for direction in directions:
            chain = policy.chain(family, direction)
            guarded = (family, icmp_type, direction) == (IPV6, ROUTER_ADVERTISEMENT, "input") and ra_guard(chain)
            for rule in deciding_rules(chain, icmp_type, code):
                what = "%s type %d code %d" % (family, icmp_type, code)
                where = _where(rule, chain, icmp_type, code)
                if rule.action == "drop" and not guarded:
                    findings.append("drops %s%s (%s %s rule '%s'). %s%s"
                                    % (what, where, family, direction, rule.text(), why,
                                       _ra_hint(chain) if icmp_type == ROUTER_ADVERTISEMENT else ""))
                elif below_floor(rule.rate):
                    findings.append(
                        "rate-limits %s%s below the floor of %d/second, which drops the rest (%s %s rule '%s'). %s"
                        % (what, where, MUST_PASS_FLOOR_PER_SECOND, family, direction, rule.text(), why))
    return findings


def ra_guard(chain: t.Sequence[Rule]) -> bool:
    """An RA guard on the host (RFC 6105's filter, done by the host's own firewall): the input chain accepts
    router advertisements from some link-local addresses (the LAN's real routers) before it drops the rest.

    Only link-local sources count: a router sends its advertisements from its link-local address
    (RFC 4861 6.1.2, and Linux ignores any other), so an accept from a global address keeps no router.
    """
    return any(rule.action == "accept" and rule.source and not below_floor(rule.rate)
               and prefixes.covers(LINK_LOCAL_V6, rule.source)
               for rule in deciding_rules(chain, ROUTER_ADVERTISEMENT, 0) if rule.addressed)


def _ra_hint(chain: t.Sequence[Rule]) -> str:
    accepted = [source for rule in deciding_rules(chain, ROUTER_ADVERTISEMENT, 0)
                if rule.action == "accept" and rule.addressed for source in rule.source]
    if not accepted:
        return ""
    return (" (the accept from %s keeps no router: router advertisements come from the router's link-local address,"
            " RFC 4861 6.1.2; accept them from its fe80:: address/128 for an RA guard)" % ",".join(accepted))


def _where(rule: Rule, chain: t.Sequence[Rule], icmp_type: int, code: int) -> str:
    """Which packets the rule decides for: its addresses, or all those earlier rules left to it."""
    if rule.addressed:
        return " " + " ".join(address_words(rule))
    earlier = [r for r in deciding_rules(chain, icmp_type, code) if r.addressed]
    return " from every other address" if earlier else ""


def pmtud_blocked(policy: Policy) -> t.List[str]:
    """Families whose Path MTU Discovery messages (frag-needed, packet-too-big) the policy drops on input,
    from every address or from some."""
    families = []
    for family, icmp_type, code, _directions, _why in PMTUD_MUST_PASS:
        deciding = deciding_rules(policy.chain(family, "input"), icmp_type, code)
        if any(rule.action == "drop" for rule in deciding):
            families.append(family)
    return families


def check_safe(policy: Policy, allow_unsafe: bool) -> None:
    findings = unsafe_findings(policy)
    if findings and not allow_unsafe:
        raise PolicyError(
            "refusing an unsafe ICMP policy: it " + "; it ".join(findings)
            + ". Accept these types, or set allow_unsafe: true if this outage is what you want (a drill)."
        )
