# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""First-match lists (IOS access lists, AWS network ACLs) to and from the policy model.

Devices evaluate their entries top down and stop at the first match; the model
keeps one rule per ``(family, direction, type, code)`` in canonical order, most
specific first. Both say the same thing once every entry that an earlier entry
already covers is removed: what remains is ordered specific-before-broad, which
is the canonical order. ``to_rules`` does that removal and says which entries it
dropped; ``ordered`` gives the entries to render for one chain, ending with an
explicit verdict for every other ICMP packet, because these devices deny what no
entry matches while the model accepts it.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, Rule


@dataclass(frozen=True)
class Entry:
    """One entry of a device list, reduced to what the ICMP model can say."""

    family: str
    direction: str
    icmp_type: t.Optional[int]  # None: every ICMP type
    code: t.Optional[int]
    action: str  # accept | drop
    label: str  # how the device names it, for messages ("sequence 30", "rule 110")
    implicit: bool = False  # the device's own end of list: shadowing it is normal, not worth a note
    source: prefixes.Prefixes = ()  # (): every address
    destination: prefixes.Prefixes = ()


def covers(first: Entry, later: Entry) -> bool:
    """True when every packet ``later`` matches is matched by ``first`` already."""
    if (first.family, first.direction) != (later.family, later.direction):
        return False
    if not (prefixes.covers(first.source, later.source) and prefixes.covers(first.destination, later.destination)):
        return False
    if first.icmp_type is None:
        return True
    if first.icmp_type != later.icmp_type:
        return False
    return first.code is None or first.code == later.code


def to_rules(entries: t.Sequence[Entry]) -> t.Tuple[t.List[Rule], t.List[str]]:
    """Model rules with the same decisions as ``entries`` evaluated first-match; notes for dropped ones."""
    kept: t.List[Entry] = []
    notes: t.List[str] = []
    for entry in entries:
        shadow = next((earlier for earlier in kept if covers(earlier, entry)), None)
        if shadow is not None and not entry.implicit:
            notes.append("%s never matches: %s matches every packet it would" % (entry.label, shadow.label))
        if shadow is None:
            kept.append(entry)
    rules = [Rule(e.family, e.direction, e.icmp_type, e.code, e.action, None, None, e.source, e.destination)
             for e in kept]
    return rules, notes


def ordered(policy: Policy, family: str, direction: str, what: str,
            fields: t.Sequence[str] = ("source", "destination"), reason: str = "") -> t.List[Rule]:
    """The chain's rules in evaluation order plus a final rule for every other packet.

    The model accepts what no rule matches; a device list denies it, so a chain
    without an ``any`` rule ends with an explicit ``any`` accept. ``what`` names the
    target in messages about what it cannot express (rates, log prefixes, prefix lists, and prefixes
    outside ``fields``, explained by ``reason``).
    """
    rules = list(policy.chain(family, direction))
    for rule in rules:
        refuse_extras(rule, what)
        refuse_prefixes(rule, what, fields, reason)
    if not any(rule.icmp_type is None and not rule.addressed for rule in rules):
        rules.append(Rule(family, direction, None, None, "accept"))
    return rules


def refuse_extras(rule: Rule, what: str) -> None:
    """Rate limits and log prefixes exist only on Linux; say so instead of dropping them."""
    if rule.rate is not None:
        raise PolicyError(
            "%s cannot express rule '%s': it has no rate limit for a single entry. Remove rate/burst from this "
            "rule for this target (or keep the rate on Linux hosts and police ICMP on the device with its own "
            "tools, such as CoPP on IOS)" % (what, rule.text()))
    if rule.log_prefix is not None:
        raise PolicyError(
            "%s cannot express rule '%s': it has no log prefix. Remove log_prefix from this rule for this target"
            % (what, rule.text()))


def refuse_prefixes(rule: Rule, what: str, fields: t.Sequence[str], reason: str, lists: bool = False) -> None:
    """A target whose entries take one prefix per field (unless ``lists``), and maybe not every field."""
    for field in ("source", "destination"):
        networks = getattr(rule, field)
        if networks and field not in fields:
            raise PolicyError("%s cannot express rule '%s': %s. Remove %s from this rule for this target"
                              % (what, rule.text(), reason, field))
        if len(networks) > 1 and not lists:
            raise PolicyError("%s cannot express rule '%s': an entry takes one %s prefix. Write one rule per "
                              "prefix for this target" % (what, rule.text(), field))


def as_policy(rules: t.Iterable[Rule]) -> Policy:
    return Policy.build(rules)
