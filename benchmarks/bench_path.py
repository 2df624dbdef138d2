#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side path benchmark in a lab chain: traceroute and PMTUD against the usual tools.

Builds the shipped ``chain`` topology (h1 - r1..r6 - h2, links at 1400 and 1280) with the
lab engine, runs every tool as a child process inside h1 (whole-process wall time), checks
each answer against the topology, and tears the lab down. Scenarios:

1. trace to h2 (7 hops): ours (icmp, udp) vs ``traceroute -n``, ``traceroute -n -I``,
   ``mtr -r -c1 -n`` and ``scamper trace -P icmp-paris``;
2. unresponsive tail (blackhole route in r4): time to give up;
3. PMTUD on the normal path: ours vs ``tracepath -n``;
4. PMTUD black hole (r4 drops its frag-needed): ours vs ``tracepath -n`` and ``scamper trace -M``.

Routers keep Linux's default ICMP rate limits (burst 6, one per second towards h1), so the
script waits ``--settle`` seconds between tools: otherwise each tool would pay for the
tokens the previous one spent. Slow tools run once, capped with ``timeout``.

    sudo .venv/bin/python benchmarks/bench_path.py [--runs 3]   # writes results/path.{json,md}
    sudo .venv/bin/python benchmarks/bench_path.py --only pmtud  # PMTUD scenarios; keeps the others

Not a test: numbers depend on the machine. Sends packets only inside the lab it builds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.inventory import (  # noqa: E402
    link_facts,
    node_addresses,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner  # noqa: E402

import yaml  # noqa: E402

OURS = r"""
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import traceroute, pmtud
kind, target, method = sys.argv[1:4]
if kind == "trace":
    report = traceroute.run_trace(traceroute.TraceRequest(target, method=method))
else:
    report = pmtud.measure(pmtud.PmtuRequest(target, method=method))
print(json.dumps(report.as_dict()))
"""
BLACK_HOLE = """
table inet bench_black_hole {
  chain out {
    type filter hook output priority 0;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
"""
IP = r"(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)"


class Lab:
    def __init__(self, name: str) -> None:
        spec = yaml.safe_load((ROOT / "roles" / "lab" / "files" / "topologies" / "chain.yml").read_text())
        self.topology = parse_topology(spec, name=name)
        self.engine = LabEngine(SubprocessRunner())
        self.engine.up(self.topology)

    def ns(self, node: str) -> str:
        return self.topology.node(node).netns

    def address(self, node: str) -> str:
        return node_addresses(self.topology, node)["ipv4"][0]

    def path(self) -> t.List[str]:
        return [str(link["b_addresses"]["ipv4"]) for link in link_facts(self.topology)]

    def sh(self, node: str, argv: t.List[str], stdin: t.Optional[str] = None) -> None:
        subprocess.run(["ip", "netns", "exec", self.ns(node)] + argv, input=stdin, text=True, check=True,
                       capture_output=True)

    def down(self) -> None:
        self.engine.down(self.topology.name)


def timed(lab: Lab, argv: t.List[str], cap_s: float) -> t.Tuple[float, str, bool]:
    """Wall seconds, stdout, and whether the cap killed it."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(["ip", "netns", "exec", lab.ns("h1"), "timeout", str(cap_s)] + argv,
                              capture_output=True, text=True, check=False)
    except OSError as err:
        return 0.0, str(err), False
    return time.perf_counter() - start, proc.stdout, proc.returncode == 124


def hops_from_text(tool: str, text: str) -> t.List[t.Optional[str]]:
    """The first responding address per hop line of traceroute / mtr / scamper output."""
    hops: t.List[t.Optional[str]] = []
    pattern = r"^\s*\d+\.\|--\s+(\S+)" if tool == "mtr" else r"^\s*\d+\s+(.*)$"
    for line in text.splitlines():
        match = re.match(pattern, line)
        if not match:
            continue
        found = re.search(IP, match.group(1))
        hops.append(found.group(1) if found and found.group(1) != "???" else None)
    return hops


def tools_trace(target: str, ours: t.List[str]) -> t.Dict[str, t.List[str]]:
    return {
        "netdevops.icmp (icmp)": ours + ["trace", target, "icmp"],
        "netdevops.icmp (udp)": ours + ["trace", target, "udp"],
        "traceroute -n": ["traceroute", "-n", target],
        "traceroute -n -I": ["traceroute", "-n", "-I", target],
        "mtr -r -c1 -n": ["mtr", "-r", "-c1", "-n", target],
        "scamper trace icmp-paris": ["scamper", "-O", "text", "-c", "trace -P icmp-paris", "-i", target],
    }


def run_trace_tools(lab: Lab, args: argparse.Namespace, ours: t.List[str], tail: bool) -> t.List[t.Dict[str, t.Any]]:
    target = lab.address("h2")
    want = lab.path()[:3] + [None, None, None] if tail else lab.path()
    rows = []
    for tool, argv in tools_trace(target, ours).items():
        runs = 1 if tail and not tool.startswith("netdevops") else args.runs
        times, correct, capped = [], [], False
        for _run in range(runs):
            time.sleep(args.settle)
            wall, out, killed = timed(lab, argv, 100)
            capped = capped or killed
            if tool.startswith("netdevops"):
                path = json.loads(out)["path"] if out.strip() else []
            else:
                path = hops_from_text("mtr" if tool.startswith("mtr") else tool, out)
            got = path[: len(want)] if tail else path
            correct.append(got == want if not tail else got[:3] == want[:3])
            times.append(wall)
        rows.append({"tool": tool, "median_s": statistics.median(times), "runs": runs,
                     "correct": all(correct), "capped": capped})
    return rows


def run_pmtud_tools(lab: Lab, args: argparse.Namespace, ours: t.List[str], hole: bool) -> t.List[t.Dict[str, t.Any]]:
    target = lab.address("h2")
    tools = {
        "netdevops.icmp (icmp)": ours + ["pmtud", target, "icmp"],
        "netdevops.icmp (udp)": ours + ["pmtud", target, "udp"],
        "tracepath -n": ["tracepath", "-n", target],
    }
    if hole:
        tools["scamper trace -M"] = ["scamper", "-O", "text", "-c", "trace -M -P udp-paris", "-i", target]
    rows = []
    for tool, argv in tools.items():
        runs = args.runs if tool.startswith("netdevops") or not hole else 1
        times, answers, capped, flagged = [], [], False, False
        for _run in range(runs):
            lab.sh("h1", ["ip", "route", "flush", "cache"])  # pitfall 9: no learnt PMTU
            time.sleep(args.settle)
            wall, out, killed = timed(lab, argv, 100)
            capped = capped or killed
            times.append(wall)
            if tool.startswith("netdevops"):
                data = json.loads(out) if out.strip() else {}
                answers.append(data.get("path_mtu"))
                flagged = bool(data.get("black_hole"))
            elif tool.startswith("tracepath"):
                found = re.search(r"pmtu (\d+)", out.split("Resume:")[-1]) if "Resume:" in out else None
                answers.append(int(found.group(1)) if found else None)
            else:
                found = re.findall(r"\[\*?mtu: (\d+)\]", out)
                answers.append(int(found[-1]) if found else None)
                flagged = "[*mtu" in out
        rows.append({"tool": tool, "median_s": statistics.median(times), "runs": runs, "path_mtu": answers[-1],
                     "correct": all(a == 1280 for a in answers), "flagged_black_hole": flagged, "capped": capped})
    return rows


def markdown(results: t.Dict[str, t.Any]) -> str:
    lines = ["# Path benchmark (traceroute, PMTUD)", "",
             "Lab: shipped `chain` topology (h1 - r1..r6 - h2, 7 hops, links at 1400 and 1280), "
             "Linux default ICMP rate limits on every router, %s s settle time between tool runs. "
             "Whole-process wall time, median of the runs shown; slow tools once, capped at 100 s. "
             "Host: %s, kernel %s, Python %s." % (results["settle_s"], results["machine"], results["kernel"],
                                                  results["python"]), ""]
    for name, rows in results["scenarios"].items():
        lines += ["## %s" % name, "", "| tool | wall time (s) | runs | correct | notes |", "|---|---|---|---|---|"]
        ours = min((r["median_s"] for r in rows if r["tool"].startswith("netdevops")), default=None)
        for row in rows:
            notes = []
            if "path_mtu" in row:
                notes.append("path_mtu %s" % row["path_mtu"])
            if row.get("flagged_black_hole"):
                notes.append("black hole flagged")
            if row["capped"]:
                notes.append("killed at the 100 s cap")
            if ours and not row["tool"].startswith("netdevops") and row["median_s"]:
                notes.append("%.1fx ours" % (row["median_s"] / ours))
            verdict = "yes" if row["correct"] else "**no**"
            lines.append("| %s | %.3f | %d | %s | %s |" % (row["tool"], row["median_s"], row["runs"], verdict, ", ".join(notes)))
        lines.append("")
    return "\n".join(lines)


def run_scenarios(lab: Lab, args: argparse.Namespace, ours: t.List[str], scenarios: t.Dict[str, t.Any]) -> None:
    trace, pmtu = args.only in ("all", "trace"), args.only in ("all", "pmtud")
    if trace:
        scenarios["Trace to h2 (7 hops)"] = run_trace_tools(lab, args, ours, tail=False)
    if pmtu:
        scenarios["PMTUD, normal path (PMTU 1280)"] = run_pmtud_tools(lab, args, ours, hole=False)
        lab.sh("r4", ["nft", "-f", "-"], stdin=BLACK_HOLE)
        scenarios["PMTUD, black hole at r4 (PMTU 1280, frag-needed dropped)"] = run_pmtud_tools(
            lab, args, ours, hole=True)
        lab.sh("r4", ["nft", "delete", "table", "inet", "bench_black_hole"])
    if trace:
        prefix = str(link_facts(lab.topology)[-1]["ipv4"])
        lab.sh("r4", ["ip", "route", "replace", "blackhole", prefix])
        scenarios["Unresponsive tail (blackhole route at r4): time to give up"] = run_trace_tools(
            lab, args, ours, tail=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds between runs (router token refill)")
    parser.add_argument("--only", choices=["all", "trace", "pmtud"], default="all",
                        help="run only these scenarios; the others keep their rows from results/path.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: it builds network namespaces", file=sys.stderr)
        return 2
    ours = ["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable, "-c",
            OURS % {"collections": str(ROOT / ".build" / "collections")}]
    lab = Lab("bp%d" % (os.getpid() % 10000))
    results: t.Dict[str, t.Any] = {"settle_s": args.settle, "machine": platform.machine(),
                                   "kernel": platform.release(), "python": platform.python_version(),
                                   "scenarios": {}}
    out = HERE / "results"
    if args.only != "all" and (out / "path.json").is_file():
        results["scenarios"] = json.loads((out / "path.json").read_text())["scenarios"]
    try:
        run_scenarios(lab, args, ours, results["scenarios"])
    finally:
        lab.down()
    out.mkdir(exist_ok=True)
    (out / "path.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "path.md").write_text(markdown(results) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
