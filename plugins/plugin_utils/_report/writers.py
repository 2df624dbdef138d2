# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Report writers: JSON, JUnit XML and Prometheus textfile (HTML is in ``html.py``).

Every writer is a pure function from the report document to text, so unit tests
compare strings and the action plugin decides where and how to write.
"""
from __future__ import annotations

import json
import typing as t
import xml.etree.ElementTree as ET

METRIC_PREFIX = "netdevops_icmp_"


def to_json(report: t.Mapping[str, t.Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


# --- JUnit ----------------------------------------------------------------------------------

def _case_failure(check: t.Mapping[str, t.Any], post: bool) -> t.Optional[t.Tuple[str, str, str]]:
    """(element, message, body) for a failing test case, or None when it passes."""
    if check["regressions"]:
        lines = [r["message"] for r in check["regressions"]]
        return "failure", "regressed: " + "; ".join(lines), "\n".join(lines)
    if check["status"] == "error":
        return "error", "; ".join(check["failures"]) or "error", "\n".join(check["failures"])
    if check["status"] == "fail" and not post:
        return "failure", "; ".join(check["failures"]), "\n".join(check["failures"])
    return None


def to_junit(report: t.Mapping[str, t.Any]) -> str:
    """One ``testsuite`` per host, one ``testcase`` per host and check (plus one for drift).

    In a post-change run a check that failed before the change too is *skipped*
    with the reason (it is not this change's fault); regressions are failures.
    """
    post = report.get("phase") == "post"
    root = ET.Element("testsuites", name="netdevops.icmp %s" % report["title"])
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host in report["hosts"]:
        suite = ET.SubElement(root, "testsuite", name=host["name"], timestamp=report["generated_at"])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for check in host["checks"]:
            case = ET.SubElement(suite, "testcase", classname="%s.%s" % (host["name"], check["kind"]),
                                 name="%s %s" % (check["kind"], check["target"]))
            counts["tests"] += 1
            failure = _case_failure(check, post)
            if failure is not None:
                element, message, body = failure
                ET.SubElement(case, element, message=message, type=check["kind"]).text = body
                counts["failures" if element == "failure" else "errors"] += 1
            elif check["status"] != "pass":
                ET.SubElement(case, "skipped", message="; ".join(check["notes"] or check["failures"]))
                counts["skipped"] += 1
            out = [json.dumps(check["measured"], sort_keys=True)] if check["measured"] is not None else []
            out += check["notes"] or []
            if out:
                ET.SubElement(case, "system-out").text = "\n".join(out)
        if host.get("error"):
            case = ET.SubElement(suite, "testcase", classname="%s.host" % host["name"], name="host")
            ET.SubElement(case, "error", message=str(host["error"]))
            counts["tests"] += 1
            counts["errors"] += 1
        drift = host.get("drift")
        if drift is not None:
            case = ET.SubElement(suite, "testcase", classname="%s.drift" % host["name"], name="policy drift")
            counts["tests"] += 1
            if drift["drifted"]:
                lines = [f["message"] for f in drift["findings"]]
                ET.SubElement(case, "failure", message="drift: " + "; ".join(lines), type="drift").text = "\n".join(lines)
                counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    if hasattr(ET, "indent"):  # Python 3.9+; older output is valid, just not indented
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- Prometheus textfile --------------------------------------------------------------------

_HELP = {
    "ping_loss_ratio": ("gauge", "Echo loss from host to target, 0 to 1."),
    "ping_rtt_seconds": ("gauge", "Echo round-trip time from host to target (stat: min, avg, max, mdev)."),
    "ping_reachable": ("gauge", "1 when the target answered at least one echo."),
    "traceroute_hops": ("gauge", "Hops in the traced path."),
    "traceroute_reached": ("gauge", "1 when the trace reached the destination."),
    "path_mtu_bytes": ("gauge", "Path MTU from host to target."),
    "pmtud_black_hole": ("gauge", "1 when frag-needed / packet-too-big is dropped on the path."),
    "drill_phase_seconds": ("gauge", "Seconds a disaster drill spent injecting, detecting and recovering (phase)."),
    "check_passed": ("gauge", "1 when the check met its thresholds."),
    "check_regressions": ("gauge", "Regressions of the check against the pre-change baseline."),
    "drift": ("gauge", "1 when the host's ICMP policy or sysctls drifted from the desired policy."),
    "drift_findings": ("gauge", "Drift findings per kind."),
    "host_passed": ("gauge", "1 when the host passed the run."),
    "last_run_timestamp_seconds": ("gauge", "Unix time of the last run, per host and report (kind and phase)."),
}


def _escape(value: t.Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: t.Mapping[str, t.Any]) -> str:
    return "{" + ",".join('%s="%s"' % (key, _escape(value)) for key, value in labels.items()) + "}"


def _value(value: t.Union[int, float]) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def _samples(report: t.Mapping[str, t.Any]) -> t.Dict[str, t.List[t.Tuple[t.Dict[str, t.Any], t.Union[int, float]]]]:
    out: t.Dict[str, t.List[t.Tuple[t.Dict[str, t.Any], t.Union[int, float]]]] = {name: [] for name in _HELP}
    for host in report["hosts"]:
        name = host["name"]
        for check in host["checks"]:
            labels = {"host": name, "kind": check["kind"], "target": check["target"]}
            out["check_passed"].append((labels, int(check["status"] == "pass")))
            if report.get("phase") == "post":
                out["check_regressions"].append((labels, len(check["regressions"])))
            _check_samples(out, name, check)
        if host["drift"] is not None:
            out["drift"].append(({"host": name}, int(host["drift"]["drifted"])))
            kinds: t.Dict[str, int] = {}
            for finding in host["drift"]["findings"]:
                kinds[finding["kind"]] = kinds.get(finding["kind"], 0) + 1
            for kind in sorted(kinds):
                out["drift_findings"].append(({"host": name, "kind": kind}, kinds[kind]))
        out["host_passed"].append(({"host": name}, int(host["status"] == "pass")))
        out["last_run_timestamp_seconds"].append(({"host": name}, report["timestamp"]))
    run = report_label(report)
    return {suffix: [(dict(labels, report=run), value) for labels, value in found] for suffix, found in out.items()}


def report_label(report: t.Mapping[str, t.Any]) -> str:
    """The ``report`` label of every sample: the run kind and phase (``change_validation_pre``,
    ``drift_check``, ...), so the files of different runs in one textfile directory never
    expose the same series twice."""
    return report["kind"] + ("_%s" % report["phase"] if report.get("phase") else "")


def _check_samples(out: t.Dict[str, t.List[t.Any]], host: str, check: t.Mapping[str, t.Any]) -> None:
    measured = check["measured"]
    if measured is None:
        return
    labels = {"host": host, "target": check["target"]}
    if check["kind"] == "ping":
        if measured["loss_pct"] is not None:
            out["ping_loss_ratio"].append((labels, measured["loss_pct"] / 100.0))
        out["ping_reachable"].append((labels, int(measured["reachable"])))
        for stat in ("min", "avg", "max", "mdev"):
            if measured["rtt_ms"][stat] is not None:
                out["ping_rtt_seconds"].append((dict(labels, stat=stat), measured["rtt_ms"][stat] / 1000.0))
    elif check["kind"] == "traceroute":
        out["traceroute_hops"].append((labels, measured["hop_count"]))
        out["traceroute_reached"].append((labels, int(measured["reached"])))
    elif check["kind"] == "pmtud":
        if measured["path_mtu"] is not None:
            out["path_mtu_bytes"].append((labels, measured["path_mtu"]))
        out["pmtud_black_hole"].append((labels, int(measured["black_hole"])))
    elif check["kind"] == "drill":
        for key, seconds in sorted((check["expect"].get("timeline") or {}).items()):
            if seconds is not None:
                out["drill_phase_seconds"].append((dict(labels, phase=key.replace("_s", "")), seconds))


def to_prometheus(report: t.Mapping[str, t.Any]) -> str:
    """Text exposition format 0.0.4, for node_exporter's textfile collector."""
    lines = []
    for suffix, samples in _samples(report).items():
        if not samples:
            continue
        kind, text = _HELP[suffix]
        name = METRIC_PREFIX + suffix
        lines += ["# HELP %s %s" % (name, text), "# TYPE %s %s" % (name, kind)]
        lines += ["%s%s %s" % (name, _labels(labels), _value(value)) for labels, value in samples]
    return "\n".join(lines) + "\n"
