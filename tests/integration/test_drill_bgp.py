# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bgp_pmtud drill with ansible-playbook on the shipped topology bgp (real FRR bgpd, real nft).

h1 - r1 -1500- m1 -1280- m2 -1500- r2 - h2; r1 announces 257 IPv4 prefixes to r2 (iBGP, hold 9 s).
The drill drops frag-needed on r1 with the policy module, restarts the session, and must find the
black hole with pmtud and the flap in r2's session history, then recover with every prefix.
"""
from __future__ import annotations

import json
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr

from .conftest import Lab, build_lab
from .test_drills import drill_run

pytestmark = [pytest.mark.root, pytest.mark.lab]
PREFIXES = 257


def r2_view_of_r1(lab: Lab) -> t.Dict[str, t.Any]:
    out = lab.run("r2", frr.vtysh_argv(lab.paths.node_dir("r2"), "show bgp summary json")).stdout
    return t.cast(t.Dict[str, t.Any], json.loads(out).get("ipv4Unicast", {}).get("peers", {}).get("198.51.100.1", {}))


def wait_steady(lab: Lab, timeout_s: float = 60) -> t.Dict[str, t.Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        peer = r2_view_of_r1(lab)
        if peer.get("state") == "Established" and peer.get("pfxRcd") == PREFIXES:
            return peer
        assert time.monotonic() < deadline, peer
        time.sleep(0.5)


def snapshot(lab: Lab) -> t.Dict[str, str]:
    return {node: lab.run(node, ["nft", "list", "ruleset"]).stdout + lab.run(node, ["ip", "-4", "route", "show"]).stdout
            for node in ("r1", "m1", "m2", "r2")}


@pytest.fixture(scope="module")
def bgp_lab(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Lab]:
    lab = build_lab("bgp", tmp_path_factory.mktemp("lab-bgp"))
    try:
        wait_steady(lab)
        yield lab
    finally:
        lab.down()


def test_the_drill_finds_the_black_hole_and_the_flap_and_the_lab_is_back(bgp_lab: Lab, tmp_path: Path) -> None:
    before = snapshot(bgp_lab)
    run = drill_run(bgp_lab, tmp_path, ["bgp_pmtud"])
    assert run.returncode == 0, run.stdout[-5000:]
    report = json.loads((tmp_path / "reports" / "disaster-drill.json").read_text())
    check = [host for host in report["hosts"] if host["name"] == "drill_bgp_pmtud"][0]["checks"][0]
    assert check["status"] == "pass", check
    assert check["measured"]["verdict"] == "bgp_pmtud_black_hole"
    diagnosis = check["notes"][0]
    print(run.stdout[run.stdout.rindex("Show the drill timeline"):], json.dumps(check, indent=1))  # the numbers, with -s
    for words in ("BGP session flapping on a PMTUD black hole: the session r1 -> r2 dropped",
                  "r2 received at most", "of 257 prefixes", "pmtud from r1 finds a black hole towards 203.0.113.2",
                  "packets up to 1280 bytes pass", "the hold timer expires"):
        assert words in diagnosis, diagnosis
    assert "received at most 257" not in diagnosis
    assert "bgp_pmtud  PASS" in run.stdout, run.stdout[-3000:]
    # the lab is back: no drill rules, same routes, the session up with every prefix, and it stays up
    assert snapshot(bgp_lab) == before
    settled = wait_steady(bgp_lab, 5)
    time.sleep(10)
    assert r2_view_of_r1(bgp_lab)["connectionsDropped"] == settled["connectionsDropped"]


def test_a_drill_whose_detection_is_broken_fails_the_play_and_cleans_up(bgp_lab: Lab, tmp_path: Path) -> None:
    # one sample of the session right after the restart cannot show a flap: the detection is
    # blind on purpose, the drill's assertion fails after the fault was injected
    before = snapshot(bgp_lab)
    run = drill_run(bgp_lab, tmp_path, ["bgp_pmtud"], "-e", "__icmp_drill_bgp_samples=1")
    assert run.returncode != 0
    assert "drill(s) failed: bgp_pmtud" in run.stdout, run.stdout[-3000:]
    assert "pmtud reports the black hole and the session flaps without its prefixes" in run.stdout
    report = json.loads((tmp_path / "reports" / "disaster-drill.json").read_text())
    assert report["status"] == "fail"
    assert snapshot(bgp_lab) == before
    wait_steady(bgp_lab)
