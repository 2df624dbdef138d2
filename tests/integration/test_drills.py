# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Disaster drills in a lab: netdevops.icmp.disaster_drill with ansible-playbook.

One run of every drill of the registry against a default lab (h1 and the rogue x1 on r1's LAN,
MTU 1400 on r1-h2, the ECMP diamond and BGP routers behind r1, h1 also managed over SSH from h2's
side) with a unique name; the tests read its reports and then check
that the lab is back at its steady state. The guard and check-mode tests change nothing.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.registry import DRILLS

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Every drill of the registry: the default lab has what each of them needs.
MY_DRILLS = [drill.name for drill in DRILLS]
# A LAN with other names and addresses: client c1, rogue x1 and gateway gw on one bridge, server s1 behind gw.
LAN_TOPOLOGY = {
    "name": "lan",
    "nodes": [{"name": "c1", "role": "host"}, {"name": "x1", "role": "host"}, {"name": "gw", "role": "router"},
              {"name": "s1", "role": "host"}],
    "segments": [{"name": "lan", "ipv4": "192.0.2.0/24", "ipv6": "2001:db8:10::/64", "members": [
        {"node": "c1", "ipv4": "192.0.2.20", "ipv6": "2001:db8:10::20"},
        {"node": "x1", "ipv4": "192.0.2.66", "ipv6": "2001:db8:10::66"},
        {"node": "gw", "ipv4": "192.0.2.1", "ipv6": "2001:db8:10::1"}]}],
    "links": [{"a": {"node": "gw", "ipv4": "198.51.100.1", "ipv6": "2001:db8:20::1"},
               "b": {"node": "s1", "ipv4": "198.51.100.30", "ipv6": "2001:db8:20::30"},
               "ipv4": "198.51.100.0/24", "ipv6": "2001:db8:20::/64"}],
}
REDIRECT_SYSCTLS = ("net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.all.secure_redirects",
                    "net.ipv4.conf.default.accept_redirects", "net.ipv6.conf.all.accept_redirects")

pytestmark = [pytest.mark.root, pytest.mark.lab]


def playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def drill_run(lab: t.Any, workdir: Path, names: t.List[str], *extra: str) -> subprocess.CompletedProcess:
    return playbook("-i", lab.inventory_path, "netdevops.icmp.disaster_drill",
                    "-e", json.dumps({"icmp_drill_names": names}),
                    "-e", "icmp_drill_report_dir=%s" % (workdir / "reports"),
                    "-e", "icmp_drill_state_dir=%s" % (workdir / "state"), *extra)


def lab_snapshot(lab: t.Any) -> t.Dict[str, t.Any]:
    """What the drills may touch: rulesets, routes, neighbour-relevant sysctls."""
    snap: t.Dict[str, t.Any] = {}
    for node in ("h1", "r1", "h2"):
        snap[node] = {
            "nft": lab.run(node, ["nft", "list", "ruleset"]).stdout,
            "routes4": lab.run(node, ["ip", "-4", "route", "show"]).stdout,
            "routes6": lab.run(node, ["ip", "-6", "route", "show", "proto", "static"]).stdout,
            "ratelimit": [lab.sysctl(node, key) for key in
                          ("net.ipv4.icmp_ratelimit", "net.ipv4.icmp_ratemask", "net.ipv6.icmp.ratelimit")],
        }
    return snap


def netns_of(pid: str) -> str:
    return subprocess.run(["ip", "netns", "identify", pid], capture_output=True, text=True, check=False).stdout


@pytest.fixture(scope="module")
def drills(lab_default: t.Any, tmp_path_factory: pytest.TempPathFactory) -> t.Dict[str, t.Any]:
    workdir = tmp_path_factory.mktemp("drills")
    before = lab_snapshot(lab_default)
    run = drill_run(lab_default, workdir, MY_DRILLS)
    report_path = workdir / "reports" / "disaster-drill.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    return {"run": run, "report": report, "before": before, "workdir": workdir}


def _drill(drills: t.Dict[str, t.Any], name: str) -> t.Dict[str, t.Any]:
    report = drills["report"]
    assert report is not None, drills["run"].stdout[-4000:]
    hosts = {host["name"]: host for host in report["hosts"]}
    assert "drill_" + name in hosts, sorted(hosts)
    return hosts["drill_" + name]["checks"][0]


def _timeline(check: t.Dict[str, t.Any]) -> t.Dict[str, float]:
    timeline = check["expect"]["timeline"]
    for key in ("inject_s", "detect_s", "recover_s"):
        assert isinstance(timeline[key], (int, float)) and 0 <= timeline[key] < 60, timeline
    return timeline


def test_all_drills_pass_and_the_play_succeeds(drills: t.Dict[str, t.Any]) -> None:
    run = drills["run"]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "all %d drills passed" % len(MY_DRILLS) in run.stdout
    files = sorted(path.name for path in (drills["workdir"] / "reports").iterdir())
    assert files == ["disaster-drill.html", "disaster-drill.json", "disaster-drill.junit.xml", "disaster-drill.prom"]
    assert drills["report"]["status"] == "pass"


@pytest.mark.parametrize(("name", "words"), [
    ("pmtud_blackhole", ["PMTUD black hole towards 203.0.113.10", "packets up to 1400 bytes pass"]),
    ("echo_blocked", ["ICMP echo filtered towards 203.0.113.10", "TCP answers", "path MTU (1400)"]),
    ("rate_limit", ["ICMP rate limiting at hop(s) 1", "not a broken hop"]),
    ("nd_blocked", ["IPv6 neighbour discovery failing towards 2001:db8:2::10"]),
    ("asymmetric", ["ICMP filtered in one direction only: echo towards 203.0.113.10 fails",
                    "echo from 203.0.113.10 back to us works"]),
    ("policy_cutoff", ["the push cut the controller off from h1", "black-holed (frag-needed dropped)",
                       "h1 restored its previous policy by itself",
                       "fragmentation-needed from 198.51.100.1 (MTU 1400) arrived at h1 quoting its SSH packets"]),
    ("flood", ["echo rate limit on 203.0.113.10 held", "reachability from r1 passes"]),
    ("redirect", ["traffic to 203.0.113.10 redirected: the route lookup says via 198.51.100.126",
                  "not the gateway 198.51.100.1"]),
    ("bgp_pmtud", ["BGP session flapping on a PMTUD black hole: the session r1 -> r3 dropped", "of 257 prefixes",
                   "pmtud from r1 finds a black hole towards 198.51.100.146", "packets up to 1280 bytes pass"]),
    ("rogue_ra", ["rogue IPv6 router on LAN lan: x1", "advertised itself as a router and h1 took it",
                  "instead of the gateway r1", "traceroute's first hop is 2001:db8:1::66 (the rogue)"]),
    ("overlay_mtu", ["overlay MTU too high on tunnel ov1: interface nl-ov1 has MTU 1500 but only 1450-byte packets",
                     "set the tunnel's MTU to 1450"]),
    ("ecmp_partial", ["partial ECMP failure towards 198.51.100.150 (h3)", "e1:", "e2:", "lost after e2",
                      "the branch e2 drops traffic it should forward"]),
])
def test_each_drill_passed_with_the_right_diagnosis(drills: t.Dict[str, t.Any], name: str, words: t.List[str]) -> None:
    check = _drill(drills, name)
    assert check["status"] == "pass", check
    diagnosis = check["notes"][0]
    for word in words:
        assert word in diagnosis, diagnosis
    assert "host down" not in diagnosis
    _timeline(check)


def test_policy_cutoff_was_a_real_cut_off_over_ssh(drills: t.Dict[str, t.Any]) -> None:
    """The push went over SSH across the lab, was not confirmed, and the host rolled back on its own."""
    out = drills["run"].stdout
    push = out[out.index('Policy cut-off | inject, push "drop destination-unreachable"'):]
    assert push.splitlines()[1].split(": ", 1)[1].startswith("[localhost -> h1_ssh(198.51.100.10)]"), push[:500]
    check = _drill(drills, "policy_cutoff")
    assert check["target"] == "198.51.100.10"
    assert _timeline(check)["detect_s"] >= 10, "the host waited the whole confirm_timeout (10 s) before it rolled back"


def test_junit_has_one_passing_case_per_drill(drills: t.Dict[str, t.Any]) -> None:
    junit = (drills["workdir"] / "reports" / "disaster-drill.junit.xml").read_text()
    for name in MY_DRILLS:
        assert "drill_" + name in junit
    assert "<failure" not in junit


def test_html_lists_every_drill_with_its_result(drills: t.Dict[str, t.Any]) -> None:
    page = (drills["workdir"] / "reports" / "disaster-drill.html").read_text()
    rows = re.findall(r"<tr data-host-status=[\"'](\w+)[\"'] data-drill=[\"'](\w+)[\"']>", page)
    assert sorted(rows) == sorted(("pass", name) for name in MY_DRILLS), rows
    assert not re.search(r"class=[\"']cell", page), "no empty matrix cells for drills"


def test_lab_is_back_at_steady_state(drills: t.Dict[str, t.Any], lab_default: t.Any) -> None:
    assert drills["run"].returncode == 0, drills["run"].stdout[-3000:]
    after = lab_snapshot(lab_default)
    assert after == drills["before"]
    for target in (lab_default.address("h2"), lab_default.address("h2", 6)):
        lab_default.run("h1", ["ping", "-c", "1", "-W", "2", target])
    # full-size TCP across the path still works: no leftover listener, no leftover rules
    leftovers = subprocess.run(["pgrep", "-f", "tcp_transfer.py serve"], capture_output=True, text=True, check=False)
    mine = [pid for pid in leftovers.stdout.split() if lab_default.netns("h2") in netns_of(pid)]
    assert mine == []


def test_a_failing_drill_still_cleans_up_and_fails_the_play(lab_default: t.Any, tmp_path: Path) -> None:
    # without the advmss staging the bottleneck is the server's own link: TCP never stalls, the
    # drill's assertion fails after the fault was injected, and the always section must clean up
    before = lab_snapshot(lab_default)
    run = drill_run(lab_default, tmp_path, ["pmtud_blackhole"], "-e", "icmp_drill_pmtud_advmss=0")
    assert run.returncode != 0
    assert "drill(s) failed: pmtud_blackhole" in run.stdout, run.stdout[-3000:]
    assert "pmtud reports the black hole, ping works, TCP stalls" in run.stdout
    report = json.loads((tmp_path / "reports" / "disaster-drill.json").read_text())
    assert report["status"] == "fail"
    assert lab_snapshot(lab_default) == before
    assert not (tmp_path / "state" / "tcp-h2.pid").exists()


def test_guard_refuses_a_host_that_is_not_a_lab_node_and_changes_nothing(lab_default: t.Any, tmp_path: Path) -> None:
    before = lab_snapshot(lab_default)
    run = drill_run(lab_default, tmp_path, MY_DRILLS, "-e", "icmp_drill_server=localhost")
    assert run.returncode != 0
    assert "refusing to run disaster drills against localhost" in run.stdout, run.stdout[-3000:]
    assert "not a lab node (connection local" in run.stdout
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "state").exists()
    assert lab_snapshot(lab_default) == before


def test_check_mode_runs_no_drill(lab_default: t.Any, tmp_path: Path) -> None:
    before = lab_snapshot(lab_default)
    run = drill_run(lab_default, tmp_path, ["echo_blocked"], "--check")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Check mode: the drills inject real faults and are skipped" in run.stdout
    assert not (tmp_path / "reports").exists()
    assert lab_snapshot(lab_default) == before


def test_a_drill_the_lab_cannot_run_is_refused_naming_what_is_missing(lab_chain: t.Any, tmp_path: Path) -> None:
    # The chain lab (h1 - r1 ... r6 - h2) has no LAN segment and no BGP routers.
    before = lab_snapshot(lab_chain)
    run = drill_run(lab_chain, tmp_path, ["echo_blocked", "redirect", "bgp_pmtud", "no_such_drill"])
    assert run.returncode != 0
    assert "drill redirect cannot run on this lab: it needs a LAN segment with IPv4 that has the client, the router" \
        in run.stdout, run.stdout[-3000:]
    assert "drill bgp_pmtud cannot run on this lab: it needs two BGP routers" in run.stdout
    assert "unknown drill 'no_such_drill'" in run.stdout
    assert "Nothing was changed." in run.stdout
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "state").exists()
    assert lab_snapshot(lab_chain) == before


def lan_snapshot(lab: t.Any) -> t.Dict[str, t.Any]:
    return {
        "c1": {"sysctls": [lab.sysctl("c1", key) for key in REDIRECT_SYSCTLS],
               "nft": lab.run("c1", ["nft", "list", "ruleset"]).stdout,
               "routes": lab.run("c1", ["ip", "-4", "route", "show"]).stdout},
        "x1": {"addresses": lab.run("x1", ["ip", "-4", "-brief", "address", "show"]).stdout},
    }


def test_redirect_drill_on_a_lan_diagnoses_the_redirect_and_strict_host_stops_it(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab(LAN_TOPOLOGY)
    before = lan_snapshot(lab)
    run = drill_run(lab, tmp_path, ["redirect"])
    report = json.loads((tmp_path / "reports" / "disaster-drill.json").read_text())
    check = [host for host in report["hosts"] if host["name"] == "drill_redirect"][0]["checks"][0]
    assert run.returncode == 0, run.stdout[-5000:]
    assert check["status"] == "pass", check
    assert check["measured"]["verdict"] == "redirected"
    assert check["notes"][0] == ("diagnosis: traffic to 198.51.100.30 redirected: the route lookup says via 192.0.2.254, "
                                 "not the gateway 192.0.2.1 (a next hop learnt from an ICMP redirect); echo fails")
    _timeline(check)
    assert "redirect    PASS" in run.stdout or "redirect  PASS" in run.stdout, run.stdout[-3000:]
    # the second attack, under strict-host, left the route alone; the lab is as before
    route = json.loads(lab.run("c1", ["ip", "-4", "-j", "route", "get", "198.51.100.30"]).stdout)[0]
    assert route["gateway"] == "192.0.2.1", route
    assert lan_snapshot(lab) == before
