# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One self-contained HTML page: no server, no network, inline CSS and JS only.

The page is rendered here, not by JavaScript, so it reads the same with scripts
off; the small inline script only filters to the hosts with problems. Matrix
cells carry ``data-host``, ``data-target`` and ``data-state`` for tests and for
people who scrape it.
"""
from __future__ import annotations

import html
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report.checks import _fmt

_CSS = """
:root{--ok:#1f9d55;--ok-bg:#e3f6ea;--warn:#b7791f;--warn-bg:#fdf3dc;--bad:#c53030;--bad-bg:#fde8e8;
--down:#4a5568;--down-bg:#edf2f7;--ink:#1a202c;--mute:#718096;--line:#e2e8f0}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
margin:0;background:#f7fafc}header{background:#1a202c;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px;font-weight:600}header .meta{color:#cbd5e0;font-size:12px;margin-top:4px}
main{padding:20px 28px;max-width:1400px}section{background:#fff;border:1px solid var(--line);border-radius:8px;
padding:16px 20px;margin-bottom:18px}h2{font-size:16px;margin:0 0 12px}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600}
.badge.pass{background:var(--ok-bg);color:var(--ok)}.badge.fail,.badge.error{background:var(--bad-bg);color:var(--bad)}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1 1 130px;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:22px}.card span{color:var(--mute);font-size:12px}
table{border-collapse:collapse;width:100%}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;
vertical-align:top}th{font-size:12px;color:var(--mute);font-weight:600}
table.matrix td.cell{text-align:center;font-variant-numeric:tabular-nums;border:2px solid #fff;border-radius:6px;min-width:120px}
td.ok{background:var(--ok-bg);color:var(--ok)}td.warn{background:var(--warn-bg);color:var(--warn)}
td.bad{background:var(--bad-bg);color:var(--bad);font-weight:600}td.down{background:var(--down-bg);color:var(--down)}
td.none{color:#cbd5e0}.small{font-size:12px;color:var(--mute)}.path{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.hop{display:inline-block;padding:1px 6px;margin:1px;border-radius:4px;background:var(--down-bg)}
.hop.changed{background:var(--bad-bg);color:var(--bad)}ul.problems{margin:0;padding-left:18px}
ul.problems li{color:var(--bad);margin:2px 0}.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;
height:12px;border-radius:3px;vertical-align:-1px;margin-right:4px}label{font-size:13px;color:var(--mute)}
"""

_JS = """
document.getElementById('only-problems').addEventListener('change', function (event) {
  document.querySelectorAll('[data-host-status]').forEach(function (row) {
    row.style.display = event.target.checked && row.getAttribute('data-host-status') === 'pass' ? 'none' : '';
  });
});
"""


def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def cell_state(check: t.Mapping[str, t.Any]) -> str:
    """ok | warn | bad | down: the colour of a matrix cell."""
    measured = check["measured"]
    if check["status"] != "pass" or check["regressions"]:
        return "bad"
    if measured is None:
        return "bad"
    if not measured["reachable"]:
        return "down"  # expected unreachable, and it is
    loss, avg = measured["loss_pct"] or 0, measured["rtt_ms"]["avg"]
    limit = check["expect"].get("max_rtt_ms")
    if loss > 0 or (limit and avg is not None and avg > limit / 2.0):
        return "warn"
    return "ok"


def _cell_text(check: t.Mapping[str, t.Any]) -> str:
    measured = check["measured"]
    if measured is None:
        return "error"
    avg = measured["rtt_ms"]["avg"]
    text = "%s%% loss" % _fmt(measured["loss_pct"])
    return text + (" &middot; %s ms" % _fmt(round(avg, 3)) if avg is not None else "")


def _checks_of(hosts: t.Sequence[t.Mapping[str, t.Any]], kind: str) -> t.Iterator[t.Tuple[t.Mapping[str, t.Any], t.Mapping[str, t.Any]]]:
    """(host, check) for every check of one kind, in report order."""
    for host in hosts:
        for check in host["checks"]:
            if check["kind"] == kind:
                yield host, check


def _matrix(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    targets: t.List[str] = []
    for _host, check in _checks_of(hosts, "ping"):
        if check["target"] not in targets:
            targets.append(check["target"])
    if not targets:
        return "<p class='small'>No ping checks in this run.</p>"
    rows = ["<tr><th>host \\ target</th>%s</tr>" % "".join("<th>%s</th>" % _e(x) for x in targets)]
    for host in hosts:
        pings = {c["target"]: c for c in host["checks"] if c["kind"] == "ping"}
        cells = []
        for target in targets:
            check = pings.get(target)
            if check is None:
                cells.append("<td class='cell none' data-host='%s' data-target='%s' data-state='none'>&ndash;</td>"
                             % (_e(host["name"]), _e(target)))
                continue
            state = cell_state(check)
            tip = "; ".join([r["message"] for r in check["regressions"]] + check["failures"]) or "meets its thresholds"
            cells.append("<td class='cell %s' data-host='%s' data-target='%s' data-state='%s' title='%s'>%s</td>"
                         % (state, _e(host["name"]), _e(target), state, _e(tip), _cell_text(check)))
        rows.append("<tr data-host-status='%s'><th>%s</th>%s</tr>" % (_e(host["status"]), _e(host["name"]), "".join(cells)))
    legend = ("<p class='legend small'><span><i style='background:var(--ok-bg);border:1px solid var(--ok)'></i>reachable, "
              "no loss</span><span><i style='background:var(--warn-bg);border:1px solid var(--warn)'></i>loss or RTT over half "
              "the limit</span><span><i style='background:var(--bad-bg);border:1px solid var(--bad)'></i>failed or "
              "regressed</span><span><i style='background:var(--down-bg);border:1px solid var(--down)'></i>unreachable as "
              "expected</span></p>")
    return "<table class='matrix' id='matrix'>%s</table>%s" % ("".join(rows), legend)


def _hops(check: t.Mapping[str, t.Any]) -> str:
    path = check["measured"]["path"]
    before = (check.get("baseline") or {}).get("path") or []
    out = []
    for index, hop in enumerate(path):
        old = before[index] if index < len(before) else None
        changed = bool(before) and hop is not None and old is not None and old != hop
        out.append("<span class='hop%s' title='%s'>%s</span>" % (" changed" if changed else "",
                   _e("was %s" % old) if changed else "", _e(hop or "*")))
    return " &rsaquo; ".join(out) or "<span class='small'>no hops</span>"


def _paths(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    rows = []
    for host, check in _checks_of(hosts, "traceroute"):
        measured = check["measured"]
        body = _hops(check) if measured else "<span class='small'>%s</span>" % _e("; ".join(check["failures"]))
        rows.append("<tr data-host-status='%s'><td>%s</td><td>%s</td><td class='path'>%s</td><td>%s</td></tr>"
                    % (_e(host["status"]), _e(host["name"]), _e(check["target"]), body, _status(check)))
    if not rows:
        return "<p class='small'>No traceroute checks in this run.</p>"
    return "<table id='paths'><tr><th>host</th><th>target</th><th>path</th><th>result</th></tr>%s</table>" % "".join(rows)


def _mtus(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    rows = []
    for host, check in _checks_of(hosts, "pmtud"):
        measured = check["measured"] or {}
        before = (check.get("baseline") or {}).get("path_mtu")
        rows.append("<tr data-host-status='%s'><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td>%s</td></tr>" % (
                        _e(host["status"]), _e(host["name"]), _e(check["target"]), _e(measured.get("path_mtu")),
                        _e(before), _e(measured.get("reported_by") or ""),
                        "yes" if measured.get("black_hole") else "no", _status(check)))
    if not rows:
        return "<p class='small'>No PMTUD checks in this run.</p>"
    return ("<table id='mtus'><tr><th>host</th><th>target</th><th>path MTU</th><th>baseline</th><th>reported by</th>"
            "<th>black hole</th><th>result</th></tr>%s</table>" % "".join(rows))


def _drift(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    rows = []
    for host in hosts:
        drift = host.get("drift")
        if drift is None:
            continue
        if drift["drifted"]:
            items = "".join("<li><b>%s</b>: %s</li>" % (_e(f["kind"]), _e(f["message"])) for f in drift["findings"])
            body, badge = "<ul class='problems'>%s</ul>" % items, "<span class='badge fail'>drift</span>"
        else:
            body, badge = "<span class='small'>matches the desired policy</span>", "<span class='badge pass'>in sync</span>"
        rows.append("<tr data-host-status='%s' data-drift-host='%s'><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                    % (_e(host["status"]), _e(host["name"]), _e(host["name"]), _e(drift["backend"]), badge, body))
    if not rows:
        return "<p class='small'>No drift check in this run.</p>"
    return "<table id='drift'><tr><th>host</th><th>backend</th><th>state</th><th>findings</th></tr>%s</table>" % "".join(rows)


def _seconds(value: t.Any) -> str:
    return "&ndash;" if value is None else "%s s" % _e(_fmt(value))


def _drills(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    rows = []
    for host, check in _checks_of(hosts, "drill"):
        timeline = check["expect"].get("timeline") or {}
        diagnosis = (check["measured"] or {}).get("diagnosis") or ""
        rows.append("<tr data-host-status='%s' data-drill='%s'><td>%s</td><td>%s</td><td class='diagnosis'>%s</td>"
                    "<td>%s</td><td>%s</td><td>%s</td></tr>" % (
                        _e(host["status"]), _e(check["expect"].get("drill")), _e(check["expect"].get("drill")),
                        _status(check), _e(diagnosis), _seconds(timeline.get("inject_s")),
                        _seconds(timeline.get("detect_s")), _seconds(timeline.get("recover_s"))))
    return ("<section><h2>Disaster drills</h2><table id='drills'><tr><th>drill</th><th>result</th><th>diagnosis</th>"
            "<th>inject</th><th>detect</th><th>recover</th></tr>%s</table></section>" % "".join(rows)) if rows else ""


def _status(check: t.Mapping[str, t.Any]) -> str:
    if check["regressions"]:
        return "<span class='badge fail'>regressed</span> <span class='small'>%s</span>" % _e(
            "; ".join(r["message"] for r in check["regressions"]))
    if check["status"] != "pass":
        return "<span class='badge fail'>%s</span> <span class='small'>%s</span>" % (
            _e(check["status"]), _e("; ".join(check["failures"])))
    return "<span class='badge pass'>pass</span>"


def to_html(report: t.Mapping[str, t.Any]) -> str:
    summary = report["summary"]
    cards = [("hosts", summary["hosts"]), ("hosts failed", summary["hosts_failed"]), ("checks", summary["checks"]),
             ("checks failed", summary["checks_failed"]), ("regressions", summary["regressions"]),
             ("hosts drifted", summary["hosts_drifted"])]
    problems = "".join("<li>%s</li>" % _e(line) for line in report["problems"])
    meta = "%s &middot; run %s &middot; generated %s &middot; schema %s" % (
        _e(report["kind"]), _e(report["run_id"] or "-"), _e(report["generated_at"]), _e(report["schema_version"]))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>%s</title><style>%s</style></head><body>" % (_e(report["title"]), _CSS),
        "<header><h1>%s <span class='badge %s' id='status'>%s</span></h1><div class='meta'>%s</div></header><main>"
        % (_e(report["title"]), _e(report["status"]), _e(report["status"].upper()), meta),
        "<section><div class='cards'>%s</div>" % "".join("<div class='card'><b>%s</b><span>%s</span></div>" % (v, _e(k))
                                                         for k, v in cards),
        ("<h2 style='margin-top:14px'>Problems</h2><ul class='problems' id='problems'>%s</ul>" % problems)
        if problems else "<p class='small' id='problems'>No problems.</p>",
        "</section>",
        _drills(report["hosts"]),
        "<section><h2>Reachability</h2><label><input type='checkbox' id='only-problems'> only hosts with problems"
        "</label>%s</section>" % _matrix(report["hosts"]),
        "<section><h2>Traced paths</h2>%s</section>" % _paths(report["hosts"]),
        "<section><h2>Path MTU</h2>%s</section>" % _mtus(report["hosts"]),
        "<section><h2>Policy drift</h2>%s</section>" % _drift(report["hosts"]),
        "</main><script>%s</script></body></html>\n" % _JS,
    ]
    return "".join(parts)
