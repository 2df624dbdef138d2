#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet benchmark: ansible-playbook over real SSH against N lab hosts, ours next to the built-ins.

Builds the shipped ``fleet`` lab (N sshd hosts on one LAN with the controller) for each N,
then times, per scenario, what a user would run with this collection and what they would
write with ``ansible.builtin`` instead:

- ping 5 lab peers per host: ``netdevops.icmp.ping`` vs ``ansible.builtin.command: fping``;
- apply the ICMP policy, first and repeat: ``netdevops.icmp.apply_policy`` (commit-confirm,
  default settings) vs ``ansible.builtin.iptables``, one task per rule (no rollback at all);
- ``state: gathered`` (the floor a repeat apply should approach);
- drift check: ``netdevops.icmp.drift_check`` vs ``iptables -S`` + assert + fping;
- change validation pre/post: ``netdevops.icmp.change_validation`` vs fping + copy + compare.

Measures whole-run wall time, the per-host marginal cost (slope of wall time over N), the
controller's peak memory (the summed proportional set size of ansible-playbook and every
child: forks and ssh clients, sampled every 0.25 s), and for the apply how many hosts rolled back.
Packets go only to lab namespaces and the controller's lab veth. Needs root; run under the
lab lock. Writes results/fleet.json and results/fleet.md.

    sudo flock /tmp/netdevops-lab.lock .venv/bin/python benchmarks/bench_fleet.py --sizes 10 50 100
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory as lab_inventory  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner  # noqa: E402

BIN = Path(sys.executable).parent
MAX_FORKS = 50
# Profiles the extra changing applies alternate between (each run is a real change on every host).
CHANGE_PROFILES = ("strict-host", "rfc4890-host")


def lab_name(size: int) -> str:
    """A lab name of its own per size and run: ssh ControlPersist masters are keyed by lab name
    (the lab inventory's ``ansible_control_path``), so a size never reuses the last size's masters."""
    return "f%d%s" % (size, secrets.token_hex(1))


PING_OURS = """
- name: Ping 5 lab peers (netdevops.icmp.ping)
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Ping the peers
      netdevops.icmp.ping:
        targets: "{{ bench_targets }}"
        count: 3
        interval: 0.2
        timeout: 1
"""
PING_BUILTIN = """
- name: Ping 5 lab peers (fping through ansible.builtin.command)
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Ping the peers
      ansible.builtin.command: "fping -q -c 3 -p 200 -t 1000 {{ bench_targets | join(' ') }}"
      changed_when: false
"""
GATHERED = """
- name: Read the live ICMP policy (netdevops.icmp.policy state=gathered)
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Gather
      netdevops.icmp.policy:
        state: gathered
"""
# What a user writes without the collection: one ansible.builtin.iptables task per rule, an
# RFC 4890-like host list, then a drop of the rest. No commit-confirm, no rollback.
IPTABLES_RULES = (
    [{"ip_version": "ipv4", "protocol": "icmp", "icmp_type": kind}
     for kind in ("echo-request", "echo-reply", "destination-unreachable", "time-exceeded", "parameter-problem")]
    + [{"ip_version": "ipv6", "protocol": "ipv6-icmp", "icmp_type": kind}
       for kind in ("echo-request", "echo-reply", "destination-unreachable", "packet-too-big", "time-exceeded",
                    "parameter-problem", "neighbour-solicitation", "neighbour-advertisement",
                    "router-solicitation", "router-advertisement")]
)
APPLY_BUILTIN = """
- name: ICMP rules with ansible.builtin.iptables, one task per rule
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Accept the ICMP types a host needs
      ansible.builtin.iptables:
        chain: INPUT
        ip_version: "{{ item.ip_version }}"
        protocol: "{{ item.protocol }}"
        icmp_type: "{{ item.icmp_type }}"
        jump: ACCEPT
      loop: "{{ bench_iptables_rules }}"
    - name: Drop the other ICMP
      ansible.builtin.iptables:
        chain: INPUT
        ip_version: "{{ item.0 }}"
        protocol: "{{ item.1 }}"
        jump: DROP
      loop: [[ipv4, icmp], [ipv6, ipv6-icmp]]
"""
DRIFT_BUILTIN = """
- name: Drift check by hand (iptables -S, assert, fping)
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Read the rules
      ansible.builtin.command: iptables -S INPUT
      register: bench_rules
      changed_when: false
    - name: Every expected rule is there
      ansible.builtin.assert:
        that: "('-A INPUT -p icmp -m icmp --icmp-type ' ~ item ~ ' -j ACCEPT') in bench_rules.stdout_lines"
        quiet: true
      loop: [8, 0, 3, 11, 12]
    - name: Health check
      ansible.builtin.command: "fping -q -c 5 -p 200 -t 1000 {{ bench_targets | join(' ') }}"
      changed_when: false
"""
VALIDATE_BUILTIN = """
- name: Change validation by hand (fping, baseline on the controller, compare)
  hosts: lab_ssh
  gather_facts: false
  tasks:
    - name: Measure
      ansible.builtin.command: "fping -c 5 -p 200 -t 1000 {{ bench_targets | join(' ') }}"
      register: bench_fping
      changed_when: false
    - name: Store the baseline
      ansible.builtin.copy:
        content: "{{ bench_fping.stderr }}"
        dest: "{{ bench_work }}/baseline/{{ inventory_hostname }}.txt"
        mode: "0644"
      delegate_to: localhost
      when: bench_phase == 'pre'
    - name: Compare with the baseline (loss per target)
      ansible.builtin.assert:
        that: >-
          bench_fping.stderr | regex_findall('(\\S+) +: xmt/rcv/%loss = \\d+/\\d+/(\\d+)%')
          == lookup('ansible.builtin.file', bench_work ~ '/baseline/' ~ inventory_hostname ~ '.txt')
             | regex_findall('(\\S+) +: xmt/rcv/%loss = \\d+/\\d+/(\\d+)%')
        quiet: true
      when: bench_phase == 'post'
"""


def targets_of(topo: t.Any, index: int) -> t.List[str]:
    """5 lab peers of host ``index`` (0-based): the next two by IPv4, the next three by IPv6.

    A ring keeps the neighbour entries at 2 per pair (about 10 per host, plus the controller's
    2), far below the host-wide gc_thresh3 for N = 100; a full mesh would not fit.
    """
    members = topo.segments[0].members
    size = len(members)
    peers = [members[(index + step) % size] for step in (1, 2, 3)]
    return [str(end.ipv4.ip) for end in peers[:2]] + [str(end.ipv6.ip) for end in peers]


class PeakRss:
    """Samples the summed PSS (proportional set size) of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, self._sample())
            self._stop.wait(0.25)

    def _sample(self) -> int:
        parents: t.Dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry, encoding="utf-8") as handle:
                        parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier += children
        total = 0
        for pid in tree:
            # PSS: shared pages (the forks share most of ansible-playbook's) count once in the sum.
            try:
                with open("/proc/%d/smaps_rollup" % pid, encoding="utf-8") as handle:
                    total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
            except (OSError, IndexError, ValueError, StopIteration):
                continue
        return total

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib


LOGS: t.Optional[Path] = None  # --logs: every run's whole output is kept there


def playbook(argv: t.List[str]) -> t.Dict[str, t.Any]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_TIMEOUT="60")
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        proc = subprocess.Popen([str(BIN / "ansible-playbook"), *argv], stdout=out, stderr=subprocess.STDOUT,
                                env=env, text=True)  # noqa: S603 - fixed argv
        sampler = PeakRss(proc.pid)
        proc.wait(timeout=3600)
        wall = time.monotonic() - started
        peak = sampler.stop()
        out.seek(0)
        text = out.read()
    if LOGS is not None:
        LOGS.mkdir(parents=True, exist_ok=True)
        (LOGS / ("run-%d.log" % len(list(LOGS.iterdir())))).write_text(" ".join(argv) + "\n" + text, encoding="utf-8")
    recap = {host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
             for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", text, re.M)}
    totals = {key: sum(row.get(key, 0) for row in recap.values()) for key in ("ok", "changed", "failed", "unreachable")}
    hosts_failed = sorted(host for host, row in recap.items() if row.get("failed") or row.get("unreachable"))
    rolled = sorted(set(re.findall(r"^fatal: \[(\S+)\]: FAILED.*(?:rolled back|not confirmed within)", text, re.M)))
    return {"wall_s": round(wall, 2), "rc": proc.returncode, "peak_pss_mib": round(peak / 1024, 1),
            "hosts": len(recap), "totals": totals, "hosts_failed": hosts_failed, "rolled_back": rolled,
            "confirm": confirm_stats(text), "tail": text[-1500:] if proc.returncode else ""}


def confirm_stats(text: str) -> t.Optional[t.Dict[str, t.Any]]:
    """From the hosts' results (``-v``): how long the confirmations took, the effective windows,
    and the slowest round trip of each kind (``commit_confirm.trips``)."""
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r'"commit_confirm": ', text):
        try:
            found.append(decoder.raw_decode(text, match.end())[0])
        except ValueError:
            continue
    ran = [item for item in found if isinstance(item, dict) and item.get("ran")]
    if not ran:
        return None
    confirms = sorted(item["confirm_ms"] for item in ran if item.get("confirm_ms") is not None)
    slowest: t.Dict[str, int] = {}
    for item in ran:
        for what, took in item.get("trips") or []:
            slowest[what] = max(slowest.get(what, 0), int(took))
    return {"ran": len(ran), "confirmed": len(confirms),
            "confirm_ms_median": confirms[len(confirms) // 2] if confirms else None,
            "confirm_ms_max": confirms[-1] if confirms else None,
            "window_s_min": min(item.get("window_s") or 0 for item in ran),
            "window_s_max": max(item.get("window_s") or 0 for item in ran),
            "slowest_trip_ms": slowest}


def build(size: int, work: Path, lab: str) -> t.Tuple[LabEngine, t.Any, Path, t.List[str]]:
    data = yaml.safe_load((REPO / "roles" / "lab" / "files" / "topologies" / "fleet.yml").read_text(encoding="utf-8"))
    topo = parse_topology(data, name=lab, fleet_size=size)
    engine = LabEngine(SubprocessRunner())
    outcome = engine.up(topo)
    inventory = lab_inventory.build_inventory(topo, engine.paths(lab), sys.executable)
    for index, end in enumerate(topo.segments[0].members):
        host = inventory["all"]["children"]["lab_ssh"]["hosts"]["%s_ssh" % end.node]
        host["bench_targets"] = targets_of(topo, index)
        host["icmp_firewall_state_dir"] = str(work / "policy" / end.node)
    path = work / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    return engine, topo, path, list(outcome.warnings)


def scenarios(work: Path, changes: int) -> t.List[t.Tuple[str, str, t.List[str]]]:
    """(scenario, tool, playbook argv after -i/-f), in the order they run.

    ``changes`` changing applies run after the first one, alternating the profile, so the
    false-rollback count covers ``1 + changes`` real commit-confirm runs on every host.
    """
    plays = {}
    for name, text in (("ping_ours", PING_OURS), ("ping_builtin", PING_BUILTIN), ("gathered", GATHERED),
                       ("apply_builtin", APPLY_BUILTIN), ("drift_builtin", DRIFT_BUILTIN),
                       ("validate_builtin", VALIDATE_BUILTIN)):
        plays[name] = work / ("%s.yml" % name)
        plays[name].write_text(text.lstrip(), encoding="utf-8")
    variables = work / "vars.yml"
    variables.write_text(yaml.safe_dump({
        "icmp_policy_hosts": "lab_ssh", "icmp_validate_hosts": "lab_ssh",
        "icmp_validate_policy": {"profile": "rfc4890-host"},
        "icmp_validate_checks": {"ping": "{{ bench_targets }}"},
        "icmp_validate_state_dir": str(work / "validate"),
        "icmp_validate_report_dir": str(work / "reports"),
        "bench_iptables_rules": IPTABLES_RULES, "bench_work": str(work),
    }), encoding="utf-8")
    (work / "baseline").mkdir(exist_ok=True)
    extra = ["-e", "@%s" % variables]
    apply = str(REPO / "playbooks" / "apply_policy.yml")
    validate = str(REPO / "playbooks" / "change_validation.yml")
    runs = [
        ("ping 5 peers", "netdevops.icmp.ping", extra + [str(plays["ping_ours"])]),
        ("ping 5 peers", "command: fping", extra + [str(plays["ping_builtin"])]),
        ("policy gathered (no policy yet)", "netdevops.icmp.policy gathered", extra + [str(plays["gathered"])]),
        ("apply policy, first", "netdevops.icmp.apply_policy", extra + ["-v", apply]),
    ]
    for number in range(changes):
        profile = CHANGE_PROFILES[number % len(CHANGE_PROFILES)]
        runs.append(("apply policy, change %d (%s)" % (number + 2, profile), "netdevops.icmp.apply_policy",
                     extra + ["-v", "-e", "icmp_firewall_profile=%s" % profile, apply]))
    last = CHANGE_PROFILES[(changes - 1) % len(CHANGE_PROFILES)] if changes else "rfc4890-host"
    runs += [
        ("apply policy, repeat", "netdevops.icmp.apply_policy", extra + ["-e", "icmp_firewall_profile=%s" % last, apply]),
        ("policy gathered", "netdevops.icmp.policy gathered", extra + [str(plays["gathered"])]),
        ("drift check", "netdevops.icmp.drift_check", extra + [str(REPO / "playbooks" / "drift_check.yml")]),
        ("change validation pre", "netdevops.icmp.change_validation",
         extra + ["-e", "icmp_validate_phase=pre", "-e", "icmp_validate_run_id=bench", validate]),
        ("change validation post", "netdevops.icmp.change_validation",
         extra + ["-e", "icmp_validate_phase=post", "-e", "icmp_validate_run_id=bench", validate]),
        ("apply policy, first", "ansible.builtin.iptables per rule", extra + [str(plays["apply_builtin"])]),
        ("apply policy, repeat", "ansible.builtin.iptables per rule", extra + [str(plays["apply_builtin"])]),
        ("drift check", "iptables -S + assert + fping", extra + [str(plays["drift_builtin"])]),
        ("change validation pre", "fping + copy", extra + ["-e", "bench_phase=pre", str(plays["validate_builtin"])]),
        ("change validation post", "fping + compare", extra + ["-e", "bench_phase=post", str(plays["validate_builtin"])]),
    ]
    return runs


def selected(runs: t.List[t.Tuple[str, str, t.List[str]]], only: t.Optional[str]) -> t.List[t.Tuple[str, str, t.List[str]]]:
    """``--only policy``: the policy runs alone (the applies, the repeat, gathered), for the rollback and
    repeat targets within one capped lab run."""
    if only != "policy":
        return runs
    return [run for run in runs if run[1] in ("netdevops.icmp.apply_policy", "netdevops.icmp.policy gathered")
            and run[0] != "policy gathered (no policy yet)"]


def bench_size(size: int, on_row: t.Callable[[t.Dict[str, t.Any]], None], changes: int = 2,
               only: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """All scenarios at one size; ``on_row`` gets the partial result after every run."""
    lab = lab_name(size)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        engine, _topo, inventory, warnings = build(size, work, lab)
        built_s = time.monotonic() - started
        forks = min(size, MAX_FORKS)
        rows: t.List[t.Dict[str, t.Any]] = []
        try:
            for scenario, tool, argv in selected(scenarios(work, changes), only):
                result = playbook(["-i", str(inventory), "-f", str(forks), *argv])
                result.update({"scenario": scenario, "tool": tool})
                rows.append(result)
                on_row({"size": size, "forks": forks, "lab_up_s": round(built_s, 1), "lab_down_s": 0.0,
                        "lab_warnings": warnings, "runs": rows, "partial": True})
                print("N=%d %-32s %-36s %7.1f s rc=%d peak %6.1f MiB failed=%d rolled_back=%d" % (
                    size, scenario, tool, result["wall_s"], result["rc"], result["peak_pss_mib"],
                    len(result["hosts_failed"]), len(result["rolled_back"])), flush=True)
        finally:
            down_started = time.monotonic()
            engine.down(lab)
            down_s = time.monotonic() - down_started
    return {"size": size, "forks": forks, "lab_up_s": round(built_s, 1), "lab_down_s": round(down_s, 1),
            "lab_warnings": warnings, "runs": rows}


def marginal(results: t.List[t.Dict[str, t.Any]]) -> t.Dict[t.Tuple[str, str], t.Optional[float]]:
    """Least-squares slope of wall time over N, in seconds per host, per (scenario, tool)."""
    points: t.Dict[t.Tuple[str, str], t.List[t.Tuple[int, float]]] = {}
    for item in results:
        for row in item["runs"]:
            points.setdefault((row["scenario"], row["tool"]), []).append((item["size"], row["wall_s"]))
    slopes: t.Dict[t.Tuple[str, str], t.Optional[float]] = {}
    for key, pts in points.items():
        if len(pts) < 2:
            slopes[key] = None
            continue
        mean_n = sum(point[0] for point in pts) / len(pts)
        mean_w = sum(point[1] for point in pts) / len(pts)
        var = sum((point[0] - mean_n) ** 2 for point in pts)
        slopes[key] = round(sum((n - mean_n) * (w - mean_w) for n, w in pts) / var, 3) if var else None
    return slopes


def markdown(meta: t.Dict[str, t.Any], results: t.List[t.Dict[str, t.Any]]) -> str:
    sizes = [item["size"] for item in results]
    slopes = marginal(results)
    lines = [
        "# Fleet benchmark (ansible-playbook over real SSH, lab fleet)", "",
        "Generated by `benchmarks/bench_fleet.py` on %s (%s, Python %s, ansible-core %s, %d CPUs). One run per "
        "size; forks = min(N, %d); Ansible defaults otherwise (no pipelining). Hosts are the shipped `fleet` "
        "topology: N network namespaces, each with its own sshd, on one LAN with the controller. Wall time is "
        "the whole `ansible-playbook` run; peak memory is the summed PSS of ansible-playbook, its forks and "
        "ssh clients (shared pages counted once); marginal cost is the least-squares slope of wall time over N."
        % (meta["date"], meta["kernel"], meta["python"], meta["ansible"], meta["cpus"], MAX_FORKS), "",
        "| scenario | tool | %s | s per host | peak MiB (N=%d) | notes (N=%d) |" % (
            " | ".join("N=%d (s)" % n for n in sizes), sizes[-1], sizes[-1]),
        "|---|---|%s---|---|---|" % ("---|" * len(sizes)),
    ]
    keys: t.List[t.Tuple[str, str]] = []
    for item in results:
        for row in item["runs"]:
            if (row["scenario"], row["tool"]) not in keys:
                keys.append((row["scenario"], row["tool"]))
    for key in keys:
        cells, last = [], None
        for item in results:
            row = next((r for r in item["runs"] if (r["scenario"], r["tool"]) == key), None)
            cells.append("%.1f%s" % (row["wall_s"], "" if row["rc"] == 0 else " (rc %d)" % row["rc"]) if row else "-")
            last = row or last
        notes = []
        if last is not None:
            if last["rolled_back"]:
                notes.append("%d hosts rolled back" % len(last["rolled_back"]))
            if last["hosts_failed"]:
                notes.append("%d hosts failed" % len(last["hosts_failed"]))
            notes.append("changed=%d" % last["totals"]["changed"])
        slope = slopes.get(key)
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            key[0], key[1], " | ".join(cells), "%.3f" % slope if slope is not None else "-",
            "%.0f" % last["peak_pss_mib"] if last else "-", ", ".join(notes)))
    lines += ["", "## Lab", ""]
    for item in results:
        lines.append("- N=%d%s%s%s: lab up %.1f s, down %.1f s%s" % (
            item["size"], " (cut short: only the runs listed above)" if item.get("partial") else "",
            " (measured %s)" % item["date"] if item.get("date") else "",
            " (policy runs only: gathered and the applies)" if item.get("only") == "policy" else "",
            item["lab_up_s"], item["lab_down_s"],
            "; warnings: %s" % " / ".join(item["lab_warnings"]) if item["lab_warnings"] else ""))
    lines += ["", "## Reading it", ""] + ["- %s" % line for line in findings(results)] + [""]
    return "\n".join(lines)


def findings(results: t.List[t.Dict[str, t.Any]]) -> t.List[str]:
    out = []
    for item in results:
        runs = {(row["scenario"], row["tool"]): row for row in item["runs"]}
        changing = [row for row in item["runs"] if row["tool"] == "netdevops.icmp.apply_policy"
                    and (row["scenario"] == "apply policy, first" or row["scenario"].startswith("apply policy, change"))]
        repeat = runs.get(("apply policy, repeat", "netdevops.icmp.apply_policy"))
        gathered = runs.get(("policy gathered", "netdevops.icmp.policy gathered"))
        if changing:
            out.append("N=%d, forks %d, default settings: %d false rollbacks in %d changing runs (%s; target: 0)" % (
                item["size"], item["forks"], sum(len(row["rolled_back"]) for row in changing), len(changing),
                ", ".join("%d of %d hosts rolled back, %d failed" % (
                    len(row["rolled_back"]), item["size"], len(row["hosts_failed"])) for row in changing)))
        for row in changing:
            stats = row.get("confirm")
            if stats:
                out.append("N=%d, %s: %d of %d confirmed; confirm_ms median %s, max %s; windows %d-%d s; slowest "
                           "round trip of each kind (ms): %s" % (
                               item["size"], row["scenario"], stats["confirmed"], stats["ran"],
                               stats["confirm_ms_median"], stats["confirm_ms_max"], stats["window_s_min"],
                               stats["window_s_max"], ", ".join("%s %d" % pair for pair in stats["slowest_trip_ms"].items())))
        if repeat is not None and gathered is not None and gathered["wall_s"]:
            ratio = repeat["wall_s"] / gathered["wall_s"]
            out.append("N=%d: a repeat apply (no change) took %.2fx a gathered run: %.1f s vs %.1f s (target: <= 1.3x)"
                       % (item["size"], ratio, repeat["wall_s"], gathered["wall_s"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--changes", type=int, default=2,
                        help="changing applies after the first (alternating profiles), for the false-rollback count")
    parser.add_argument("--only", choices=["policy"], help="policy: only gathered and the applies")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sizes already in results/fleet.json (replace the sizes measured now)")
    parser.add_argument("--logs", help="keep every ansible-playbook output in this directory")
    args = parser.parse_args()
    global LOGS  # noqa: PLW0603 - one setting for the whole run
    LOGS = Path(args.logs) if args.logs else None
    # A capped run (timeout sends SIGTERM) still tears its lab down in bench_size's finally.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("terminated (signal %d)" % signum))
    if os.geteuid() != 0:
        sys.exit("run as root: the fleet lab is made of network namespaces")
    version = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=False).stdout
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "kernel": platform.release(),
            "python": platform.python_version(), "cpus": os.cpu_count() or 0,
            "ansible": (re.findall(r"core ([\d.]+)", version) or ["?"])[0]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: t.List[t.Dict[str, t.Any]] = []
    kept = _kept(out / "fleet.json", args.sizes) if args.merge else []

    def write(current: t.List[t.Dict[str, t.Any]]) -> None:
        (out / "fleet.json").write_text(json.dumps({"meta": meta, "results": current}, indent=2) + "\n")
        (out / "fleet.md").write_text(markdown(meta, current))

    for size in args.sizes:  # written after every run: a cut run keeps what it measured
        measured = bench_size(size, lambda partial: write(_sorted(kept + results + [partial])), args.changes, args.only)
        measured.update(date=meta["date"], only=args.only)
        results.append(measured)
        write(_sorted(kept + results))
    print(markdown(meta, _sorted(kept + results)))
    return 0


def _kept(path: Path, sizes: t.List[int]) -> t.List[t.Dict[str, t.Any]]:
    """Results of other sizes from an earlier run (``--merge``), each with the date it was measured."""
    if not path.exists():
        return []
    earlier = json.loads(path.read_text(encoding="utf-8"))
    # Only complete sizes measured by this version of the benchmark (they carry their date).
    return [item for item in earlier["results"] if item["size"] not in sizes and not item.get("partial")
            and item.get("date")]


def _sorted(results: t.List[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    return sorted(results, key=lambda item: item["size"])


if __name__ == "__main__":
    sys.exit(main())
