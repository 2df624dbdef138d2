# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Per-rule hit counters: what the kernel counted for each rule the policy wrote.

One model rule can be several kernel rules (a rate-limited accept and its overflow
drop; an iptables LOG + DROP pair). ``packets``/``bytes`` count every packet the
model rule matched (the accepted and the dropped ones, each once: a LOG rule's count
is not added, it is the same packets as its DROP); ``dropped_packets`` /
``dropped_bytes`` count those it dropped (all of them for a drop rule, the overflow
for a rate-limited accept, none for a plain accept).

Counter values never enter the model (``Rule``/``Policy``), so they never count as
drift and never make an identical apply report a change. The kernel resets them
whenever the policy changes (the table or chains are rewritten).
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, Rule

RuleKey = t.Tuple[t.Any, ...]
FIELDS = ("packets", "bytes", "dropped_packets", "dropped_bytes")


@dataclass(frozen=True)
class Hits:
    packets: int = 0
    bytes: int = 0
    dropped_packets: int = 0
    dropped_bytes: int = 0

    def plus(self, packets: int, octets: int, dropped: bool) -> "Hits":
        """These hits and one more kernel counter; ``dropped``: that kernel rule drops."""
        return Hits(self.packets + packets, self.bytes + octets,
                    self.dropped_packets + (packets if dropped else 0), self.dropped_bytes + (octets if dropped else 0))

    def to_dict(self) -> t.Dict[str, int]:
        return {name: getattr(self, name) for name in FIELDS}


def count(hits: t.Dict[RuleKey, Hits], rule: Rule, counter: t.Optional[t.Tuple[int, int]], dropped: bool) -> None:
    """Add one kernel rule's ``(packets, bytes)`` (None: it has no counter) to its model rule."""
    if counter is None:
        return
    hits[rule.key] = hits.get(rule.key, Hits()).plus(counter[0], counter[1], dropped)


def rows(policy: t.Optional[Policy], hits: t.Mapping[RuleKey, Hits]) -> t.List[t.Dict[str, t.Any]]:
    """One row per rule of ``policy`` in canonical order: the rule's fields, its text, its hits.

    A rule without a counter (an nft rule written before counters existed) has null counts.
    """
    result = []
    for rule in (policy.rules if policy is not None else ()):
        row = rule.to_dict()
        row["rule"] = rule.text()
        found = hits.get(rule.key)
        row.update(found.to_dict() if found is not None else {name: None for name in FIELDS})
        result.append(row)
    return result


def deltas(first: t.Sequence[t.Mapping[str, t.Any]], second: t.Sequence[t.Mapping[str, t.Any]],
           interval_s: float) -> t.List[t.Dict[str, t.Any]]:
    """Rows of ``second`` with the change since ``first`` and the rate per second.

    A rule that is new, or whose counters went down (the policy was rewritten between
    the readings, which resets them), has null deltas: the interval did not measure it.
    """
    before = {row["rule"]: row for row in first}
    result = []
    for row in second:
        out = {key: row[key] for key in row if key not in FIELDS}
        old = before.get(row["rule"])
        for name in FIELDS:
            change = None
            if old is not None and old[name] is not None and row[name] is not None and row[name] >= old[name]:
                change = row[name] - old[name]
            out[name] = change
            out[name + "_per_s"] = None if change is None or interval_s <= 0 else round(change / interval_s, 3)
        result.append(out)
    return result
