# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""A host's ``policy_hits`` section: the per-rule counters of ``netdevops.icmp.policy`` gathered.

The input is the module's ``hits`` list (or the ``policy_hits`` of ``netdevops.icmp.stats``, whose
rows carry the same keys). The section keeps, per rule in rule order, what a dashboard needs:
its position (``rule``, 1-based, which keeps two rules of the same type apart), family, direction,
type, code, action and the packets it matched and dropped. Rules without counters (an nftables
table written before counters existed) are left out.
"""
from __future__ import annotations

import typing as t

_TEXT_KEYS = ("family", "direction", "action")


class HitsInputError(ValueError):
    """A hits entry we cannot use; the message quotes it."""


def _count(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HitsInputError("%s must be a whole number >= 0, got %r" % (where, value))
    return value


def _row(position: int, raw: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
    if not isinstance(raw, t.Mapping):
        raise HitsInputError("policy_hits must be the hits list of netdevops.icmp.policy (state: gathered), "
                             "got the entry %r" % (raw,))
    if raw.get("packets") is None:
        return None
    for key in _TEXT_KEYS:
        if not isinstance(raw.get(key), str) or not raw.get(key):
            raise HitsInputError("policy_hits rule %d needs %s as a string, got %r" % (position, key, raw.get(key)))
    icmp_type = raw.get("type")  # a name, or the number of a type without one (ICMPv6 148)
    if not (isinstance(icmp_type, str) and icmp_type) and not isinstance(icmp_type, int) or isinstance(icmp_type, bool):
        raise HitsInputError("policy_hits rule %d needs type as a name or a number, got %r" % (position, icmp_type))
    code = raw.get("code")
    if code is not None:
        _count(code, "policy_hits rule %d code" % position)
    return {"rule": position, "family": raw["family"], "direction": raw["direction"], "type": str(icmp_type),
            "code": code, "action": raw["action"],
            "packets": _count(raw.get("packets"), "policy_hits rule %d packets" % position),
            "dropped_packets": _count(raw.get("dropped_packets", 0), "policy_hits rule %d dropped_packets" % position)}


def section(raw: t.Any) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
    """The report's ``policy_hits`` for one host, or None when the host brought none."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise HitsInputError("policy_hits must be a list (the hits of netdevops.icmp.policy state: gathered), "
                             "got %r" % (raw,))
    rows = [_row(position, entry) for position, entry in enumerate(raw, start=1)]
    return [row for row in rows if row is not None]


def samples(host: str, rows: t.Optional[t.Sequence[t.Mapping[str, t.Any]]]) -> t.Iterator[t.Tuple[str, t.Dict[str, t.Any], int]]:
    """``(metric suffix, labels, value)`` for the Prometheus writer: matched and dropped packets per rule."""
    for row in rows or []:
        labels = {"host": host, "rule": str(row["rule"]), "family": row["family"], "direction": row["direction"],
                  "type": row["type"], "code": "" if row["code"] is None else str(row["code"]), "action": row["action"]}
        yield "policy_rule_hits_total", labels, row["packets"]
        yield "policy_rule_dropped_total", labels, row["dropped_packets"]
