#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side ping benchmark on loopback: the module, the engine, fping, icmplib.

Same targets (127.x.y.z), same pacing, whole-process wall time and peak RSS of each
child (GNU time), runs interleaved tool by tool, median of N runs. "ping module" is
the module as Ansible runs it on a host: its AnsiballZ payload (built once per scenario
by ansible-playbook with ANSIBLE_KEEP_REMOTE_FILES), executed by the interpreter, which
imports AnsibleModule, parses the arguments, probes and writes the JSON result.
"engine" is benchmarks/ping_cli.py (no Ansible). Needs root (raw sockets). Writes
results/ping.json and results/ping.md. Not a test: numbers vary with the machine and
its load; the targets below are what we aim for, and misses are reported as such.

    sudo .venv/bin/python benchmarks/bench_ping.py [--runs 5]
    sudo .venv/bin/python benchmarks/bench_ping.py --only 100000   # one scenario; the others kept

fping 5.1 maps ICMP sequence numbers through a table of 65,535 entries that expire after 10 s
(seqmap.c); a single fping sending 100,000 pings within 10 s stops with "not enough sequence
numbers available" and reports no reply at all. So the 100,000 scenario runs it as two fping
processes of 50,000 targets each, one after the other, in one timed shell (wall time is
the sum, peak RSS the larger of the two).
    (icmplib comes from requirements-bench.txt)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
MODULE = "ping module"
ENGINE = "engine"
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - netdevops.icmp.ping:
        targets: "{{ lookup('ansible.builtin.file', target_file).splitlines() }}"
        count: 1
        rate: 0
        interval: 0
        privileged: raw
"""


def loopback(count: int) -> t.List[str]:
    return ["127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250) for i in range(count)]


class Scenario(t.NamedTuple):
    name: str
    targets: int
    count: int
    interval_s: float  # per target
    runs: int  # 0: the --runs given
    commands: t.Dict[str, t.List[str]]  # tool -> argv, with {file} for the target file, {payload} for the module


FPING_HALVES = ["sh", "-c", 'fping -q -c 1 -i 0 -t 1000 -f "$1"; fping -q -c 1 -i 0 -t 1000 -f "$2"',
                "fping-halves", "{file1}", "{file2}"]


def scenarios() -> t.List[Scenario]:
    engine = [PYTHON, str(HERE / "ping_cli.py"), "-p", "raw", "-f", "{file}"]
    icmplib = [PYTHON, str(HERE / "icmplib_run.py"), "{file}"]
    sweep = {
        MODULE: [PYTHON, "{payload}"],
        ENGINE: engine + ["-c", "1", "-r", "0"],
        "fping": ["fping", "-q", "-c", "1", "-i", "0", "-t", "1000", "-f", "{file}"],
    }
    return [
        Scenario("200 targets x 3 probes, 100 ms per-target interval, unpaced overall", 200, 3, 0.1, 0, {
            ENGINE: engine + ["-c", "3", "-i", "0.1", "-r", "0"],
            "fping": ["fping", "-q", "-c", "3", "-p", "100", "-i", "0", "-t", "1000", "-f", "{file}"],
            "icmplib": icmplib + ["--count", "3", "--interval", "0.1", "--tasks", "200"],
        }),
        Scenario("10000 targets x 1 probe, unpaced", 10000, 1, 0.0, 0, dict(sweep, icmplib=icmplib + [
            "--count", "1", "--interval", "0", "--tasks", "50"])),
        Scenario("100000 targets x 1 probe, unpaced", 100000, 1, 0.0, 3, dict(sweep, fping=FPING_HALVES)),
    ]


def received_from(tool: str, stdout: str, stderr: str) -> int:
    if tool == "fping":  # "127.1.0.1 : xmt/rcv/%loss = 3/3/0%, min/avg/max = ..."
        return sum(int(m.group(1)) for m in re.finditer(r"xmt/rcv/%loss = \d+/(\d+)/", stderr))
    data = json.loads(stdout)
    if tool == MODULE:
        return sum(int(result["received"]) for result in data["results"])
    return int(data["received"])


def module_payload(target_file: str, workdir: str) -> str:
    """The AnsiballZ payload of a ping task over ``target_file``, as Ansible ships it to a host."""
    playbook = os.path.join(workdir, "sweep.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK)
    remote_tmp = os.path.join(workdir, "remote")
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=remote_tmp,
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"))
    subprocess.run(  # noqa: S603 - fixed argv
        [str(Path(PYTHON).parent / "ansible-playbook"), "-i", "localhost,", playbook, "-e", "target_file=%s" % target_file,
         "-e", "ansible_python_interpreter=%s" % PYTHON], env=env, check=True, stdout=subprocess.DEVNULL)
    found = sorted(Path(remote_tmp).rglob("AnsiballZ_ping.py"))
    if len(found) != 1:
        sys.exit("expected one AnsiballZ_ping.py under %s, found %d" % (remote_tmp, len(found)))
    payload = os.path.join(workdir, "AnsiballZ_ping.py")
    shutil.copy(str(found[0]), payload)
    return payload


def run_once(argv: t.List[str]) -> t.Tuple[float, int, str, str]:
    """Wall seconds, peak RSS in KiB, stdout, stderr of one child process.

    Peak RSS comes from ``/usr/bin/time -f %M`` (GNU time, a small C program): the
    ``ru_maxrss`` of a child forked directly from this Python process would start at this
    process's own RSS (the kernel keeps the pre-exec high-water mark) and hide small tools.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv,  # noqa: S603 - fixed argv
                       stdout=out, stderr=err, check=False)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return wall, int(rss.read().split()[-1]), out.read(), err.read()


def bench(scenario: Scenario, runs: int) -> t.Dict[str, t.Any]:
    runs = scenario.runs or runs
    workdir = tempfile.mkdtemp(prefix="bench_ping_")
    target_file = os.path.join(workdir, "targets.txt")
    targets = loopback(scenario.targets)
    with open(target_file, "w") as handle:
        handle.write("\n".join(targets) + "\n")
    half = len(targets) // 2
    for name, part in (("1", targets[:half]), ("2", targets[half:])):
        with open(target_file + name, "w") as handle:
            handle.write("\n".join(part) + "\n")
    samples: t.Dict[str, t.List[t.Tuple[float, int, int]]] = {tool: [] for tool in scenario.commands}
    try:
        payload = module_payload(target_file, workdir) if MODULE in scenario.commands else ""
        for _run in range(runs):
            for tool, template in scenario.commands.items():  # interleaved: same conditions for all
                argv = [word.replace("{file1}", target_file + "1").replace("{file2}", target_file + "2")
                        .replace("{file}", target_file).replace("{payload}", payload) for word in template]
                wall, rss, stdout, stderr = run_once(argv)
                try:
                    received = received_from(tool, stdout, stderr)
                except (ValueError, KeyError) as err:
                    sys.exit("%s gave no result (%s): %s" % (tool, err, (stderr or stdout)[-2000:]))
                samples[tool].append((wall, rss, received))
                time.sleep(0.2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    expected = scenario.targets * scenario.count
    tools = {}
    for tool, rows in samples.items():
        tools[tool] = {
            "wall_s_median": round(statistics.median(r[0] for r in rows), 4),
            "wall_s_runs": [round(r[0], 4) for r in rows],
            "peak_rss_mib_max": round(max(r[1] for r in rows) / 1024, 1),
            "received_runs": [r[2] for r in rows],
            "false_loss_pct_max": round(100.0 * (expected - min(r[2] for r in rows)) / expected, 3),
        }
    base = tools["fping"]["wall_s_median"]
    for tool in tools.values():
        tool["ratio_to_fping"] = round(tool["wall_s_median"] / base, 2) if base else None
    return {"scenario": scenario.name, "targets": scenario.targets, "count": scenario.count, "runs": runs,
            "expected_replies": expected, "tools": tools}


def markdown(results: t.Dict[str, t.Any]) -> str:
    lines = ["# Ping benchmark (loopback, root, raw sockets)", "",
             "Generated by `benchmarks/bench_ping.py` on %s (%s, Python %s, %d CPUs, load average %s "
             "at the start), runs interleaved tool by tool; wall time is the whole process (interpreter "
             "start included). *ping module* is the module's AnsiballZ payload as Ansible runs it on a "
             "host; *engine* is `benchmarks/ping_cli.py` without Ansible."
             % (results["date"], results["kernel"], results["python"], results["cpus"], results["load"]), ""]
    for item in results["scenarios"]:
        kept = ", measured %s" % item["measured_at"] if item.get("measured_at") else ""
        lines += ["## %s (%d runs per tool%s)" % (item["scenario"], item["runs"], kept), "",
                  "| tool | median wall (s) | runs (s) | x fping | peak RSS (MiB) | false loss (worst run) |",
                  "|---|---|---|---|---|---|"]
        for tool, row in item["tools"].items():
            lines.append("| %s | %.3f | %s | %.2f | %.1f | %.3f %% |" % (
                tool, row["wall_s_median"], ", ".join("%.3f" % w for w in row["wall_s_runs"]),
                row["ratio_to_fping"], row["peak_rss_mib_max"], row["false_loss_pct_max"]))
        lines.append("")
    lines += ["## Targets", ""] + ["- %s" % line for line in results["verdicts"]] + [""]
    return "\n".join(lines)


def verdicts(results: t.Dict[str, t.Any]) -> t.List[str]:
    small, sweep, large = results["scenarios"]
    out = []

    def check(label: str, ok: bool, detail: str) -> None:
        out.append("%s: %s (%s)" % (label, "met" if ok else "MISSED", detail))

    module, engine = sweep["tools"][MODULE], sweep["tools"][ENGINE]
    check("ping module, 10000 x 1, whole process <= 3x fping -i0 (goal 1.5x)",
          module["ratio_to_fping"] <= 3, "%.2fx" % module["ratio_to_fping"])
    check("ping module, 10000 x 1, zero false loss", module["false_loss_pct_max"] == 0,
          "%.3f %%" % module["false_loss_pct_max"])
    check("ping module, 10000 x 1, peak RSS <= 60 MiB", module["peak_rss_mib_max"] <= 60,
          "%.1f MiB" % module["peak_rss_mib_max"])
    check("engine, 10000 x 1, zero false loss", engine["false_loss_pct_max"] == 0, "%.3f %%" % engine["false_loss_pct_max"])
    module, engine = large["tools"][MODULE], large["tools"][ENGINE]
    check("ping module, 100000 x 1 <= 4x fping", module["ratio_to_fping"] <= 4, "%.2fx" % module["ratio_to_fping"])
    check("ping module, 100000 x 1, peak RSS <= 250 MiB", module["peak_rss_mib_max"] <= 250,
          "%.1f MiB" % module["peak_rss_mib_max"])
    check("ping module, 100000 x 1, zero false loss", module["false_loss_pct_max"] == 0,
          "%.3f %%" % module["false_loss_pct_max"])
    check("engine, 100000 x 1 <= 3x fping", engine["ratio_to_fping"] <= 3, "%.2fx" % engine["ratio_to_fping"])
    check("engine, 200 x 3, zero false loss", small["tools"][ENGINE]["false_loss_pct_max"] == 0,
          "%.3f %%" % small["tools"][ENGINE]["false_loss_pct_max"])
    for item in results["scenarios"]:
        fping = item["tools"]["fping"]
        if fping["false_loss_pct_max"]:
            out.append("CAUTION: fping itself lost %.3f %% of the replies in \"%s\" (received %s of %d): its time "
                       "is not a like-for-like baseline there, and the ratios of that scenario are not valid"
                       % (fping["false_loss_pct_max"], item["scenario"], fping["received_runs"], item["expected_replies"]))
    return out


def run_scenarios(args: argparse.Namespace) -> t.List[t.Dict[str, t.Any]]:
    previous: t.Dict[str, t.Any] = {}
    saved = Path(args.out) / "ping.json"
    if args.only and saved.is_file():
        data = json.loads(saved.read_text())
        previous = {item["scenario"]: dict(item, measured_at=item.get("measured_at") or data["date"])
                    for item in data["scenarios"]}
    return [bench(s, args.runs) if not args.only or s.targets == args.only or s.name not in previous
            else previous[s.name] for s in scenarios()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--only", type=int, choices=[s.targets for s in scenarios()],
                        help="run only the scenario with this many targets; keep the others from ping.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the comparison uses raw sockets for every tool")
    results: t.Dict[str, t.Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "kernel": platform.release(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "runs": args.runs, "load": "%.2f" % os.getloadavg()[0],
        "fping": subprocess.run(["fping", "-v"], capture_output=True, text=True, check=False).stdout.strip(),
        "scenarios": run_scenarios(args),
    }
    results["verdicts"] = verdicts(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ping.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "ping.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
