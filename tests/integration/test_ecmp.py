# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ECMP in the lab on a real kernel: the shipped diamond h1 - r1 - {r2 | r3} - r4 - h2."""
from __future__ import annotations

import json
import sys
import typing as t
from pathlib import Path

import pytest

from .conftest import Lab, _require_root, build_lab

pytestmark = [pytest.mark.root, pytest.mark.lab]

BRANCHES = ("r2", "r3")
COUNTER = """table inet ecmptest {
  counter udp9 {}
  chain count9 {
    type filter hook forward priority 0;
    udp dport 9 counter name "udp9"
  }
}
"""
# Send one datagram per source port to port 9 of the target: one flow per port.
SEND = (
    "import socket, sys\n"
    "target, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "family = socket.AF_INET6 if ':' in target else socket.AF_INET\n"
    "for port in range(first, first + count):\n"
    "    with socket.socket(family, socket.SOCK_DGRAM) as sock:\n"
    "        sock.bind(('', port))\n"
    "        sock.sendto(b'flow', (target, 9))\n"
)


@pytest.fixture(scope="module")
def lab_ecmp(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Lab]:
    _require_root()
    lab = build_lab("ecmp", tmp_path_factory.mktemp("lab-ecmp"))
    try:
        yield lab
    finally:
        lab.down()


def branch_counts(lab: Lab, family: int, first_port: int, flows: int = 32) -> t.Dict[str, int]:
    for node in BRANCHES:
        lab.run(node, ["nft", "delete", "table", "inet", "ecmptest"], check=False)
        lab.nft(node, COUNTER)
    lab.run("h1", [sys.executable, "-c", SEND, lab.address("h2", family), str(first_port), str(flows)])
    counts = {}
    for node in BRANCHES:
        listed = json.loads(lab.run(node, ["nft", "-j", "list", "counter", "inet", "ecmptest", "udp9"]).stdout)
        counter = next(item["counter"] for item in listed["nftables"] if "counter" in item)
        counts[node] = int(counter["packets"])
        lab.run(node, ["nft", "delete", "table", "inet", "ecmptest"])
    return counts


@pytest.mark.parametrize("family", [4, 6])
def test_r1_holds_a_multipath_route_and_the_l4_hash(lab_ecmp: Lab, family: int) -> None:
    routes = json.loads(lab_ecmp.run("r1", ["ip", "-j", "-%d" % family, "route", "show"]).stdout)
    to_h2 = [route for route in routes if route.get("nexthops") and route["dst"].startswith(
        "192.0.2.20" if family == 4 else "2001:db8:0:6::")]
    assert len(to_h2) == 1, routes
    assert sorted(hop["dev"] for hop in to_h2[0]["nexthops"]) == ["nl-r2", "nl-r3"]
    assert lab_ecmp.sysctl("r1", "net.ipv%d.fib_multipath_hash_policy" % family) == "1"
    assert lab_ecmp.sysctl("h1", "net.ipv%d.fib_multipath_hash_policy" % family) == "0"


def test_second_up_changes_nothing(lab_ecmp: Lab) -> None:
    assert lab_ecmp.engine.up(lab_ecmp.topology).changed is False


@pytest.mark.parametrize("family", [4, 6])
def test_flows_with_other_ports_take_both_branches(lab_ecmp: Lab, family: int) -> None:
    counts = branch_counts(lab_ecmp, family, 40000)
    assert sum(counts.values()) == 32, counts
    assert all(count > 0 for count in counts.values()), counts


def test_with_the_l3_hash_every_flow_takes_one_branch(lab_ecmp: Lab) -> None:
    key = "net.ipv4.fib_multipath_hash_policy"
    lab_ecmp.sysctl("r1", key, "0")
    try:
        counts = branch_counts(lab_ecmp, 4, 41000)
    finally:
        lab_ecmp.sysctl("r1", key, "1")
    assert sorted(counts.values()) == [0, 32], counts


# --- multipath traceroute on the diamond -------------------------------------------
TRACE = (
    "import json, sys\n"
    "from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import multipath, traceroute\n"
    "request = traceroute.TraceRequest(target=sys.argv[2], method='udp', port=int(sys.argv[3]), timeout_s=1.0)\n"
    "if sys.argv[1] == 'multipath':\n"
    "    print(json.dumps(multipath.run_multipath(request).as_dict()))\n"
    "else:\n"
    "    print(json.dumps(traceroute.run_trace(request).as_dict()))\n"
)


def trace(lab: Lab, kind: str, family: int, port: int = 33434) -> t.Dict[str, t.Any]:
    collections = str(Path(__file__).resolve().parents[2] / ".build" / "collections")
    proc = lab.run("h1", ["env", "PYTHONPATH=" + collections, sys.executable, "-c", TRACE, kind,
                          lab.address("h2", family), str(port)], timeout=120)
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


def branch_addresses(lab: Lab, family: int) -> t.Set[str]:
    return {lab.addresses(node)["ipv%d" % family][0] for node in BRANCHES}


@pytest.mark.parametrize("family", [4, 6])
def test_multipath_trace_finds_both_branches(lab_ecmp: Lab, family: int) -> None:
    report = trace(lab_ecmp, "multipath", family)
    hops = report["hops"]
    assert len(hops) == 4 and hops[-1]["status"] == "destination", hops
    assert set(hops[1]["addresses"]) == branch_addresses(lab_ecmp, family)
    # r4 answers from the address of the interface its (multipath) route back to h1 leaves
    # by, so it shows up with its r2-side and its r3-side address: both are r4's.
    r4 = set(lab_ecmp.addresses("r4")["ipv%d" % family])
    assert set(hops[2]["addresses"]) <= r4
    assert hops[1]["answered"] >= 11 and hops[1]["confidence"] >= 0.95
    assert report["branches"] == 2 and report["all_reached"] and report["failing"] == []
    assert all(hops[1]["next_hops"][branch] and set(hops[1]["next_hops"][branch]) <= r4
               for branch in hops[1]["addresses"])


def test_classic_trace_shows_one_branch_per_flow(lab_ecmp: Lab) -> None:
    seen: t.Set[str] = set()
    for port in range(33434, 33446):
        hops = trace(lab_ecmp, "classic", 4, port)["hops"]
        assert len(hops[1]["addresses"]) == 1, hops
        seen.update(hops[1]["addresses"])
    assert seen == branch_addresses(lab_ecmp, 4)


def test_multipath_trace_names_the_branch_that_drops(lab_ecmp: Lab) -> None:
    drop = "table inet ecmpdrop {\n chain forward {\n type filter hook forward priority 0;\n udp dport 33434 drop\n }\n}\n"
    lab_ecmp.nft("r3", drop)
    try:
        report = trace(lab_ecmp, "multipath", 4)
    finally:
        lab_ecmp.run("r3", ["nft", "delete", "table", "inet", "ecmpdrop"])
    r3 = [address for address in lab_ecmp.addresses("r3")["ipv4"] if address in report["hops"][1]["addresses"]]
    assert report["reached"] and not report["all_reached"]
    assert report["failing"] == r3 and len(r3) == 1
