# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""nftables backend: render a policy to one atomic ``nft -f`` script, parse ``nft -j``.

The module owns one table (``inet netdevops_icmp`` by default) and nothing else.
The script always starts with ``table inet X`` + ``delete table inet X``: the first
line makes the delete valid when the table does not exist yet, and because
``nft -f`` commits the whole file as one transaction, the kernel switches from
the old table to the new one in a single step (no window without rules, and a
killed ``nft`` leaves the old table untouched).

A rate-limited accept is two rules: ``<match> limit rate ... accept`` and
``<match> [log] drop`` for the overflow; the parser folds the pair back.

Every rule carries an anonymous ``counter`` (its hit count). Counter values are
read into ``OwnTable.hits`` and never into the model, so they are never drift; a
rule of ours without a counter (written before counters existed) is drift, and the
next apply rewrites it with one. Logged drops go to an nflog group (``log prefix "P"
group N``); one that logs to the kernel log or another group (an older version, another
``log_group``) is drift as well, rewritten once by the next apply.
"""
from __future__ import annotations

import ipaddress
import json
import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import hits as rule_hits
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, names, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.coexist import (
    ForeignChain,
    ForeignRule,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    DEFAULT_BURST,
    DIRECTIONS,
    Policy,
    PolicyError,
    RateLimit,
    Rule,
)

DEFAULT_TABLE = "netdevops_icmp"
_PROTO = {IPV4: "icmp", IPV6: "icmpv6"}
_L4PROTO = {IPV4: "icmp", IPV6: "ipv6-icmp"}
_FAMILY_OF_PROTO = {"icmp": IPV4, "icmpv6": IPV6}
_FAMILY_OF_L4 = {"icmp": IPV4, 1: IPV4, "ipv6-icmp": IPV6, "icmpv6": IPV6, 58: IPV6}
_IP = {IPV4: "ip", IPV6: "ip6"}
_FAMILY_OF_IP = {"ip": IPV4, "ip6": IPV6}
_ADDRESS_FIELD = {"saddr": "source", "daddr": "destination"}


class NftParseError(PolicyError):
    """``nft -j`` output we cannot read."""


# --- render -------------------------------------------------------------------------------

def _address_match(rule: Rule) -> str:
    """``ip saddr X ip daddr { Y, Z } `` (with the trailing space) for a rule with addresses."""
    text = ""
    for field, networks in (("saddr", rule.source), ("daddr", rule.destination)):
        if networks:
            value = networks[0] if len(networks) == 1 else "{ %s }" % ", ".join(networks)
            text += "%s %s %s " % (_IP[rule.family], field, value)
    return text


def _match(rule: Rule) -> str:
    return _address_match(rule) + _icmp_match(rule)


def _icmp_match(rule: Rule) -> str:
    if rule.icmp_type is None:
        return "meta l4proto %s" % _L4PROTO[rule.family]
    text = "%s type %s" % (_PROTO[rule.family], icmp_types.type_label(rule.family, rule.icmp_type))
    if rule.code is not None:
        text += " %s code %d" % (_PROTO[rule.family], rule.code)
    return text


COUNTER = "counter"  # the clause every rule we write carries, before its log and verdict
UNCOUNTED = "rules without a hit counter (written by an older version)"  # drift: rewritten with counters


def _drop(match: str, log_prefix: t.Optional[str], log_group: int) -> str:
    if log_prefix:
        prefix, group = names.check_log_prefix(log_prefix), names.check_log_group(log_group)
        return '%s %s log prefix "%s" group %d drop' % (match, COUNTER, prefix, group)
    return "%s %s drop" % (match, COUNTER)


def render_rule(rule: Rule, log_group: int = names.DEFAULT_LOG_GROUP) -> t.List[str]:
    match = _match(rule)
    if rule.rate is not None:
        limit = "limit rate %d/%s burst %d packets" % (rule.rate.rate, rule.rate.per, rule.rate.burst)
        limited = "%s %s %s accept" % (match, limit, COUNTER)
        return [limited, _drop(match, rule.log_prefix, log_group)]
    if rule.action == "drop":
        return [_drop(match, rule.log_prefix, log_group)]
    return ["%s %s accept" % (match, COUNTER)]


_COUNTER_VALUES = re.compile(r"\bcounter packets [0-9]+ bytes [0-9]+")


def without_counts(text: str) -> str:
    """``nft list`` text with every anonymous counter's values left out (``counter``), so two
    listings of the same rules compare equal however busy they were, and a restore starts at 0."""
    return _COUNTER_VALUES.sub(COUNTER, text)


def render_table(policy: Policy, table: str = DEFAULT_TABLE, log_group: int = names.DEFAULT_LOG_GROUP) -> str:
    """The table body (``table inet X { ... }``); empty string for a policy without rules."""
    names.check_table(table)
    if not policy.rules:
        return ""
    lines = ["table inet %s {" % table]
    for direction in DIRECTIONS:
        rules = [r for r in policy.rules if r.direction == direction]
        if not rules:
            continue
        lines.append("\tchain %s {" % direction)
        lines.append("\t\ttype filter hook %s priority filter; policy accept;" % direction)
        for rule in rules:
            lines.extend("\t\t" + line for line in render_rule(rule, log_group))
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_script(policy: Policy, table: str = DEFAULT_TABLE, log_group: int = names.DEFAULT_LOG_GROUP) -> str:
    """One atomic transaction that replaces (or, for an empty policy, removes) our table."""
    names.check_table(table)
    return "table inet %s\ndelete table inet %s\n%s" % (table, table, render_table(policy, table, log_group))


# --- parse --------------------------------------------------------------------------------
#
# ``nft -j`` is parsed defensively: every value is type-checked before use, so any input
# raises ``NftParseError`` at worst. A rule of our table that cannot be read is an error
# naming it; a readable rule or object we did not write is reported in ``foreign``.

_Object = t.Tuple[str, t.Dict[str, t.Any]]
_LIMIT_KEYS = {"rate", "burst", "per", "rate_unit"}
_PER = ("second", "minute", "hour")


def _short(value: t.Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= 200 else text[:197] + "..."


def _objects(text: str) -> t.List[_Object]:
    """``(kind, body)`` of every object but metainfo; wrong shapes raise ``NftParseError``."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError) as err:
        raise NftParseError("cannot read 'nft -j' output (%s): %r" % (err, str(text)[:200])) from err
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise NftParseError("cannot read 'nft -j' output: expected {\"nftables\": [...]}, got %s" % _short(data))
    objects: t.List[_Object] = []
    for index, obj in enumerate(items):
        if not isinstance(obj, dict) or len(obj) != 1:
            raise NftParseError("cannot read 'nft -j' output: item %d is not a one-key object: %s" % (index, _short(obj)))
        kind, body = next(iter(obj.items()))
        if kind == "metainfo":
            continue
        if not isinstance(body, dict):
            raise NftParseError("cannot read 'nft -j' output: item %d (%s) is not an object: %s"
                                % (index, kind, _short(body)))
        objects.append((kind, body))
    return objects


def _get(value: t.Any, key: str) -> t.Any:
    return value.get(key) if isinstance(value, dict) else None


def _scalar(value: t.Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


class _Parsed(t.NamedTuple):
    family: t.Optional[str]
    icmp_type: t.Optional[int]
    code: t.Optional[int]
    verdict: t.Optional[str]  # accept | drop | reject
    rate: t.Optional[RateLimit]
    log_prefix: t.Optional[str]
    other: bool  # an expression we do not write ourselves
    problem: t.Optional[str]  # why the rule cannot be read at all
    source: prefixes.Prefixes = ()
    destination: prefixes.Prefixes = ()
    counter: t.Optional[t.Tuple[int, int]] = None  # (packets, bytes) of an anonymous counter
    log_group: t.Optional[int] = None  # the nflog group of a log statement (None: the kernel log)


def _parse_match(match: t.Any, state: t.Dict[str, t.Any]) -> bool:
    """Record an ICMP type/code or l4proto match; False for any other match."""
    left, right = _get(match, "left"), _get(match, "right")
    if _get(match, "op") not in ("==", "in", None):
        return False
    if _get(_get(left, "payload"), "field") in ("saddr", "daddr"):  # a tuple: any JSON value can be looked up
        return _parse_address(_get(left, "payload"), right, state)
    if not _scalar(right):
        return False
    if _get(_get(left, "meta"), "key") == "l4proto" and right in _FAMILY_OF_L4:
        state["family"] = _FAMILY_OF_L4[right]
        return True
    payload = _get(left, "payload")
    family = _FAMILY_OF_PROTO.get(t.cast(str, _get(payload, "protocol"))) if _scalar(_get(payload, "protocol")) else None
    field = _get(payload, "field")
    if family is None or field not in ("type", "code"):
        return False
    state["family"] = family
    try:
        if field == "type":
            state["icmp_type"] = icmp_types.type_number(family, right)
        else:
            state["code"] = icmp_types.output_code_number(family, state.get("icmp_type", -1), right)
    except icmp_types.IcmpValueError:
        return False
    return True


def _parse_address(payload: t.Any, right: t.Any, state: t.Dict[str, t.Any]) -> bool:
    """``ip saddr`` / ``ip6 daddr`` with a prefix, an address, a range or an anonymous set of them."""
    family = _FAMILY_OF_IP.get(payload.get("protocol")) if _scalar(payload.get("protocol")) else None
    field = _ADDRESS_FIELD[payload["field"]]
    elements = _get(right, "set") if isinstance(_get(right, "set"), list) else [right]
    networks: t.List[prefixes.Network] = []
    for element in elements:
        found = _networks(family, element) if family is not None else None
        if found is None:
            return False
        networks.extend(found)
    if field in state or state.get("address_family", family) != family:
        return False
    state["address_family"], state[field] = family, prefixes.canonical(networks)
    return True


def _networks(family: str, element: t.Any) -> t.Optional[t.List[prefixes.Network]]:
    """One set element as networks (nft merges adjacent prefixes into ranges); None: not an address."""
    try:
        if isinstance(element, str):
            return [prefixes.network(family, element)]
        prefix, bounds = _get(element, "prefix"), _get(element, "range")
        if isinstance(prefix, dict) and isinstance(prefix.get("len"), int) and not isinstance(prefix["len"], bool):
            return [prefixes.network(family, "%s/%d" % (prefix.get("addr"), prefix["len"]))]
        if isinstance(bounds, list) and len(bounds) == 2:
            low, high = (prefixes.network(family, bound).network_address for bound in bounds)
            return list(ipaddress.summarize_address_range(low, high))  # type: ignore[type-var]
    except (PolicyError, ValueError, TypeError):
        return None
    return None


def _parse_limit(body: t.Any) -> t.Optional[RateLimit]:
    """A packet rate limit as we write it; None for anything else (bytes, ``over``, odd values)."""
    if not isinstance(body, dict) or not set(body) <= _LIMIT_KEYS or body.get("rate_unit", "packets") != "packets":
        return None
    rate, burst, per = body.get("rate"), body.get("burst", DEFAULT_BURST), body.get("per")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (rate, burst)) or per not in _PER:
        return None
    return RateLimit(t.cast(int, rate), t.cast(str, per), t.cast(int, burst))


def _parse_log(body: t.Any) -> t.Optional[str]:
    """The prefix of ``log prefix "P"`` or ``log prefix "P" group N`` (the group: ``_parse_group``)."""
    prefix = _get(body, "prefix")
    if not isinstance(body, dict) or set(body) - {"group"} != {"prefix"} or not isinstance(prefix, str):
        return None
    if "group" in body and _parse_group(body) is None:
        return None
    try:
        return names.check_log_prefix(prefix)
    except PolicyError:
        return None


def _parse_expr(kind: str, body: t.Any, state: t.Dict[str, t.Any]) -> None:
    if kind == "match":
        if not isinstance(body, dict) or "left" not in body or "right" not in body:
            state["problem"] = "a match without left and right: %s" % _short(body)
        elif not _parse_match(body, state):
            state["other"] = True
    elif kind == "limit" and _parse_limit(body) is not None:
        state["rate"] = _parse_limit(body)
    elif kind == "log" and _parse_log(body) is not None:
        state["log_prefix"], state["log_group"] = _parse_log(body), _parse_group(body)
    elif kind in ("accept", "drop", "reject"):
        state["verdict"] = kind
    elif kind == "counter" and _parse_counter(body) is not None and "counter" not in state:
        state["counter"] = _parse_counter(body)
    else:
        state["other"] = True


def _parse_group(body: t.Any) -> t.Optional[int]:
    group = _get(body, "group")
    return group if isinstance(group, int) and not isinstance(group, bool) and 0 <= group <= 65535 else None


def _parse_counter(body: t.Any) -> t.Optional[t.Tuple[int, int]]:
    """An anonymous counter's ``(packets, bytes)``; None for a named one (``counter name X``) or odd values."""
    if not isinstance(body, dict) or set(body) != {"packets", "bytes"}:
        return None
    values = (body["packets"], body["bytes"])
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in values):
        return None
    return t.cast(t.Tuple[int, int], values)


def _parse_exprs(exprs: t.Any) -> _Parsed:
    """One rule's expressions, in any order; what we do not write sets ``other``."""
    state: t.Dict[str, t.Any] = {"other": False}
    if not isinstance(exprs, list):
        state["problem"] = "expr is not a list: %s" % _short(exprs)
        exprs = []
    for expr in exprs:
        if not isinstance(expr, dict) or len(expr) != 1:
            state["problem"] = "an expression is not a one-key object: %s" % _short(expr)
            break
        kind, body = next(iter(expr.items()))
        _parse_expr(kind, body, state)
    if state.get("address_family") not in (None, state.get("family")):
        state["other"] = True  # an IPv4 address with an ICMPv6 match never matches: not a rule we write
    return _Parsed(state.get("family"), state.get("icmp_type"), state.get("code"), state.get("verdict"),
                   state.get("rate"), state.get("log_prefix"), state["other"], state.get("problem"),
                   state.get("source", ()), state.get("destination", ()), state.get("counter"), state.get("log_group"))


def _own_rule(parsed: _Parsed, direction: str) -> t.Optional[Rule]:
    if parsed.other or parsed.family is None or parsed.verdict not in ("accept", "drop"):
        return None
    if parsed.rate is not None and parsed.verdict != "accept":
        return None
    if parsed.code is not None and parsed.icmp_type is None:
        return None
    if parsed.log_prefix is not None and parsed.verdict != "drop":
        return None
    return Rule(parsed.family, direction, parsed.icmp_type, parsed.code, t.cast(str, parsed.verdict), parsed.rate,
                parsed.log_prefix, parsed.source, parsed.destination)


def _fold(rules: t.List[t.Tuple[t.Optional[Rule], str]]) -> t.Tuple[t.List[Rule], t.List[str]]:
    """Turn our rule list back into model rules; fold rate-limit overflow drops."""
    result: t.List[Rule] = []
    foreign: t.List[str] = []
    for rule, label in rules:
        if rule is None:
            foreign.append(label)
            continue
        last = result[-1] if result else None
        if (last is not None and last.rate is not None and rule.action == "drop" and rule.rate is None
                and last.key == rule.key and last.log_prefix is None):
            result[-1] = Rule(last.family, last.direction, last.icmp_type, last.code, "accept", last.rate,
                              rule.log_prefix, last.source, last.destination)
            continue
        result.append(rule)
    return result, foreign


class OwnTable(t.NamedTuple):
    """What ``nft -j`` shows of our table."""

    policy: t.Optional[Policy]  # None: the table does not exist
    foreign: t.List[str]  # what we did not write (sets, maps, chains, rules...): never replace it silently
    drift: t.List[str]  # our own rules reordered or duplicated: the next apply rewrites them
    hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits] = {}  # rule key -> counters (never compared)


def _ours(body: t.Dict[str, t.Any], table: str) -> bool:
    return body.get("family") == "inet" and body.get("table") == table


def _chain_difference(body: t.Dict[str, t.Any]) -> t.Optional[str]:
    """Why a chain of our table is not one we create (None: it is)."""
    name = body.get("name")
    want = {"type": "filter", "hook": name, "prio": 0, "policy": "accept"}
    if name not in DIRECTIONS:
        return "chain %s (we create only the base chains input, forward and output)" % _short(name)
    have = {key: body.get(key) for key in want}
    if have != want or not set(body) <= {"family", "table", "name", "handle"} | set(want):
        return ("chain %s is %s; ours is type filter hook %s priority 0 policy accept"
                % (name, _short({k: v for k, v in body.items() if k not in ("family", "table", "handle")}), name))
    return None


def read_table(text: str, table: str = DEFAULT_TABLE, log_group: int = names.DEFAULT_LOG_GROUP) -> OwnTable:
    """Our table from ``nft -j list table|ruleset`` output, with everything in it we did not write."""
    names.check_table(table)
    objects = _objects(text)
    tables = [body for kind, body in objects if kind == "table" and body.get("family") == "inet"
              and body.get("name") == table]
    if not tables:
        return OwnTable(None, [], [])
    # flags such as dormant or owner, a comment: we create none of them
    foreign = ["table attributes %s" % _short({k: v for k, v in body.items() if k not in ("family", "name", "handle")})
               for body in tables if not set(body) <= {"family", "name", "handle"}]
    chains: t.Set[str] = set()
    for kind, body in objects:
        if kind in ("table", "rule") or not _ours(body, table):
            continue
        difference = _chain_difference(body) if kind == "chain" else "%s %s" % (kind, _short(body.get("name")))
        if difference is None:
            chains.add(t.cast(str, body["name"]))
        else:
            foreign.append(difference)
    collected: t.List[t.Tuple[t.Optional[Rule], str]] = []
    hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits] = {}
    uncounted = ungrouped = False
    for kind, body in objects:
        if kind == "rule" and _ours(body, table):
            collected.append(_read_rule(body, chains, table))
            uncounted = _count_rule(collected[-1][0], body, hits) or uncounted
            ungrouped = ungrouped or (collected[-1][0] is not None and collected[-1][0].log_prefix is not None
                                      and _parse_exprs(body.get("expr")).log_group != log_group)
    rules, foreign_rules = _fold(collected)
    policy = Policy.build(rules)
    drift = [] if list(policy.rules) == rules else ["rules out of canonical order or duplicated"]
    if uncounted:
        drift.append(UNCOUNTED)
    if ungrouped:
        drift.append(names.LOG_GROUP_DRIFT % log_group)
    return OwnTable(policy, foreign + foreign_rules, drift, hits)


def _count_rule(rule: t.Optional[Rule], body: t.Dict[str, t.Any], hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits]) -> bool:
    """Add a rule's counter to ``hits``; True when it is ours but has no counter."""
    if rule is None:
        return False
    counter = _parse_exprs(body.get("expr")).counter
    rule_hits.count(hits, rule, counter, rule.action == "drop")
    return counter is None


def _read_rule(body: t.Dict[str, t.Any], chains: t.Set[str], table: str) -> t.Tuple[t.Optional[Rule], str]:
    chain = body.get("chain")
    label = "rule handle %s in chain %s: %s" % (_short(body.get("handle")), _short(chain), _short(body.get("expr")))
    parsed = _parse_exprs(body.get("expr"))
    if parsed.problem is not None:
        raise NftParseError("cannot read rule handle %s in chain %s of table inet %s (%s); fix or delete it"
                            % (_short(body.get("handle")), _short(chain), table, parsed.problem))
    if not isinstance(chain, str) or chain not in chains:
        return None, label
    return _own_rule(parsed, t.cast(str, chain)), label


def parse_table(text: str, table: str = DEFAULT_TABLE) -> t.Tuple[t.Optional[Policy], t.List[str]]:
    """Compatibility view of ``read_table``: ``(policy or None, foreign + drift)``."""
    own = read_table(text, table)
    return own.policy, own.foreign + own.drift


def foreign_chains(text: str, table: str = DEFAULT_TABLE) -> t.List[ForeignChain]:
    """Base chains of other tables at the input/forward/output hooks, reduced for analysis."""
    names.check_table(table)
    objects = _objects(text)
    chains: t.Dict[t.Tuple[str, str, str], t.Tuple[str, str, t.List[ForeignRule]]] = {}
    for kind, body in objects:
        key = (body.get("family"), body.get("table"), body.get("name"))
        if kind != "chain" or _ours(body, table) or not all(isinstance(k, str) for k in key):
            continue
        if body.get("hook") in DIRECTIONS and key[0] in ("ip", "ip6", "inet"):
            policy = "drop" if body.get("policy") == "drop" else "accept"
            chains[t.cast(t.Tuple[str, str, str], key)] = (t.cast(str, body["hook"]), policy, [])
    for kind, body in objects:
        key = (body.get("family"), body.get("table"), body.get("chain"))
        if kind == "rule" and all(isinstance(k, str) for k in key) and key in chains:
            parsed = _parse_exprs(body.get("expr"))
            verdict = {"reject": "drop", None: "other"}.get(parsed.verdict, parsed.verdict)
            conditional = parsed.other or parsed.problem is not None or bool(parsed.source or parsed.destination)
            chains[key][2].append(ForeignRule(parsed.family, parsed.icmp_type, parsed.code, t.cast(str, verdict),
                                              conditional))
    families = {"ip": (IPV4,), "ip6": (IPV6,), "inet": (IPV4, IPV6)}
    return [ForeignChain("nftables table %s %s chain %s" % key, hook, families[key[0]], policy, tuple(rules))
            for key, (hook, policy, rules) in sorted(chains.items())]


def strip_table(text: str, table: str = DEFAULT_TABLE) -> str:
    """The ruleset without our table and without handles/metainfo: what we must never change."""
    names.check_table(table)
    kept = []
    for kind, body in _objects(text):
        if body.get("family") == "inet" and (body.get("table") == table or (kind == "table" and body.get("name") == table)):
            continue
        kept.append({kind: body})
    return json.dumps(kept, sort_keys=True, indent=1)
