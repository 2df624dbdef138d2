# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Report writers at fleet scale: time, peak memory and file size at 1,000 and 5,000 synthetic hosts.

    .venv/bin/python benchmarks/bench_reports.py [--hosts 1000 5000] [--baseline REV]

Writes results/reports.json and prints a Markdown table (results/reports.md is its summary).

No packets: the hosts are synthetic results (tests/unit/plugins/plugin_utils/_report/synthetic.py,
built through the real plan_checks path), 20 ping targets, one traceroute and one PMTUD
check per host, every 20th host broken. Two target layouts: ``shared`` (every host pings the
same 20 fleet peers) and ``own`` (every host pings 20 targets of its own, the case that made
the old HTML matrix hosts x distinct targets).

Each measurement runs in a fresh child process that loads the fleet from a JSON file, then
does what the report action does: build the report document (one host at a time through the
action's ``plain`` conversion) and write the JSON, JUnit, Prometheus and HTML files. Wall time
is per step; peak memory is the child's peak RSS (VmHWM) minus its RSS after loading the input, i.e.
what the report path adds on top of the results Ansible already holds (the peak is reset
after loading, through /proc/self/clear_refs).

``--baseline REV`` runs the same input through the report code of an earlier commit (extracted
with ``git archive`` into a temporary directory), for a before/after table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
LAYOUTS = ("shared", "own")
CHILD_TIMEOUT_S = 600

# The child: argv = collections root, module prefix of the report package, input JSON, output dir.
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
prefix, source, out = sys.argv[2], sys.argv[3], sys.argv[4]
import importlib
model = importlib.import_module(prefix + ".model")
writers = importlib.import_module(prefix + ".writers")
html = importlib.import_module(prefix + ".html")

def status_kb(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))

with open(source) as stream:
    hosts = json.load(stream)
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak (VmHWM) to now: loading the input is not the report's cost
base_kb = status_kb("VmRSS")
steps = {}
started = time.perf_counter()
if "convert" in model.build_report.__code__.co_varnames:
    plain = lambda value: json.loads(json.dumps(value))
    report = model.build_report(hosts, kind="drift_check", run_id="bench", convert=plain)
else:
    report = model.build_report(json.loads(json.dumps(hosts)), kind="drift_check", run_id="bench")
steps["build"] = time.perf_counter() - started
sizes = {}
for name, ext in (("json", ".json"), ("junit", ".junit.xml"), ("prometheus", ".prom"), ("html", ".html")):
    path = os.path.join(out, "bench" + ext)
    started = time.perf_counter()
    streaming = getattr(writers, "write_" + name, None) or getattr(html, "write_" + name, None)
    with open(path, "w", encoding="utf-8") as stream:
        if streaming is not None:
            streaming(report, stream)
        else:
            stream.write((getattr(writers, "to_" + name, None) or getattr(html, "to_" + name))(report))
    steps[name] = time.perf_counter() - started
    sizes[name] = os.path.getsize(path)
peak_kb = status_kb("VmHWM")
print(json.dumps({"seconds": steps, "bytes": sizes, "peak_mb": (peak_kb - base_kb) / 1024.0}))
"""


def build_input(hosts: int, layout: str, directory: Path) -> Path:
    sys.path.insert(0, str(REPO / ".build" / "collections"))
    from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic

    path = directory / ("fleet-%s-%d.json" % (layout, hosts))
    path.write_text(json.dumps(synthetic.fleet(hosts, own=layout == "own")), encoding="utf-8")
    return path


def extract(rev: str, directory: Path) -> Path:
    """The collection at ``rev`` as ansible_collections/netdevops/icmp under ``directory``."""
    root = directory / "baseline"
    target = root / "ansible_collections" / "netdevops" / "icmp"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return root


def report_package(root: Path) -> str:
    for package in ("plugin_utils", "module_utils"):
        if (root / "ansible_collections" / "netdevops" / "icmp" / "plugins" / package / "_report").is_dir():
            return "ansible_collections.netdevops.icmp.plugins.%s._report" % package
    raise SystemExit("no _report package under %s" % root)


def measure(root: Path, source: Path, work: Path) -> t.Dict[str, t.Any]:
    out = Path(tempfile.mkdtemp(dir=str(work)))
    try:
        child = subprocess.run([sys.executable, "-c", CHILD, str(root), report_package(root), str(source), str(out)],
                               capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "did not finish within %d s" % CHILD_TIMEOUT_S}
    finally:
        for leftover in out.iterdir():
            leftover.unlink()
        out.rmdir()
    if child.returncode != 0:
        return {"error": (child.stderr.strip().splitlines() or ["exit %d" % child.returncode])[-1]}
    return t.cast(t.Dict[str, t.Any], json.loads(child.stdout))


def row(label: str, hosts: int, layout: str, found: t.Mapping[str, t.Any]) -> str:
    if "error" in found:
        return "| %s | %s | %s | %s |" % (label, "{:,}".format(hosts), layout, found["error"]) + " |" * 9
    seconds, sizes = found["seconds"], found["bytes"]
    cells = [label, "{:,}".format(hosts), layout, "%.1f" % sum(seconds.values()), "%.0f" % found["peak_mb"]]
    cells += ["%.1f" % seconds[name] for name in ("build", "json", "junit", "prometheus", "html")]
    cells += ["%.1f" % (sizes[name] / 1e6) for name in ("json", "html")]
    cells += ["%.2f" % (sizes["junit"] / 1e6 + sizes["prometheus"] / 1e6)]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--baseline", help="git revision to compare with (its report code)")
    parser.add_argument("--baseline-max-own", type=int, default=1000,
                        help="largest fleet to run the baseline's per-host-target layout with (it grows quadratically)")
    options = parser.parse_args()
    results: t.List[t.Dict[str, t.Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as temp:
        work = Path(temp)
        versions = [("this tree", REPO / ".build" / "collections")]
        if options.baseline:
            versions.append(("before (%s)" % options.baseline, extract(options.baseline, work)))
        for hosts in options.hosts:
            for layout in LAYOUTS:
                source = build_input(hosts, layout, work)
                for label, root in versions:
                    if label != "this tree" and layout == "own" and hosts > options.baseline_max_own:
                        found: t.Dict[str, t.Any] = {"error": "not run (grows quadratically; see %d hosts)"
                                                     % options.baseline_max_own}
                    else:
                        found = measure(root, source, work)
                    results.append({"version": label, "hosts": hosts, "layout": layout, **found})
                    print(row(label, hosts, layout, found), flush=True)
                source.unlink()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reports.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    header = ("| code | hosts | targets | total s | peak MB | build s | JSON s | JUnit s | Prometheus s | HTML s "
              "| JSON MB | HTML MB | JUnit+Prom MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [row(r["version"], r["hosts"], r["layout"], r) for r in results]
    print(header + "\n" + "\n".join(lines))
    print("wrote %s; the summary for people is results/reports.md" % (RESULTS / "reports.json"))


if __name__ == "__main__":
    main()
