# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Report writers: JSON, JUnit XML and Prometheus textfile (HTML is in ``html.py``).

Every writer streams the report document into a text stream (``write_*``), so the
action plugin writes files without building each one as a string first; ``to_*``
return the text for tests. Each writer is linear in hosts x checks.
"""
from __future__ import annotations

import io
import json
import re
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import hits

METRIC_PREFIX = "netdevops_icmp_"
# characters XML 1.0 cannot carry at all (a probe's error text could hold one)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(writer: t.Callable[[t.Mapping[str, t.Any], t.TextIO], None], report: t.Mapping[str, t.Any]) -> str:
    stream = io.StringIO()
    writer(report, stream)
    return stream.getvalue()


def write_json(report: t.Mapping[str, t.Any], stream: t.TextIO) -> None:
    """Top-level keys one per line, then one compact line per host and per problem: readable,
    ``grep``-able, and written host by host with the C encoder (``indent`` is pure Python)."""
    stream.write("{")
    for number, key in enumerate(sorted(report)):
        stream.write("%s\n  %s: " % ("," if number else "", json.dumps(key)))
        value = report[key]
        if key in ("hosts", "problems") and value:
            stream.write("[")
            for index, item in enumerate(value):
                stream.write("%s\n    %s" % ("," if index else "", json.dumps(item, sort_keys=True)))
            stream.write("\n  ]")
        else:
            stream.write(json.dumps(value, sort_keys=True))
    stream.write("\n}\n")


def to_json(report: t.Mapping[str, t.Any]) -> str:
    return _text(write_json, report)


# --- JUnit ----------------------------------------------------------------------------------

def _xml(value: t.Any) -> str:
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def _case_failure(check: t.Mapping[str, t.Any], post: bool) -> t.Optional[t.Tuple[str, str, str]]:
    """(element, message, body) for a failing test case, or None when it passes."""
    if check["regressions"]:
        lines = [str(r["message"]) for r in check["regressions"]]
        return "failure", "regressed: " + "; ".join(lines), "\n".join(lines)
    if check["status"] == "error":
        return "error", "; ".join(check["failures"]) or "error", "\n".join(check["failures"])
    if check["status"] == "fail" and not post:
        return "failure", "; ".join(check["failures"]) or "fail", "\n".join(check["failures"])
    return None


def case_seconds(check: t.Mapping[str, t.Any]) -> float:
    """A test case's ``time``: the probe's run time, a drill's phases added up, else 0."""
    elapsed = check.get("elapsed_ms")
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and elapsed >= 0:
        return elapsed / 1000.0
    timeline = (check.get("expect") or {}).get("timeline") if check["kind"] == "drill" else None
    if isinstance(timeline, t.Mapping):
        return float(sum(v for v in timeline.values() if _number(v) and v >= 0))
    return 0.0


def _number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds_text(seconds: float) -> str:
    return "%.3f" % seconds


def _check_case(suite: ET.Element, host: str, check: t.Mapping[str, t.Any], post: bool, counts: t.Dict[str, float]) -> None:
    seconds = case_seconds(check)
    case = ET.SubElement(suite, "testcase", classname=_xml("%s.%s" % (host, check["kind"])),
                         name=_xml("%s %s" % (check["kind"], check["target"])), time=_seconds_text(seconds))
    counts["tests"] += 1
    counts["time"] += seconds
    failure = _case_failure(check, post)
    if failure is not None:
        element, message, body = failure
        ET.SubElement(case, element, message=_xml(message), type=check["kind"]).text = _xml(body)
        counts["failures" if element == "failure" else "errors"] += 1
    elif check["status"] != "pass":
        ET.SubElement(case, "skipped", message=_xml("; ".join(check["notes"] or check["failures"])))
        counts["skipped"] += 1
    out = [json.dumps(check["measured"], sort_keys=True)] if check["measured"] is not None else []
    out += [str(note) for note in check["notes"] or []]
    if out:
        ET.SubElement(case, "system-out").text = _xml("\n".join(out))


def _host_suite(root: ET.Element, host: t.Mapping[str, t.Any], report: t.Mapping[str, t.Any]) -> t.Dict[str, float]:
    post = report.get("phase") == "post"
    suite = ET.SubElement(root, "testsuite", name=_xml(host["name"]), timestamp=report["generated_at"])
    counts: t.Dict[str, float] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for check in host["checks"]:
        _check_case(suite, host["name"], check, post, counts)
    if host.get("error"):
        case = ET.SubElement(suite, "testcase", classname=_xml("%s.host" % host["name"]), name="host", time="0.000")
        ET.SubElement(case, "error", message=_xml(host["error"]))
        counts["tests"] += 1
        counts["errors"] += 1
    drift = host.get("drift")
    if drift is not None:
        case = ET.SubElement(suite, "testcase", classname=_xml("%s.drift" % host["name"]), name="policy drift",
                             time="0.000")
        counts["tests"] += 1
        if drift["drifted"]:
            lines = [str(f["message"]) for f in drift["findings"]]
            ET.SubElement(case, "failure", message=_xml("drift: " + "; ".join(lines)), type="drift").text = _xml(
                "\n".join(lines))
            counts["failures"] += 1
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(int(counts[key])))
    suite.set("time", _seconds_text(counts["time"]))
    return counts


def write_junit(report: t.Mapping[str, t.Any], stream: t.TextIO) -> None:
    """One ``testsuite`` per host, one ``testcase`` per host and check (plus one for drift).

    Valid against Jenkins xunit's ``junit-10.xsd``: ``skipped`` is counted per suite
    only (the schema has no such attribute on ``testsuites``) and every case has a
    ``time``. In a post-change run a check that failed before the change too is
    *skipped* with the reason (it is not this change's fault); regressions are failures.
    """
    root = ET.Element("testsuites", name=_xml("netdevops.icmp %s" % report["title"]))
    totals = {"tests": 0.0, "failures": 0.0, "errors": 0.0, "time": 0.0}
    for host in report["hosts"]:
        counts = _host_suite(root, host, report)
        for key in totals:
            totals[key] += counts[key]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(int(totals[key])))
    root.set("time", _seconds_text(totals["time"]))
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    ET.ElementTree(root).write(stream, encoding="unicode")
    stream.write("\n")


def to_junit(report: t.Mapping[str, t.Any]) -> str:
    return _text(write_junit, report)


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
    "capture_packets_total": ("counter", "ICMP packets a capture on the host saw during the run, per family, type, "
                              "code and direction (in, out)."),
    "policy_rule_hits_total": ("counter", "Packets a rule of the host's ICMP policy matched (rule: its position in "
                               "the policy), from the policy's counters."),
    "policy_rule_dropped_total": ("counter", "Packets a rule of the host's ICMP policy dropped (a drop rule: all it "
                                  "matched; a rate-limited accept: those over the rate)."),
    "host_passed": ("gauge", "1 when the host passed the run."),
    "last_run_timestamp_seconds": ("gauge", "Unix time of the last run, per host and report (kind and phase)."),
}


def _escape(value: t.Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: t.Mapping[str, t.Any]) -> str:
    return "{" + ",".join('%s="%s"' % (key, _escape(value)) for key, value in labels.items()) + "}"


def _value(value: t.Union[int, float]) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


Sample = t.Tuple[t.Dict[str, t.Any], t.Union[int, float]]


def _lines(report: t.Mapping[str, t.Any]) -> t.Dict[str, t.List[str]]:
    """Sample lines per metric family. Each host's samples are formatted as soon as they are
    found, so the writer holds about the size of its output, not a dict per sample."""
    lines: t.Dict[str, t.List[str]] = {name: [] for name in _HELP}
    run = {"report": report_label(report)}
    if report.get("slice"):
        run["slice"] = report["slice"]
    for host in report["hosts"]:
        for suffix, found in _host_samples(report, host).items():
            name = METRIC_PREFIX + suffix
            lines[suffix].extend("%s%s %s" % (name, _labels(dict(labels, **run)), _value(value)) for labels, value in found)
    return lines


def _host_samples(report: t.Mapping[str, t.Any], host: t.Mapping[str, t.Any]) -> t.Dict[str, t.List[Sample]]:
    out: t.Dict[str, t.List[Sample]] = {name: [] for name in _HELP}
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
    for row in (host.get("capture") or {}).get("by_type", []):
        out["capture_packets_total"].append(({"host": name, "family": row["family"], "type": row["type"],
                                              "code": row["code"], "direction": row["direction"]}, row["packets"]))
    for suffix, labels, value in hits.samples(name, host.get("policy_hits")):
        out[suffix].append((labels, value))
    out["host_passed"].append(({"host": name}, int(host["status"] == "pass")))
    out["last_run_timestamp_seconds"].append(({"host": name}, report["timestamp"]))
    return out


def report_label(report: t.Mapping[str, t.Any]) -> str:
    """The ``report`` label of every sample: the run kind and phase (``change_validation_pre``,
    ``drift_check``, ...), so the files of different runs in one textfile directory never
    expose the same series twice; the ``slice`` label does the same for the slices of one run."""
    return report["kind"] + ("_%s" % report["phase"] if report.get("phase") else "")


def _check_samples(out: t.Dict[str, t.List[Sample]], host: str, check: t.Mapping[str, t.Any]) -> None:
    measured = check["measured"]
    labels = {"host": host, "target": check["target"]}
    if check["kind"] == "drill":
        timeline = (check.get("expect") or {}).get("timeline")
        for key, seconds in sorted(timeline.items() if isinstance(timeline, t.Mapping) else []):
            if _number(seconds):
                out["drill_phase_seconds"].append((dict(labels, phase=str(key).replace("_s", "")), seconds))
        return
    if measured is None:
        return
    if check["kind"] == "ping":
        if _number(measured.get("loss_pct")):
            out["ping_loss_ratio"].append((labels, measured["loss_pct"] / 100.0))
        out["ping_reachable"].append((labels, int(bool(measured.get("reachable")))))
        rtt = measured.get("rtt_ms") or {}  # null without replies in hand-made results
        for stat in ("min", "avg", "max", "mdev"):
            if _number(rtt.get(stat)):
                out["ping_rtt_seconds"].append((dict(labels, stat=stat), rtt[stat] / 1000.0))
    elif check["kind"] == "traceroute":
        out["traceroute_hops"].append((labels, measured["hop_count"]))
        out["traceroute_reached"].append((labels, int(measured["reached"])))
    elif check["kind"] == "pmtud":
        if _number(measured.get("path_mtu")):
            out["path_mtu_bytes"].append((labels, measured["path_mtu"]))
        out["pmtud_black_hole"].append((labels, int(measured["black_hole"])))


def write_prometheus(report: t.Mapping[str, t.Any], stream: t.TextIO) -> None:
    """Text exposition format 0.0.4, for node_exporter's textfile collector."""
    for suffix, lines in _lines(report).items():
        if not lines:
            continue
        kind, text = _HELP[suffix]
        name = METRIC_PREFIX + suffix
        stream.write("# HELP %s %s\n# TYPE %s %s\n" % (name, text, name, kind))
        for line in lines:
            stream.write(line + "\n")


def to_prometheus(report: t.Mapping[str, t.Any]) -> str:
    return _text(write_prometheus, report)


def metric_names() -> t.List[str]:
    """Every metric family the Prometheus writer can write."""
    return [METRIC_PREFIX + suffix for suffix in _HELP]
