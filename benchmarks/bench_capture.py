#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture under an ICMP flood: netdevops.icmp.capture beside tcpdump, in the default lab.

h2 floods h1 with echo requests at ``--pps`` (a paced raw-socket sender); h1 answers
every one, so h1's link carries twice that rate of ICMP. Each tool in turn listens on
h1's link for the whole flood, with its in-kernel filter on, and we count what it got
against what was sent, the kernel's drops for its socket, and its CPU time.

    sudo .venv/bin/python benchmarks/bench_capture.py [--pps 50000] [--seconds 5] [--runs 3]

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
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.inventory import link_facts, node_addresses  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner  # noqa: E402

import yaml  # noqa: E402

SENDER = r"""
import socket, struct, sys, time
target, pps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def packet(seq):
    header = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq & 0xFFFF) + b"netdevops-bench!"
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    total = (total >> 16) + (total & 0xFFFF); total += total >> 16
    return header[:2] + struct.pack("!H", ~total & 0xFFFF) + header[4:]
packets = [packet(n) for n in range(65536)]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
sent, start, batch = 0, time.monotonic(), max(1, pps // 1000)
total = int(pps * seconds)
while sent < total:
    for _ in range(min(batch, total - sent)):
        try:
            s.sendto(packets[sent & 0xFFFF], (target, 0)); sent += 1
        except BlockingIOError:
            pass
    ahead = start + sent / pps - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
print(sent, round(time.monotonic() - start, 3))
"""
OURS = r"""
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.netdevops.icmp.plugins.module_utils._capture import options, run
print(json.dumps(run.run(options.build({"interface": sys.argv[1], "duration": float(sys.argv[2]),
                                        "family": "ipv4"}))))
"""


def _netns(name: str) -> t.List[str]:
    return ["ip", "netns", "exec", name]


def _cpu_of(proc: "subprocess.Popen[str]") -> t.Tuple[int, str, float]:
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, proc.stdout.read() if proc.stdout else "", usage.ru_utime + usage.ru_stime


def _flood(topology: t.Any, pps: int, seconds: float) -> t.Tuple[int, float]:
    target = node_addresses(topology, "h1")["ipv4"][0]
    out = subprocess.run(_netns(topology.node("h2").netns) + [sys.executable, "-c", SENDER, target, str(pps),
                                                              str(seconds)], capture_output=True, text=True, check=True)
    sent, elapsed = out.stdout.split()
    return int(sent), float(elapsed)


def run_tool(tool: str, topology: t.Any, iface: str, pps: int, seconds: float) -> t.Dict[str, t.Any]:
    ns = _netns(topology.node("h1").netns)
    listen = seconds + 2.0
    if tool == "ours":
        argv = ns + [sys.executable, "-c", OURS % {"collections": str(ROOT / ".build" / "collections")}, iface, str(listen)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    else:
        argv = ns + ["timeout", "-s", "INT", str(listen), "tcpdump", "-i", iface, "-n", "-w", "/dev/null",
                     "-B", "32768", "icmp"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    sent, flood_s = _flood(topology, pps, seconds)
    code, out, cpu = _cpu_of(proc)
    err = proc.stderr.read() if proc.stderr else ""
    if tool == "ours":
        data = json.loads(out)
        seen, drops = data["packets"], data["kernel"]["drops"]
    else:
        seen = int(re.search(r"(\d+) packets captured", err).group(1))
        drops = int(re.search(r"(\d+) packets dropped by kernel", err).group(1))
    return {"tool": tool, "sent": sent, "flood_s": flood_s, "expected": 2 * sent, "seen": seen, "drops": drops,
            "cpu_s": round(cpu, 3), "rc": code}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--pps", type=int, default=50000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    spec = yaml.safe_load((ROOT / "roles" / "lab" / "files" / "topologies" / "default.yml").read_text())
    topology = parse_topology(spec, name="bcap%d" % (os.getpid() % 10000))
    engine = LabEngine(SubprocessRunner())
    engine.up(topology)
    try:
        iface = next(link["a_ifname"] if link["a"] == "h1" else link["b_ifname"] for link in link_facts(topology)
                     if "h1" in (link["a"], link["b"]))
        rows = [run_tool(tool, topology, iface, args.pps, args.seconds)
                for _run in range(args.runs) for tool in ("ours", "tcpdump")]
    finally:
        engine.down(topology.name)
    write(rows, args)
    return 0


def write(rows: t.List[t.Dict[str, t.Any]], args: t.Any) -> None:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "capture.json").write_text(json.dumps({"rows": rows, "pps": args.pps, "seconds": args.seconds,
                                                      "machine": platform.platform(), "cpus": os.cpu_count()},
                                                     indent=1) + "\n")
    lines = ["# Capture under an ICMP flood (%d echo requests/s to h1 for %g s, h1 answers each)" % (args.pps, args.seconds),
             "", "Machine: %s, %d CPUs. Generated by `benchmarks/bench_capture.py`; median of %d runs." % (
                 platform.platform(), os.cpu_count() or 0, args.runs), "",
             "| tool | sent/s achieved | ICMP on the link | captured | kernel drops | CPU s |",
             "|---|---|---|---|---|---|"]
    for tool in ("ours", "tcpdump"):
        mine = [r for r in rows if r["tool"] == tool]
        keys = ("sent", "flood_s", "expected", "seen", "drops", "cpu_s")
        med = {key: statistics.median(r[key] for r in mine) for key in keys}
        lines.append("| %s | %.0f | %d | %d | %d | %.2f |" % (
            "netdevops.icmp.capture" if tool == "ours" else "tcpdump -w /dev/null", med["sent"] / med["flood_s"],
            med["expected"], med["seen"], med["drops"], med["cpu_s"]))
    (results / "capture.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
