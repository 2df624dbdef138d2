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

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import capture, hits

# 1.1.0: check kind "drill"; 1.2.0: top-level slice, check elapsed_ms; 1.3.0: host capture; 1.4.0: host policy_hits
SCHEMA_VERSION = "1.4.0"
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
        check.setdefault("elapsed_ms", None)
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
    try:
        captured = capture.section(raw.get("capture"))
        rule_hits = hits.section(raw.get("policy_hits"))
    except (capture.CaptureInputError, hits.HitsInputError) as err:
        raise ReportError("host %s: %s" % (name, err)) from err
    return {"name": str(name), "status": status, "error": raw.get("error"), "checks": checks, "drift": drift,
            "summary": {"checks": len(checks), "failed": failed, "regressions": regressions}, "capture": captured,
            "policy_hits": rule_hits}


def build_report(hosts: t.Mapping[str, t.Any], *, kind: str = "checks",
                 phase: t.Optional[str] = None, run_id: t.Optional[str] = None, title: t.Optional[str] = None,
                 generated_at: t.Optional[datetime.datetime] = None, slice_id: t.Optional[str] = None,
                 convert: t.Optional[t.Callable[[t.Any], t.Any]] = None) -> t.Dict[str, t.Any]:
    """The report document for one run over many hosts (host order is kept sorted).

    Hosts are taken one at a time (``convert`` turns one host's raw result into plain
    JSON types), so the caller's input and the document are the only copies in memory.
    """
    if kind not in REPORT_KINDS:
        raise ReportError("report kind %r is not one of: %s" % (kind, ", ".join(REPORT_KINDS)))
    if phase is not None and phase not in PHASES:
        raise ReportError("phase %r is not one of: %s" % (phase, ", ".join(PHASES)))
    if not isinstance(hosts, t.Mapping):
        raise ReportError("hosts must map host names to {checks, drift}, got %r" % (hosts,))
    when = generated_at or datetime.datetime.now(datetime.timezone.utc)
    entries = [_host(str(name), convert(hosts[name]) if convert else hosts[name], phase) for name in sorted(hosts)]
    summary = {"hosts": len(entries), "hosts_failed": 0, "checks": 0, "checks_failed": 0, "regressions": 0,
               "hosts_drifted": 0}
    for host in entries:
        summary["hosts_failed"] += host["status"] != "pass"
        summary["checks"] += host["summary"]["checks"]
        summary["checks_failed"] += host["summary"]["failed"]
        summary["regressions"] += host["summary"]["regressions"]
        summary["hosts_drifted"] += bool(host["drift"] and host["drift"]["drifted"])
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "netdevops.icmp",
        "kind": kind,
        "phase": phase,
        "run_id": run_id,
        "slice": slice_id,
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


class Problem(t.NamedTuple):
    """One thing that made a host fail; ``kind`` is a check kind, ``host`` or ``drift``."""

    host: str
    kind: str
    target: str
    message: str

    def line(self) -> str:
        if self.kind == "host":
            return "%s: %s" % (self.host, self.message)
        if self.kind == "drift":
            return "%s drift: %s" % (self.host, self.message)
        return "%s %s %s: %s" % (self.host, self.kind, self.target, self.message)


def problem_items(hosts: t.Iterable[t.Mapping[str, t.Any]]) -> t.Iterator[Problem]:
    """Every problem of the run, host by host (the ``problems`` lines and the HTML groups)."""
    for host in hosts:
        name = host["name"]
        if host.get("error"):
            yield Problem(name, "host", "", str(host["error"]))
        for check in host["checks"]:
            if check["regressions"]:
                for regression in check["regressions"]:
                    yield Problem(name, check["kind"], str(check["target"]), str(regression["message"]))
            elif check["status"] != "pass" and (host["status"] != "pass" or not check["notes"]):
                yield Problem(name, check["kind"], str(check["target"]),
                              "; ".join(check["failures"]) or check["status"])
        drift = host.get("drift")
        if drift and drift["drifted"]:
            for finding in drift["findings"]:
                yield Problem(name, "drift", str(finding["kind"]), str(finding["message"]))


def problems(hosts: t.Iterable[t.Mapping[str, t.Any]]) -> t.List[str]:
    """One line per thing that made a host fail: host, check, target and numbers."""
    return [item.line() for item in problem_items(hosts)]


def target_label(check: t.Mapping[str, t.Any]) -> str:
    return str(check.get("target"))
