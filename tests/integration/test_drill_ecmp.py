# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ecmp_partial drill with ansible-playbook on real kernels (real multipath routes, real nft).

Two labs: the diamond part of the grown default (h1 on a LAN with x1 and r1; r1 - {e1 | e2} - r2 -
h3; h2 behind r1's 1400 link; tests/unit/plugins/filter/fixtures/ecmp_diamond.yml) and the
shipped ``ecmp`` topology (h1 - r1 - {r2 | r3} - r4 - h2). The drill breaks the last branch (e2,
r3), must name it with the fraction of flows lost, recover, and leave the lab as it was. A lab
without equal-cost paths refuses the drill, naming what is missing, and changes nothing.
"""
from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest
import yaml

from .conftest import Lab
from .test_drills import drill_run

pytestmark = [pytest.mark.root, pytest.mark.lab]
DIAMOND = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "filter" / "fixtures" / "ecmp_diamond.yml"
LINE = {"name": "line", "nodes": [{"name": "c1", "role": "host"}, {"name": "g1", "role": "router"},
                                  {"name": "s1", "role": "host"}],
        "links": [{"a": "c1", "b": "g1"}, {"a": "g1", "b": "s1"}]}


def snapshot(lab: Lab) -> t.Dict[str, str]:
    return {node: lab.run(node, ["nft", "list", "ruleset"]).stdout + lab.run(node, ["ip", "-4", "route", "show"]).stdout
            for node in (node.name for node in lab.topology.nodes)}


def check_of(workdir: Path) -> t.Dict[str, t.Any]:
    report = json.loads((workdir / "reports" / "disaster-drill.json").read_text())
    return t.cast(t.Dict[str, t.Any],
                  [host for host in report["hosts"] if host["name"] == "drill_ecmp_partial"][0]["checks"][0])


def run_and_check(lab: Lab, workdir: Path, broken: str, working: str, target: str) -> t.Dict[str, t.Any]:
    before = snapshot(lab)
    run = drill_run(lab, workdir, ["ecmp_partial"], "-v")  # -v: the measurements set_fact noted
    assert run.returncode == 0, run.stdout[-6000:]
    check = check_of(workdir)
    print(run.stdout[run.stdout.rindex("Show the drill timeline"):], json.dumps(check, indent=1))  # the numbers, with -s
    assert check["status"] == "pass", check
    assert check["measured"]["verdict"] == "ecmp_partial"
    diagnosis = check["notes"][0]
    for words in ("partial ECMP failure towards %s" % target, "finds 2 branch(es) after", "are lost after %s (" % broken,
                  "the branch %s drops traffic it should forward" % broken):
        assert words in diagnosis, diagnosis
    # the fraction is measured: some flows fail, the others arrive, and both branches carried flows
    lost, total, _pct = re.search(r"(\d+) of (\d+) flows \(([\d.]+)%\) fail", diagnosis).groups()  # type: ignore[union-attr]
    assert 0 < int(lost) < int(total), diagnosis
    carried = dict(re.findall(r"(\w+): (\d+) flows", diagnosis))
    assert set(carried) == {broken, working} and all(int(count) > 0 for count in carried.values()), diagnosis
    # the broken branch's own counter saw the packets it dropped
    dropped = re.search(r'"dropped_packets": (\d+)', run.stdout)
    assert dropped is not None and int(dropped.group(1)) > 0, run.stdout[-6000:]
    print(re.findall(r'"classic_(?:reached|lost)_ports": \[[^]]*\]', run.stdout))
    assert snapshot(lab) == before
    assert "netdevops_icmp_drill_ecmp" not in lab.run(broken, ["nft", "list", "ruleset"]).stdout
    return check


def test_on_the_default_shaped_diamond_the_drill_names_e2_and_recovers(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab(yaml.safe_load(DIAMOND.read_text()))
    run_and_check(lab, tmp_path, "e2", "e1", "198.51.100.146 (h3)")


def test_on_the_shipped_ecmp_topology_the_drill_names_r3_and_recovers(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab("ecmp")
    run_and_check(lab, tmp_path, "r3", "r2", "%s (h2)" % lab.address("h2"))


def test_a_lab_without_equal_cost_paths_refuses_the_drill_and_changes_nothing(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab(LINE)
    before = snapshot(lab)
    run = drill_run(lab, tmp_path, ["ecmp_partial"])
    assert run.returncode != 0
    assert ("drill ecmp_partial cannot run on this lab: it needs equal-cost paths between the client and a host"
            " behind them") in run.stdout, run.stdout[-3000:]
    assert "Nothing was changed." in run.stdout
    assert not (tmp_path / "reports").exists()
    assert snapshot(lab) == before


def test_a_broken_detection_fails_the_play_cleans_up_and_reports_red(make_lab: t.Any, tmp_path: Path) -> None:
    # a classic traceroute (one flow) in place of the multipath one: it cannot enumerate the
    # branches nor name the one that loses flows, so the drill fails after the fault was injected
    lab = make_lab("ecmp")
    before = snapshot(lab)
    run = drill_run(lab, tmp_path, ["ecmp_partial"], "-e", "__icmp_drill_ecmp_multipath=false")
    assert run.returncode != 0
    assert "drill(s) failed: ecmp_partial" in run.stdout, run.stdout[-3000:]
    assert "ecmp.trace must be the result of netdevops.icmp.traceroute with multipath: true" in run.stdout
    check = check_of(tmp_path)
    assert check["status"] == "fail"
    assert snapshot(lab) == before
