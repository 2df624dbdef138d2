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


def covers(first: Entry, later: Entry) -> bool:
    """True when every packet ``later`` matches is matched by ``first`` already."""
    if (first.family, first.direction) != (later.family, later.direction):
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
    rules = [Rule(e.family, e.direction, e.icmp_type, e.code, e.action) for e in kept]
    return rules, notes


def ordered(policy: Policy, family: str, direction: str, what: str) -> t.List[Rule]:
    """The chain's rules in evaluation order plus a final rule for every other packet.

    The model accepts what no rule matches; a device list denies it, so a chain
    without an ``any`` rule ends with an explicit ``any`` accept. ``what`` names the
    target in messages about what it cannot express (rates, log prefixes).
    """
    rules = list(policy.chain(family, direction))
    for rule in rules:
        refuse_extras(rule, what)
    if not any(rule.icmp_type is None for rule in rules):
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
    if rule.addressed:
        raise PolicyError(
            "%s cannot express rule '%s' yet: source and destination prefixes are rendered for nftables and "
            "iptables only. Remove source/destination from this rule for this target" % (what, rule.text()))


def as_policy(rules: t.Iterable[Rule]) -> Policy:
    return Policy.build(rules)
