# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One self-contained HTML page: no server, no network, inline CSS and JS only.

``report.html.j2`` beside this file is the page; this file turns the report into the
page's view, bounded at fleet scale: problems grouped and capped with counts, the
reachability matrix aggregated (hosts by inventory group, targets by prefix) with only
the hosts that have problems expanded, and detail tables that list every row only for
small runs. The page is rendered here, not by JavaScript, so it reads the same with
scripts off; the small inline script filters and pages the tables. Matrix cells carry
``data-host``, ``data-target`` and ``data-state`` for tests and for people who scrape it.
"""
from __future__ import annotations

import io
import os
import typing as t

import jinja2

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import fleet
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report.checks import _fmt
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report.model import problem_items

FULL_MATRIX_CELLS = 2500  # hosts x targets up to which every cell is drawn
DETAIL_ROWS = 300  # paths, MTUs and drift rows listed in full up to this many
PROBLEM_ROWS = 500  # beyond DETAIL_ROWS: rows with problems listed, the rest counted
PROBLEM_HOSTS = 500  # hosts with problems expanded under their group in the fleet matrix
PROBLEM_GROUPS = 30
CAPTURE_TYPES = 6  # types/codes and evidence lines shown per host
CAPTURE_ROWS = 100  # beyond DETAIL_ROWS: capture rows of hosts with problems (the page's size budget)
PROBLEM_EXAMPLES = 10
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(__file__))),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def cell_state(check: t.Mapping[str, t.Any]) -> str:
    """ok | warn | bad | down: the colour of a matrix cell."""
    measured = check["measured"]
    if check["status"] != "pass" or check["regressions"] or measured is None:
        return "bad"
    if not measured.get("reachable"):
        return "down"  # expected unreachable, and it is
    rtt = measured.get("rtt_ms") or {}  # null without replies in hand-made results
    loss, avg = measured.get("loss_pct") or 0, rtt.get("avg")
    limit = (check.get("expect") or {}).get("max_rtt_ms")
    if loss > 0 or (_number(limit) and _number(avg) and avg > limit / 2.0):
        return "warn"
    return "ok"


def _number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell_text(check: t.Mapping[str, t.Any]) -> str:
    measured = check["measured"]
    if measured is None:
        return "error"
    avg = (measured.get("rtt_ms") or {}).get("avg")
    text = "%s%% loss" % _fmt(measured.get("loss_pct"))
    return text + (" · %s ms" % _fmt(round(avg, 3)) if _number(avg) else "")


def _why(check: t.Mapping[str, t.Any]) -> str:
    return "; ".join([str(r["message"]) for r in check["regressions"]] + list(check["failures"])) or "meets its thresholds"


def _pings(host: t.Mapping[str, t.Any]) -> t.Iterator[t.Mapping[str, t.Any]]:
    return (check for check in host["checks"] if check["kind"] == "ping")


def _full_matrix(hosts: t.Sequence[t.Mapping[str, t.Any]], targets: t.Sequence[str]) -> t.Dict[str, t.Any]:
    rows = []
    for host in hosts:
        by_target = {check["target"]: check for check in _pings(host)}
        cells = []
        for target in targets:
            check = by_target.get(target)
            if check is None:
                cells.append({"target": target, "state": "none", "text": "–", "title": ""})
            else:
                cells.append({"target": target, "state": cell_state(check), "text": _cell_text(check),
                              "title": _why(check)})
        rows.append({"host": host["name"], "status": host["status"], "cells": cells})
    return {"targets": targets, "rows": rows}


def _fleet_matrix(hosts: t.Sequence[t.Mapping[str, t.Any]], columns: t.Mapping[str, str],
                  groups: t.Optional[t.Mapping[str, str]]) -> t.Dict[str, t.Any]:
    labels = sorted(set(columns.values()))
    summary: t.Dict[str, t.Dict[str, t.Any]] = {}
    expanded: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
    shown = 0
    for host in hosts:
        name = fleet.host_group(host["name"], groups)
        group = summary.setdefault(name, {"name": name, "hosts": 0, "problem_hosts": 0,
                                          "counts": {label: {} for label in labels}})
        group["hosts"] += 1
        states: t.Dict[str, t.List[str]] = {}
        for check in _pings(host):
            state = cell_state(check)
            column = group["counts"][columns[check["target"]]]
            column[state] = column.get(state, 0) + 1
            states.setdefault(columns[check["target"]], []).append(state)
        if host["status"] != "pass":
            group["problem_hosts"] += 1
            if shown < PROBLEM_HOSTS:
                shown += 1
                expanded.setdefault(name, []).append(_problem_row(host, labels, states))
    rows = []
    for name in sorted(summary):
        group = summary[name]
        cells = [{"label": label, "state": fleet.worst(group["counts"][label]),
                  "text": fleet.count_text(group["counts"][label]) or "–"} for label in labels]
        rows.append(dict(group, cells=cells, expanded=expanded.get(name, [])))
    problem_hosts = sum(group["problem_hosts"] for group in summary.values())
    return {"columns": labels, "groups": rows, "problem_hosts": problem_hosts, "hidden": problem_hosts - shown}


def _problem_row(host: t.Mapping[str, t.Any], labels: t.Sequence[str],
                 states: t.Mapping[str, t.Sequence[str]]) -> t.Dict[str, t.Any]:
    cells = []
    for label in labels:
        found = states.get(label, [])
        bad = sum(1 for state in found if state == "bad")
        text = ("%d of %d bad" % (bad, len(found)) if bad else "%d ok" % len(found)) if found else "–"
        cells.append({"state": fleet.worst(found), "text": text})
    failing = [check for check in host["checks"] if check["status"] != "pass" or check["regressions"]]
    why = ["%s %s: %s" % (c["kind"], c["target"], _why(c)) for c in failing[:5]]
    if len(failing) > 5:
        why.append("and %d more checks" % (len(failing) - 5))
    if host.get("error"):
        why.insert(0, str(host["error"]))
    return {"host": host["name"], "status": host["status"], "cells": cells, "why": why}


def _badge(check: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    if check["regressions"]:
        return {"state": "fail", "word": "regressed", "text": "; ".join(str(r["message"]) for r in check["regressions"])}
    if check["status"] != "pass":
        return {"state": "fail", "word": check["status"], "text": "; ".join(check["failures"])}
    return {"state": "pass", "word": "pass", "text": ""}


def _rows_of(hosts: t.Sequence[t.Mapping[str, t.Any]], kind: str,
             row: t.Callable[[t.Mapping[str, t.Any], t.Mapping[str, t.Any]], t.Dict[str, t.Any]]) -> t.Dict[str, t.Any]:
    """Every row when there are few; else the rows with problems (capped) and a count of the rest."""
    pairs = [(host, check) for host in hosts for check in host["checks"] if check["kind"] == kind]
    if len(pairs) <= DETAIL_ROWS:
        return {"rows": [row(host, check) for host, check in pairs], "total": len(pairs), "not_listed": 0}
    bad = [(host, check) for host, check in pairs if check["status"] != "pass" or check["regressions"]]
    rows = [row(host, check) for host, check in bad[:PROBLEM_ROWS]]
    return {"rows": rows, "total": len(pairs), "not_listed": len(pairs) - len(rows)}


def _path_row(host: t.Mapping[str, t.Any], check: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    measured = check["measured"]
    hops = []
    if measured is not None:
        before = (check.get("baseline") or {}).get("path") or []
        for index, hop in enumerate(measured.get("path") or []):
            old = before[index] if index < len(before) else None
            changed = bool(before) and hop is not None and old is not None and old != hop
            hops.append({"text": hop or "*", "changed": changed, "was": old if changed else None})
    return {"host": host["name"], "status": host["status"], "target": check["target"], "hops": hops,
            "measured": measured is not None, "failures": "; ".join(check["failures"]), "badge": _badge(check)}


def _mtu_row(host: t.Mapping[str, t.Any], check: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    measured = check["measured"] or {}
    return {"host": host["name"], "status": host["status"], "target": check["target"],
            "mtu": measured.get("path_mtu"), "baseline": (check.get("baseline") or {}).get("path_mtu"),
            "reported_by": measured.get("reported_by") or "", "black_hole": bool(measured.get("black_hole")),
            "badge": _badge(check)}


def _drift(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    checked = [host for host in hosts if host.get("drift") is not None]
    listed = checked if len(checked) <= DETAIL_ROWS else [h for h in checked if h["drift"]["drifted"]][:PROBLEM_ROWS]
    rows = [{"host": host["name"], "status": host["status"], "backend": host["drift"]["backend"],
             "drifted": host["drift"]["drifted"], "findings": host["drift"]["findings"]} for host in listed]
    return {"rows": rows, "total": len(checked), "not_listed": len(checked) - len(rows)}


def _captures(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """Per host: packets in/out, the commonest types/codes, top talkers, drops, the evidence lines."""
    captured = [host for host in hosts if host.get("capture")]
    listed = captured if len(captured) <= DETAIL_ROWS else [h for h in captured if h["status"] != "pass"][:CAPTURE_ROWS]
    rows = []
    for host in listed:
        section = host["capture"]
        kinds = sorted(section["by_type"], key=lambda row: -row["packets"])
        rows.append({"host": host["name"], "status": host["status"], "packets": section["packets"],
                     "in": section["by_direction"]["in"], "out": section["by_direction"]["out"],
                     "types": kinds[:CAPTURE_TYPES], "more_types": max(0, len(kinds) - CAPTURE_TYPES),
                     "talkers": section["top_talkers"], "drops": section["kernel_drops"],
                     "evidence": section["evidence"][:CAPTURE_TYPES]})
    return {"rows": rows, "total": len(captured), "not_listed": len(captured) - len(rows)}


def _seconds(value: t.Any) -> str:
    return "%s s" % _fmt(value) if _number(value) else "–"


def _drills(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    rows = []
    for host in hosts:
        for check in host["checks"]:
            if check["kind"] != "drill":
                continue
            expect = check.get("expect") or {}
            timeline = expect.get("timeline") if isinstance(expect.get("timeline"), t.Mapping) else {}
            measured = check["measured"] if isinstance(check["measured"], t.Mapping) else {}
            rows.append({"status": host["status"], "drill": expect.get("drill"), "badge": _badge(check),
                         "diagnosis": measured.get("diagnosis") or "",
                         "evidence": (host.get("capture") or {}).get("evidence", [])[:CAPTURE_TYPES],
                         "phases": [_seconds(timeline.get(key)) for key in ("inject_s", "detect_s", "recover_s")]})
    return rows


def view(report: t.Mapping[str, t.Any], groups: t.Optional[t.Mapping[str, str]] = None) -> t.Dict[str, t.Any]:
    """Everything the template shows; sizes are bounded by the caps above, not by the fleet."""
    hosts = report["hosts"]
    summary = report["summary"]
    targets = sorted({check["target"] for host in hosts for check in _pings(host)})
    problem_list, more_groups = fleet.problem_groups(problem_items(hosts), PROBLEM_EXAMPLES, PROBLEM_GROUPS)
    return {
        "report": report,
        "cards": [("hosts", summary["hosts"]), ("hosts failed", summary["hosts_failed"]), ("checks", summary["checks"]),
                  ("checks failed", summary["checks_failed"]), ("regressions", summary["regressions"]),
                  ("hosts drifted", summary["hosts_drifted"])],
        "problem_groups": problem_list,
        "more_problem_groups": more_groups,
        "has_targets": bool(targets),
        "full": _full_matrix(hosts, targets) if targets and len(hosts) * len(targets) <= FULL_MATRIX_CELLS else None,
        "fleet": _fleet_matrix(hosts, fleet.target_columns(targets), groups) if targets else None,
        "paths": _rows_of(hosts, "traceroute", _path_row),
        "mtus": _rows_of(hosts, "pmtud", _mtu_row),
        "drift": _drift(hosts),
        "captures": _captures(hosts),
        "drills": _drills(hosts),
    }


def write_html(report: t.Mapping[str, t.Any], stream: t.TextIO, groups: t.Optional[t.Mapping[str, str]] = None) -> None:
    """Stream the page: the template renders in chunks, never as one string."""
    for chunk in _ENVIRONMENT.get_template("report.html.j2").generate(**view(report, groups)):
        stream.write(chunk)


def to_html(report: t.Mapping[str, t.Any], groups: t.Optional[t.Mapping[str, str]] = None) -> str:
    stream = io.StringIO()
    write_html(report, stream, groups)
    return stream.getvalue()
