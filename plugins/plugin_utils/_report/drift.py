# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Policy drift: the desired ICMP policy against what a host really has.

Inputs are in the ``netdevops.icmp.policy`` module's shapes (rules with
``family, direction, type, code, action, rate, burst, log_prefix, source, destination`` and a
``sysctls`` mapping):

- ``desired``: the expanded desired policy (profile + rules + sysctls), which is
  the ``after`` of a check-mode ``state: overridden`` run;
- ``live``: ``gathered`` from the desired backend;
- ``other``: ``gathered`` from the other backend, or None;
- ``plan``: the check-mode ``overridden`` result itself. Its ``commands`` catch
  what the canonical ``gathered`` shape cannot show: rules reordered or edited in
  place in our table, a missing jump from a built-in chain.

Rules are compared by key ``(family, direction, type, code, source, destination)``, so every
finding names one rule and says what differs (a rule whose prefixes changed shows as one
rule missing and one added).
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import sysctl

KINDS = ("table_missing", "other_backend", "rule_missing", "rule_added", "action_changed", "rate_changed",
         "rule_changed", "rules_reordered", "table_modified", "sysctl_changed")
_RuleKey = t.Tuple[str, str, str, str, str, str]


def _key(rule: t.Mapping[str, t.Any]) -> _RuleKey:
    code = rule.get("code")
    return (str(rule.get("family")), str(rule.get("direction") or "input"), str(rule.get("type")),
            "" if code is None else str(code), _prefixes(rule.get("source")), _prefixes(rule.get("destination")))


def _prefixes(value: t.Any) -> str:
    """The module's canonical prefix list (None: every address) as one comparable word."""
    if not value:
        return ""
    return ",".join(str(item) for item in (value if isinstance(value, (list, tuple)) else [value]))


def rule_text(rule: t.Mapping[str, t.Any]) -> str:
    words = [str(rule.get("family")), str(rule.get("direction") or "input"), "type", str(rule.get("type"))]
    if rule.get("code") is not None:
        words += ["code", str(rule["code"])]
    for field, word in (("source", "from"), ("destination", "to")):
        if rule.get(field):
            words += [word, _prefixes(rule[field])]
    if rule.get("rate"):
        words += ["limit", "%s burst %s" % (rule["rate"], rule.get("burst"))]
    if rule.get("log_prefix"):
        words += ["log", repr(rule["log_prefix"])]
    words.append(str(rule.get("action")))
    return " ".join(words)


def _finding(kind: str, message: str, rule: t.Optional[t.Mapping[str, t.Any]] = None,
             before: t.Any = None, after: t.Any = None) -> t.Dict[str, t.Any]:
    return {"kind": kind, "message": message, "rule": dict(rule) if rule is not None else None,
            "desired": before, "live": after}


def _rules(policy: t.Optional[t.Mapping[str, t.Any]]) -> t.List[t.Mapping[str, t.Any]]:
    return list((policy or {}).get("rules") or [])


def compare_rules(desired: t.Sequence[t.Mapping[str, t.Any]], live: t.Sequence[t.Mapping[str, t.Any]]
                  ) -> t.List[t.Dict[str, t.Any]]:
    want = {_key(rule): rule for rule in desired}
    have = {_key(rule): rule for rule in live}
    findings = []
    for key, rule in want.items():
        got = have.get(key)
        if got is None:
            findings.append(_finding("rule_missing", "rule deleted: %s" % rule_text(rule), rule, rule_text(rule), None))
        elif got.get("action") != rule.get("action"):
            findings.append(_finding("action_changed", "action flipped on %s: %s -> %s"
                                     % (_match(key), rule.get("action"), got.get("action")),
                                     rule, rule.get("action"), got.get("action")))
        elif (got.get("rate"), got.get("burst")) != (rule.get("rate"), rule.get("burst")):
            findings.append(_finding("rate_changed", "rate limit changed on %s: %s -> %s"
                                     % (_match(key), _rate(rule), _rate(got)), rule, _rate(rule), _rate(got)))
        elif got.get("log_prefix") != rule.get("log_prefix"):
            findings.append(_finding("rule_changed", "rule changed: %s -> %s" % (rule_text(rule), rule_text(got)),
                                     rule, rule_text(rule), rule_text(got)))
    for key, rule in have.items():
        if key not in want:
            findings.append(_finding("rule_added", "rule added by hand: %s" % rule_text(rule), rule, None, rule_text(rule)))
    return findings


def _match(key: _RuleKey) -> str:
    words = ["%s %s type %s" % key[:3]]
    words += ["from %s" % key[4]] if key[4] else []
    return " ".join(words + (["to %s" % key[5]] if key[5] else []))


def _rate(rule: t.Mapping[str, t.Any]) -> str:
    return "%s burst %s" % (rule["rate"], rule.get("burst")) if rule.get("rate") else "no limit"


def _sysctl_holds(key: str, want: t.Any, have: t.Any) -> bool:
    """Equal, or what the kernel reads back for ``want`` (ratelimits are kept in ticks)."""
    if isinstance(want, int) and isinstance(have, int) and not isinstance(want, bool):
        return sysctl.holds(key, want, have)
    return bool(have == want)


def compare_sysctls(desired: t.Mapping[str, t.Any], live: t.Mapping[str, t.Any]) -> t.List[t.Dict[str, t.Any]]:
    findings = []
    for key in sorted(desired):
        if not _sysctl_holds(key, desired[key], live.get(key)):
            findings.append(_finding("sysctl_changed", "sysctl %s is %s, desired %s" % (key, live.get(key), desired[key]),
                                     None, desired[key], live.get(key)))
    return findings


def compare_policy(desired: t.Mapping[str, t.Any], live: t.Optional[t.Mapping[str, t.Any]], *,
                   backend: str = "nftables", other: t.Optional[t.Mapping[str, t.Any]] = None,
                   plan: t.Optional[t.Mapping[str, t.Any]] = None,
                   sysctl_keys: t.Optional[t.Iterable[str]] = None) -> t.Dict[str, t.Any]:
    """Drift findings for one host: ``{drifted, backend, findings, summary}``.

    ``sysctl_keys`` limits the sysctl comparison to the keys the user manages
    (default: every key in ``desired['sysctls']``).
    """
    want_rules, have_rules = _rules(desired), _rules(live)
    other_rules = _rules(other)
    other_name = "iptables" if backend == "nftables" else "nftables"
    findings: t.List[t.Dict[str, t.Any]] = []
    if want_rules and not have_rules:
        if other_rules:
            findings.append(_finding("other_backend", "the policy is applied with %s, not %s (%d rules there, none in %s)"
                                     % (other_name, backend, len(other_rules), backend), None, backend, other_name))
        else:
            findings.append(_finding("table_missing", "our %s is gone: none of the %d desired rules is in place"
                                     % ("table" if backend == "nftables" else "chains", len(want_rules)),
                                     None, len(want_rules), 0))
    else:
        findings.extend(compare_rules(want_rules, have_rules))
        if other_rules:
            findings.append(_finding("other_backend", "%d rules of ours are also in %s (left from a run with the "
                                     "other backend)" % (len(other_rules), other_name), None, 0, len(other_rules)))
    want_sysctls = dict((desired or {}).get("sysctls") or {})
    if sysctl_keys is not None:
        keys = set(sysctl_keys)
        want_sysctls = {k: v for k, v in want_sysctls.items() if k in keys}
    findings.extend(compare_sysctls(want_sysctls, dict((live or {}).get("sysctls") or {})))
    # ``commands``, not ``changed``: a task's changed_when may have rewritten ``changed``
    if plan and (plan.get("commands") or plan.get("changed")) and not findings:
        findings.append(_in_place_finding(plan))
    return {"drifted": bool(findings), "backend": backend, "findings": findings,
            "summary": [f["message"] for f in findings]}


def _in_place_finding(plan: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    warnings = " ".join(str(w) for w in plan.get("warnings") or [])
    if "canonical order" in warnings:
        return _finding("rules_reordered", "rules in our table/chains were reordered by hand (the rule set is the "
                        "same, the evaluation order is not)", None, "canonical order", "reordered")
    return _finding("table_modified", "our table/chains differ from what the policy module writes (rules edited in "
                    "place or a jump from a built-in chain missing): %s" % (warnings or "the module would rewrite them"),
                    None, None, None)
