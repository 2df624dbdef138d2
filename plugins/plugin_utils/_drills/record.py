# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One drill's result from its timestamps, verdict and measurements; the timeline table; lab addresses."""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import registry

PHASES = (("inject_s", "t0", "injected"), ("detect_s", "injected", "detected"), ("recover_s", "detected", "recovered"))


class DrillDataError(ValueError):
    """Input the drill bookkeeping cannot use; the message quotes it and says what is expected."""


def _seconds(value: t.Any, what: str) -> t.Optional[float]:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise DrillDataError("%s must be a timestamp in seconds (now().timestamp()) or null, got %r" % (what, value)) from err


def timeline(times: t.Mapping[str, t.Any]) -> t.Dict[str, t.Optional[float]]:
    """Seconds of each phase; null when the drill stopped before either end of the phase."""
    stamps = {key: _seconds(times.get(key), key) for key in ("t0", "injected", "detected", "recovered")}
    result: t.Dict[str, t.Optional[float]] = {}
    for phase, start, end in PHASES:
        begin, finish = stamps[start], stamps[end]
        result[phase] = round(finish - begin, 3) if begin is not None and finish is not None else None
    return result


def record(name: str, times: t.Mapping[str, t.Any], verdict: t.Any = None, details: t.Any = None,
           error: t.Any = None) -> t.Dict[str, t.Any]:
    """The result of one drill as icmp_drill_results holds it.

    A drill passes when no step failed, it reached recovery, and its verdict is the one the
    registry expects for it (a drill task file that forgot its own assertion still fails here).
    """
    verdict = verdict if isinstance(verdict, t.Mapping) else {}
    details = dict(details) if isinstance(details, t.Mapping) else {}
    drill = registry.registry().get(name)
    reached = verdict.get("verdict")
    if error is None and drill is not None and reached is not None and reached != drill.verdict:
        error = "diagnosed %s, but drill %s must diagnose %s" % (reached, name, drill.verdict)
    spans = timeline(times)
    details["verdict"] = reached
    return {
        "drill": name,
        "passed": error is None and times.get("recovered") not in (None, ""),
        "diagnosis": verdict.get("diagnosis") or "no diagnosis: the drill stopped before detection",
        "error": error,
        "timeline": spans,
        "details": details,
    }


def _cell(value: t.Any) -> str:
    return "-" if value is None else "%.1f" % float(value)


def timeline_table(results: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """The drills' results as text rows: drill, result, inject/detect/recover seconds, verdict."""
    rows = [("drill", "result", "inject s", "detect s", "recover s", "verdict")]
    for item in results:
        spans = item.get("timeline") or {}
        rows.append((str(item.get("drill")), "PASS" if item.get("passed") else "FAIL",
                     _cell(spans.get("inject_s")), _cell(spans.get("detect_s")), _cell(spans.get("recover_s")),
                     str((item.get("details") or {}).get("verdict") or "-")))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def flatten_addresses(nodes: t.Sequence[t.Any]) -> t.List[str]:
    """Every address of the given lab nodes' ``lab_addresses`` ({ipv4: [...], ipv6: [...]}), in order."""
    addresses: t.List[str] = []
    for node in nodes:
        if not isinstance(node, t.Mapping):
            raise DrillDataError("expected the lab_addresses of lab nodes ({ipv4: [...], ipv6: [...]}), got %r" % (node,))
        for family in ("ipv4", "ipv6"):
            addresses.extend(str(address) for address in node.get(family) or [])
    return addresses
