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
"""
from __future__ import annotations

import json
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, names
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.coexist import (
    ForeignChain,
    ForeignRule,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
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


class NftParseError(PolicyError):
    """``nft -j`` output we cannot read."""


# --- render -------------------------------------------------------------------------------

def _match(rule: Rule) -> str:
    if rule.icmp_type is None:
        return "meta l4proto %s" % _L4PROTO[rule.family]
    text = "%s type %s" % (_PROTO[rule.family], icmp_types.type_label(rule.family, rule.icmp_type))
    if rule.code is not None:
        text += " %s code %d" % (_PROTO[rule.family], rule.code)
    return text


def _drop(match: str, log_prefix: t.Optional[str]) -> str:
    if log_prefix:
        return '%s log prefix "%s" drop' % (match, names.check_log_prefix(log_prefix))
    return "%s drop" % match


def render_rule(rule: Rule) -> t.List[str]:
    match = _match(rule)
    if rule.rate is not None:
        limited = "%s limit rate %d/%s burst %d packets accept" % (match, rule.rate.rate, rule.rate.per, rule.rate.burst)
        return [limited, _drop(match, rule.log_prefix)]
    if rule.action == "drop":
        return [_drop(match, rule.log_prefix)]
    return ["%s accept" % match]


def render_table(policy: Policy, table: str = DEFAULT_TABLE) -> str:
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
            lines.extend("\t\t" + line for line in render_rule(rule))
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_script(policy: Policy, table: str = DEFAULT_TABLE) -> str:
    """One atomic transaction that replaces (or, for an empty policy, removes) our table."""
    names.check_table(table)
    return "table inet %s\ndelete table inet %s\n%s" % (table, table, render_table(policy, table))


# --- parse --------------------------------------------------------------------------------

def _objects(text: str) -> t.List[t.Dict[str, t.Any]]:
    try:
        data = json.loads(text)
        return [obj for obj in data["nftables"] if isinstance(obj, dict)]
    except (ValueError, KeyError, TypeError) as err:
        raise NftParseError("cannot read 'nft -j' output (%s): %r" % (err, text[:200])) from err


class _Parsed(t.NamedTuple):
    family: t.Optional[str]
    icmp_type: t.Optional[int]
    code: t.Optional[int]
    verdict: t.Optional[str]
    rate: t.Optional[RateLimit]
    log_prefix: t.Optional[str]
    other: bool  # an expression we do not write ourselves
    l4: bool  # the rule matched a protocol


def _parse_match(expr: t.Dict[str, t.Any], state: t.Dict[str, t.Any]) -> bool:
    left, right = expr.get("left", {}), expr.get("right")
    if expr.get("op", "==") not in ("==", "in") or not isinstance(left, dict):
        return False
    if "meta" in left and left["meta"].get("key") == "l4proto" and right in _FAMILY_OF_L4:
        state["family"], state["l4"] = _FAMILY_OF_L4[right], True
        return True
    payload = left.get("payload", {})
    family = _FAMILY_OF_PROTO.get(payload.get("protocol"))
    if family is None or payload.get("field") not in ("type", "code") or isinstance(right, (dict, list)):
        return False
    state["family"], state["l4"] = family, True
    try:
        if payload["field"] == "type":
            state["icmp_type"] = icmp_types.type_number(family, right)
        else:
            state["code"] = icmp_types.code_number(family, state.get("icmp_type", -1), right)
    except icmp_types.IcmpValueError:
        return False
    return True


def _parse_exprs(exprs: t.Sequence[t.Dict[str, t.Any]]) -> _Parsed:
    state: t.Dict[str, t.Any] = {"other": False, "l4": False}
    for expr in exprs:
        kind = next(iter(expr), None) if isinstance(expr, dict) else None
        if kind == "match":
            if not _parse_match(expr["match"], state):
                state["other"] = True
        elif kind == "limit" and expr["limit"].get("per") in ("second", "minute", "hour") and not expr["limit"].get("inv"):
            lim = expr["limit"]
            state["rate"] = RateLimit(int(lim["rate"]), lim["per"], int(lim.get("burst", 5)))
        elif kind == "log" and set(expr["log"] or {}) <= {"prefix"}:
            state["log_prefix"] = (expr["log"] or {}).get("prefix")
        elif kind in ("accept", "drop"):
            state["verdict"] = kind
        elif kind == "reject":
            state["verdict"] = "drop"
        elif kind == "counter":
            continue
        else:
            state["other"] = True
    return _Parsed(state.get("family"), state.get("icmp_type"), state.get("code"), state.get("verdict"),
                   state.get("rate"), state.get("log_prefix"), state["other"], state["l4"])


def _own_rule(parsed: _Parsed, direction: str) -> t.Optional[Rule]:
    if parsed.other or parsed.family is None or parsed.verdict is None:
        return None
    if parsed.rate is not None and parsed.verdict != "accept":
        return None
    if parsed.code is not None and parsed.icmp_type is None:
        return None
    return Rule(parsed.family, direction, parsed.icmp_type, parsed.code, parsed.verdict, parsed.rate,
                parsed.log_prefix if parsed.verdict == "drop" else None)


def _fold(rules: t.List[t.Tuple[t.Optional[Rule], t.Dict[str, t.Any]]]) -> t.Tuple[t.List[Rule], t.List[str]]:
    """Turn our rule list back into model rules; fold rate-limit overflow drops."""
    result: t.List[Rule] = []
    unknown: t.List[str] = []
    for rule, raw in rules:
        if rule is None:
            unknown.append(json.dumps(raw.get("expr"), sort_keys=True))
            continue
        last = result[-1] if result else None
        if (last is not None and last.rate is not None and rule.action == "drop" and rule.rate is None
                and last.key == rule.key and last.log_prefix is None):
            result[-1] = Rule(last.family, last.direction, last.icmp_type, last.code, "accept", last.rate,
                              rule.log_prefix)
            continue
        result.append(rule)
    return result, unknown


def parse_table(text: str, table: str = DEFAULT_TABLE) -> t.Tuple[t.Optional[Policy], t.List[str]]:
    """Our table from ``nft -j list table|ruleset`` output.

    Returns ``(None, [])`` when the table does not exist, else the policy and the
    rules in our table we did not write (someone edited it; the next apply replaces them).
    """
    names.check_table(table)
    objects = _objects(text)
    hooks: t.Dict[str, str] = {}
    present = False
    for obj in objects:
        if "table" in obj and obj["table"].get("family") == "inet" and obj["table"].get("name") == table:
            present = True
        chain = obj.get("chain")
        if chain and chain.get("family") == "inet" and chain.get("table") == table:
            hooks[chain["name"]] = chain.get("hook", "")
    if not present:
        return None, []
    collected: t.List[t.Tuple[t.Optional[Rule], t.Dict[str, t.Any]]] = []
    for obj in objects:
        raw = obj.get("rule")
        if not raw or raw.get("family") != "inet" or raw.get("table") != table:
            continue
        direction = hooks.get(raw.get("chain", ""), "")
        parsed = _parse_exprs(raw.get("expr", []))
        rule = _own_rule(parsed, direction) if direction in DIRECTIONS else None
        collected.append((rule, raw))
    rules, unknown = _fold(collected)
    policy = Policy.build(rules)
    if list(policy.rules) != rules:  # duplicates or hand-reordered: the next apply rewrites them
        unknown.append("rules out of canonical order or duplicated")
    return policy, unknown


def foreign_chains(text: str, table: str = DEFAULT_TABLE) -> t.List[ForeignChain]:
    """Base chains of other tables at the input/forward/output hooks, reduced for analysis."""
    names.check_table(table)
    objects = _objects(text)
    chains: t.Dict[t.Tuple[str, str, str], t.Dict[str, t.Any]] = {}
    for obj in objects:
        chain = obj.get("chain")
        if not chain or (chain.get("family") == "inet" and chain.get("table") == table):
            continue
        if chain.get("hook") in DIRECTIONS and chain.get("family") in ("ip", "ip6", "inet"):
            chains[(chain["family"], chain["table"], chain["name"])] = dict(chain, rules=[])
    for obj in objects:
        raw = obj.get("rule")
        key = (raw.get("family"), raw.get("table"), raw.get("chain")) if raw else None
        if key in chains:
            parsed = _parse_exprs(raw.get("expr", []))
            chains[key]["rules"].append(ForeignRule(parsed.family, parsed.icmp_type, parsed.code,
                                                    parsed.verdict or "other", parsed.other))
    families = {"ip": (IPV4,), "ip6": (IPV6,), "inet": (IPV4, IPV6)}
    return [ForeignChain("nftables table %s %s chain %s" % key, chain["hook"], families[key[0]],
                         chain.get("policy", "accept"), tuple(chain["rules"]))
            for key, chain in sorted(chains.items())]


def strip_table(text: str, table: str = DEFAULT_TABLE) -> str:
    """The ruleset without our table and without handles/metainfo: what we must never change."""
    names.check_table(table)
    kept = []
    for obj in _objects(text):
        if "metainfo" in obj:
            continue
        kind, body = next(iter(obj.items()))
        if not isinstance(body, dict):
            continue
        if body.get("family") == "inet" and (body.get("table") == table or (kind == "table" and body.get("name") == table)):
            continue
        kept.append({kind: body})
    return json.dumps(kept, sort_keys=True, indent=1)
