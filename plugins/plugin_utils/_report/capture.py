# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""A host's capture section: what ``netdevops.icmp.capture`` or a probe's ``capture`` option saw.

A host may bring one capture result or a list of them (the ping's, the traceroute's, ...);
they are added up into one compact section: packets per direction and per
family/type/code/direction, the top talkers, the kernel's drops and the evidence
sentences. The rest of a capture result (per second, per target details) stays in the
task results: a fleet report keeps a few hundred bytes per host.
"""
from __future__ import annotations

import typing as t
from collections import Counter

TOP_TALKERS = 5
MAX_EVIDENCE = 20


class CaptureInputError(ValueError):
    """A capture entry we cannot use; the message quotes it."""


def _count(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CaptureInputError("%s must be a whole number >= 0, got %r" % (where, value))
    return value


def section(raw: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
    """The report's ``capture`` section for one host, or None when the host has none."""
    if raw is None:
        return None
    entries = [entry for entry in (raw if isinstance(raw, list) else [raw]) if entry is not None]
    if not entries:
        return None
    by_type: t.Counter[t.Tuple[str, int, int, str, str]] = Counter()
    talkers: t.Counter[str] = Counter()
    directions: t.Counter[str] = Counter()
    interfaces: t.Set[str] = set()
    evidence: t.List[str] = []
    packets = drops = 0
    for entry in entries:
        if not isinstance(entry, t.Mapping):
            raise CaptureInputError("capture must be a capture result (or a list of them), got %r" % (entry,))
        packets += _count(entry.get("packets", 0), "capture packets")
        drops += _count((entry.get("kernel") or {}).get("drops", 0), "capture kernel.drops")
        for key, count in (entry.get("by_direction") or {}).items():
            directions[str(key)] += _count(count, "capture by_direction.%s" % key)
        for row in entry.get("by_type") or []:
            if row.get("family") not in ("ipv4", "ipv6") or row.get("direction") not in ("in", "out"):
                raise CaptureInputError("capture by_type row %r needs family ipv4 or ipv6 and direction in or out"
                                        % (dict(row),))
            key = (str(row.get("family")), _count(row.get("type"), "capture by_type type"),
                   _count(row.get("code"), "capture by_type code"), str(row.get("name")), str(row.get("direction")))
            by_type[key] += _count(row.get("packets"), "capture by_type packets")
        for row in entry.get("top_sources") or []:
            talkers[str(row.get("address"))] += _count(row.get("packets"), "capture top_sources packets")
        interfaces.update(str(name) for name in entry.get("interfaces_seen") or [])
        evidence.extend(str(line) for line in entry.get("evidence") or [])
    return {
        "packets": packets,
        "by_direction": {"in": directions.get("in", 0), "out": directions.get("out", 0)},
        "by_type": [{"family": family, "type": icmp_type, "code": code, "name": name, "direction": direction,
                     "packets": count} for (family, icmp_type, code, name, direction), count in sorted(by_type.items())],
        "top_talkers": [{"address": address, "packets": count} for address, count in talkers.most_common(TOP_TALKERS)],
        "kernel_drops": drops,
        "interfaces": sorted(interfaces),
        "evidence": evidence[:MAX_EVIDENCE],
    }
