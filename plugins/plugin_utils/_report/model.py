# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The versioned report document every writer starts from.

``report.schema.json`` beside this file is the contract (docs/reports.md explains
it). ``SCHEMA_VERSION`` follows semantic versioning: a new optional key is a minor
bump, a removed or retyped key a major one.
"""
from __future__ import annotations

import datetime
import os
import typing as t

SCHEMA_VERSION = "1.1.0"  # 1.1.0: check kind "drill"
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.schema.json")
REPORT_KINDS = ("change_validation", "drift_check", "checks")
PHASES = ("pre", "post")


class ReportError(ValueError):
    """Report input we cannot use; the message says which host and key."""


def _host(name: str, raw: t.Mapping[str, t.Any], phase: t.Optional[str]) -> t.Dict[str, t.Any]:
    if not isinstance(raw, t.Mapping):
        raise ReportError("host %s: expected a mapping with checks and drift, got %r" % (name, raw))
    checks = [dict(check) for check in raw.get("checks") or []]
    for check in checks:
        check.setdefault("baseline", None)
        check.setdefault("regressions", [])
        check.setdefault("notes", [])
        check.setdefault("failures", [])
    drift = raw.get("drift")
    if drift is not None:
        drift = {"checked": True, "drifted": bool(drift.get("drifted")), "backend": drift.get("backend"),
                 "findings": list(drift.get("findings") or [])}
    regressions = sum(len(check["regressions"]) for check in checks)
    failed = sum(1 for check in checks if check["status"] != "pass")
    if phase == "post":
        status = "fail" if regressions or (drift and drift["drifted"]) else "pass"
    else:
        status = "fail" if failed or (drift and drift["drifted"]) else "pass"
    if raw.get("error"):
        status = "error"
    return {"name": str(name), "status": status, "error": raw.get("error"), "checks": checks, "drift": drift,
            "summary": {"checks": len(checks), "failed": failed, "regressions": regressions}}


def build_report(hosts: t.Mapping[str, t.Mapping[str, t.Any]], *, kind: str = "checks",
                 phase: t.Optional[str] = None, run_id: t.Optional[str] = None, title: t.Optional[str] = None,
                 generated_at: t.Optional[datetime.datetime] = None) -> t.Dict[str, t.Any]:
    """The report document for one run over many hosts (host order is kept sorted)."""
    if kind not in REPORT_KINDS:
        raise ReportError("report kind %r is not one of: %s" % (kind, ", ".join(REPORT_KINDS)))
    if phase is not None and phase not in PHASES:
        raise ReportError("phase %r is not one of: %s" % (phase, ", ".join(PHASES)))
    if not isinstance(hosts, t.Mapping):
        raise ReportError("hosts must map host names to {checks, drift}, got %r" % (hosts,))
    when = generated_at or datetime.datetime.now(datetime.timezone.utc)
    entries = [_host(name, hosts[name], phase) for name in sorted(hosts)]
    checks = [check for host in entries for check in host["checks"]]
    summary = {
        "hosts": len(entries),
        "hosts_failed": sum(1 for host in entries if host["status"] != "pass"),
        "checks": len(checks),
        "checks_failed": sum(1 for check in checks if check["status"] != "pass"),
        "regressions": sum(host["summary"]["regressions"] for host in entries),
        "hosts_drifted": sum(1 for host in entries if host["drift"] and host["drift"]["drifted"]),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "netdevops.icmp",
        "kind": kind,
        "phase": phase,
        "run_id": run_id,
        "title": title or _default_title(kind, phase),
        "generated_at": when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timestamp": int(when.timestamp()),
        "status": "fail" if summary["hosts_failed"] else "pass",
        "summary": summary,
        "problems": problems(entries),
        "hosts": entries,
    }


def _default_title(kind: str, phase: t.Optional[str]) -> str:
    words = {"change_validation": "Change validation", "drift_check": "Drift check", "checks": "ICMP checks"}[kind]
    return "%s (%s)" % (words, phase) if phase else words


def problems(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """One line per thing that made a host fail: host, check, target and numbers."""
    lines = []
    for host in hosts:
        if host.get("error"):
            lines.append("%s: %s" % (host["name"], host["error"]))
        for check in host["checks"]:
            if check["regressions"]:
                lines.extend("%s %s %s: %s" % (host["name"], check["kind"], check["target"], r["message"])
                             for r in check["regressions"])
            elif check["status"] != "pass" and (host["status"] != "pass" or not check["notes"]):
                lines.append("%s %s %s: %s" % (host["name"], check["kind"], check["target"],
                                               "; ".join(check["failures"]) or check["status"]))
        drift = host.get("drift")
        if drift and drift["drifted"]:
            lines.extend("%s drift: %s" % (host["name"], f["message"]) for f in drift["findings"])
    return lines


def target_label(check: t.Mapping[str, t.Any]) -> str:
    return str(check.get("target"))
