# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Warnings about foreign chains that drop ICMP our policy says must pass.

Both backends reduce the foreign rules they can read to ``ForeignRule`` (an ICMP
match and a verdict, or ``conditional`` when the rule also looks at addresses,
ports, conntrack... which we cannot judge statically, so it is skipped). The
analysis is deliberately conservative: it only warns about drops it can prove.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy


@dataclass(frozen=True)
class ForeignRule:
    family: t.Optional[str]  # None: any family (inet chains, rules without an l4 match)
    icmp_type: t.Optional[int]  # None: every type (or not an ICMP match at all)
    code: t.Optional[int]
    verdict: str  # accept | drop | other (jump, return, log, counter...)
    conditional: bool = False


@dataclass(frozen=True)
class ForeignChain:
    label: str  # "table inet filter chain input" / "iptables filter INPUT"
    direction: str
    families: t.Tuple[str, ...]
    policy: str  # accept | drop
    rules: t.Tuple[ForeignRule, ...]


def _fate(chain: ForeignChain, family: str, icmp_type: int, code: int) -> t.Optional[str]:
    for rule in chain.rules:
        if rule.conditional or rule.verdict not in ("accept", "drop"):
            continue
        if rule.family not in (None, family):
            continue
        if rule.icmp_type is not None and rule.icmp_type != icmp_type:
            continue
        if rule.code is not None and rule.code != code:
            continue
        return rule.verdict
    return chain.policy


def _codes(rule_code: t.Optional[int], icmp_type: int, chain: ForeignChain) -> t.List[int]:
    """Codes worth checking: ours, or (for a type-wide accept) 0 and every code the chain names."""
    if rule_code is not None:
        return [rule_code]
    named = {r.code for r in chain.rules if r.icmp_type == icmp_type and r.code is not None}
    return sorted(named | {0})


def warnings_for(policy: Policy, chains: t.Iterable[ForeignChain]) -> t.List[str]:
    """One warning per (foreign chain, accepted type and code) that the chain provably drops."""
    messages: t.List[str] = []
    for chain in chains:
        for family in chain.families:
            for rule in policy.chain(family, chain.direction):
                if rule.action != "accept" or rule.icmp_type is None:
                    continue
                for code in _codes(rule.code, rule.icmp_type, chain):
                    if _fate(chain, family, rule.icmp_type, code) != "drop":
                        continue
                    messages.append(
                        "%s (not managed by this module) drops %s ICMP type %s%s that the policy accepts "
                        "(%s); fix that chain or the policy"
                        % (chain.label, family, icmp_types.type_label(family, rule.icmp_type),
                           "" if rule.code is None and code == 0 else " code %d" % code, rule.text()))
    return messages
