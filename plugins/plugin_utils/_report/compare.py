# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Compare a post-change run with its pre-change baseline.

A regression is something that got worse *because of the change*: a target that
answered before and does not now, loss or RTT beyond the plan's thresholds when
they held before, or beyond a tolerance over the baseline, a hop that changed,
a lower path MTU, a new PMTUD black hole. A check that already failed before the
change is reported as ``still failing``, not as a regression (unless the caller
asks for that with ``fail_on_preexisting``).

RTT tolerance needs both a relative and an absolute step, because lab and LAN
RTTs are tens of microseconds and a doubling of 0.04 ms is noise, not a change.
"""
from __future__ import annotations

import copy
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report.checks import _fmt, _path_text

DEFAULT_TOLERANCE = {"loss_pct": 20.0, "rtt_pct": 50.0, "rtt_ms": 5.0, "mtu": 0}


def tolerance_of(raw: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, float]:
    tolerance = dict(DEFAULT_TOLERANCE)
    for key, value in (raw or {}).items():
        if key not in DEFAULT_TOLERANCE:
            raise ValueError("unknown tolerance %r; use: %s" % (key, ", ".join(sorted(DEFAULT_TOLERANCE))))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError("tolerance %s must be a number >= 0, got %r" % (key, value))
        tolerance[key] = value
    return tolerance


def _regression(metric: str, before: t.Any, after: t.Any, message: str) -> t.Dict[str, t.Any]:
    return {"metric": metric, "before": before, "after": after, "message": message}


def compare_ping(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
                 tolerance: t.Mapping[str, float]) -> t.List[t.Dict[str, t.Any]]:
    if before["reachable"] and not after["reachable"]:
        return [_regression("reachable", True, False, "newly unreachable (loss %s%% -> %s%%)"
                            % (_fmt(before["loss_pct"]), _fmt(after["loss_pct"])))]
    found = []
    loss_b, loss_a = before["loss_pct"], after["loss_pct"]
    if loss_b is not None and loss_a is not None and loss_a - loss_b > tolerance["loss_pct"]:
        found.append(_regression("loss_pct", loss_b, loss_a, "loss %s%% -> %s%% (tolerance +%s points)"
                                 % (_fmt(loss_b), _fmt(loss_a), _fmt(tolerance["loss_pct"]))))
    avg_b, avg_a = before["rtt_ms"]["avg"], after["rtt_ms"]["avg"]
    if (avg_b is not None and avg_a is not None and avg_a > avg_b * (1 + tolerance["rtt_pct"] / 100.0)
            and avg_a - avg_b > tolerance["rtt_ms"]):
        found.append(_regression("rtt_ms.avg", avg_b, avg_a, "avg RTT %s ms -> %s ms (tolerance +%s%% and +%s ms)"
                                 % (_fmt(avg_b), _fmt(avg_a), _fmt(tolerance["rtt_pct"]), _fmt(tolerance["rtt_ms"]))))
    return found


def compare_traceroute(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
                       tolerance: t.Mapping[str, float]) -> t.List[t.Dict[str, t.Any]]:
    if before["reached"] and not after["reached"]:
        return [_regression("reached", True, False, "destination no longer reached: path %s -> %s"
                            % (_path_text(before["path"]), _path_text(after["path"])))]
    changes = path_changes(before["path"], after["path"])
    if not changes:
        return []
    return [_regression("path", before["path"], after["path"], "path changed at %s: %s -> %s"
                        % (", ".join(changes), _path_text(before["path"]), _path_text(after["path"])))]


def path_changes(before: t.Sequence[t.Optional[str]], after: t.Sequence[t.Optional[str]]) -> t.List[str]:
    """Hops that differ; a silent hop (``None``) on either side is not a change by itself
    (routers rate-limit time-exceeded), a different length is."""
    changes = []
    for index in range(max(len(before), len(after))):
        old = before[index] if index < len(before) else None
        new = after[index] if index < len(after) else None
        if index >= len(before) or index >= len(after):
            changes.append("hop %d (%s -> %s)" % (index + 1, old or "none", new or "none"))
        elif old is not None and new is not None and old != new:
            changes.append("hop %d (%s -> %s)" % (index + 1, old, new))
    return changes


def compare_pmtud(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
                  tolerance: t.Mapping[str, float]) -> t.List[t.Dict[str, t.Any]]:
    found = []
    mtu_b, mtu_a = before["path_mtu"], after["path_mtu"]
    if mtu_b is not None and (mtu_a is None or mtu_b - mtu_a > tolerance["mtu"]):
        found.append(_regression("path_mtu", mtu_b, mtu_a, "path MTU lowered %s -> %s" % (mtu_b, _fmt(mtu_a))))
    if after["black_hole"] and not before["black_hole"]:
        found.append(_regression("black_hole", False, True, "new PMTUD black hole: frag-needed / packet-too-big "
                                 "is dropped on the path (path MTU %s inferred)" % _fmt(mtu_a)))
    return found


COMPARERS = {"ping": compare_ping, "traceroute": compare_traceroute, "pmtud": compare_pmtud}


def compare_check(check: t.Dict[str, t.Any], baseline: t.Optional[t.Mapping[str, t.Any]],
                  tolerance: t.Mapping[str, float], fail_on_preexisting: bool = False) -> t.Dict[str, t.Any]:
    """A copy of the post check with ``baseline`` and ``regressions`` filled in."""
    result = copy.deepcopy(check)
    if baseline is None:
        result["notes"] = ["no baseline for this check (added after the pre run)"]
        if result["status"] != "pass":
            result["regressions"] = [_regression("status", None, result["status"], "; ".join(result["failures"]))]
        return result
    result["baseline"] = baseline.get("measured")
    regressions: t.List[t.Dict[str, t.Any]] = []
    passed_before = baseline.get("status") == "pass"
    if result["status"] != "pass" and (passed_before or fail_on_preexisting):
        word = "now fails" if passed_before else "still fails"
        regressions.append(_regression("status", baseline.get("status"), result["status"],
                                       "%s: %s" % (word, "; ".join(result["failures"]))))
    elif result["status"] != "pass":
        result["notes"] = ["still failing, as before the change: %s" % "; ".join(baseline.get("failures") or [])]
    if result["measured"] is not None and baseline.get("measured") is not None:
        regressions.extend(COMPARERS[result["kind"]](baseline["measured"], result["measured"], tolerance))
    result["regressions"] = _dedupe(regressions)
    return result


def _dedupe(regressions: t.List[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """One message per cause: a threshold failure rides on the specific regression with numbers."""
    status = [r for r in regressions if r["metric"] == "status"]
    specific = [dict(r) for r in regressions if r["metric"] != "status"]
    if not status or not specific:
        return regressions
    if not {r["metric"] for r in specific} & {"reachable", "reached"}:
        specific[0]["message"] += " (%s)" % status[0]["message"]
    return specific


def compare_run(checks: t.Sequence[t.Dict[str, t.Any]], baseline_checks: t.Sequence[t.Mapping[str, t.Any]],
                tolerance: t.Optional[t.Mapping[str, t.Any]] = None, fail_on_preexisting: bool = False,
                host: str = "") -> t.Dict[str, t.Any]:
    """Compare all checks of one host; ``summary`` has one line per regression."""
    tol = tolerance_of(tolerance)
    by_id = {b.get("id"): b for b in baseline_checks or []}
    compared = [compare_check(check, by_id.get(check["id"]), tol, fail_on_preexisting) for check in checks]
    summary = []
    for check in compared:
        for regression in check["regressions"]:
            summary.append("%s%s %s: %s" % (host + " " if host else "", check["kind"], check["target"],
                                            regression["message"]))
    return {"regressed": bool(summary), "checks": compared, "summary": summary, "tolerance": tol}
