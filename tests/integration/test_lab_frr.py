# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real FRR bgpd in lab routers: sessions across a routed path, thousands of prefixes, and a clean lab_down."""
from __future__ import annotations

import json
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr

from .conftest import Lab, build_lab

pytestmark = [pytest.mark.root, pytest.mark.lab]

TOPOLOGY: t.Dict[str, t.Any] = {
    "name": "bgp",
    "nodes": [
        {"name": "r1", "role": "router", "frr": {
            "asn": 64500, "neighbors": [{"node": "r2", "address": "2001:db8:2::2"}], "networks": ["203.0.113.0/24"]}},
        {"name": "m", "role": "router"},
        {"name": "r2", "role": "router", "frr": {
            "asn": 64500, "neighbors": [{"node": "r1", "address": "2001:db8:1::1"}],
            "announce": {"pool": "2001:db8:8000::/33", "prefixlen": 64, "count": 3000}}},
    ],
    "links": [
        {"a": {"node": "r1", "ipv4": "198.51.100.1", "ipv6": "2001:db8:1::1"},
         "b": {"node": "m", "ipv4": "198.51.100.2", "ipv6": "2001:db8:1::2"},
         "ipv4": "198.51.100.0/24", "ipv6": "2001:db8:1::/64"},
        {"a": {"node": "m", "ipv4": "203.0.113.1", "ipv6": "2001:db8:2::1"},
         "b": {"node": "r2", "ipv4": "203.0.113.2", "ipv6": "2001:db8:2::2"},
         "ipv4": "203.0.113.0/24", "ipv6": "2001:db8:2::/64", "mtu": 1400},
    ],
}


def bgp_summary(lab: Lab, node: str) -> t.Dict[str, t.Any]:
    argv = frr.vtysh_argv(lab.paths.node_dir(node), "show bgp summary json")
    return t.cast(t.Dict[str, t.Any], json.loads(lab.run(node, argv).stdout))


def wait_established(lab: Lab, node: str, peer: str, prefixes: int, timeout_s: float = 60) -> t.Dict[str, t.Any]:
    deadline = time.monotonic() + timeout_s
    state: t.Dict[str, t.Any] = {}
    while time.monotonic() < deadline:
        state = bgp_summary(lab, node).get("ipv6Unicast", {}).get("peers", {}).get(peer, {})
        if state.get("state") == "Established" and state.get("pfxRcd") == prefixes:
            return state
        time.sleep(0.5)
    raise AssertionError("%s: session to %s not Established with %d prefixes: %r" % (node, peer, prefixes, state))


def bgpd_pids(lab: Lab) -> t.List[int]:
    found = subprocess.run(["pgrep", "-f", "bgpd .*%s/" % lab.paths.lab_dir], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def lab(tmp_path: Path) -> t.Iterator[Lab]:
    built = build_lab(TOPOLOGY, tmp_path)
    try:
        yield built
    finally:
        built.down()


def test_ibgp_across_a_router_carries_3000_prefixes_and_down_stops_bgpd(lab: Lab) -> None:
    state = wait_established(lab, "r1", "2001:db8:2::2", 3000)
    assert state["remoteAs"] == 64500
    assert len(bgpd_pids(lab)) == 2
    again = lab.engine.up(lab.topology)
    assert again.changed is False, again.commands
    lab.down()
    assert bgpd_pids(lab) == []
    assert not Path(lab.paths.lab_dir).exists()


def test_a_killed_bgpd_is_started_again_by_the_next_up(lab: Lab) -> None:
    wait_established(lab, "r1", "2001:db8:2::2", 3000)
    pid = int(Path(frr.pid_path(lab.paths.node_dir("r2"))).read_text(encoding="utf-8"))
    subprocess.run(["kill", "-KILL", str(pid)], check=True)
    outcome = lab.engine.up(lab.topology)
    assert outcome.changed is True
    assert any("/usr/lib/frr/bgpd" in command for command in outcome.commands)
    wait_established(lab, "r1", "2001:db8:2::2", 3000)


INCIDENT: t.Dict[str, t.Any] = {
    # r1 -1500- m1 -1280- m2 -1500- r2: both ends advertise an MSS of 1460, only the middle is small.
    "name": "bgpmtu",
    "nodes": [
        {"name": "r1", "role": "router", "frr": {
            "asn": 64500, "neighbors": [{"node": "r2", "address": "203.0.113.2"}],
            "announce": {"pool": "192.0.2.0/24", "prefixlen": 32, "count": 256},
            "networks": ["198.51.100.128/25"]}},
        {"name": "m1", "role": "router"},
        {"name": "m2", "role": "router"},
        {"name": "r2", "role": "router", "frr": {"asn": 64500, "neighbors": [{"node": "r1", "address": "198.51.100.1"}]}},
    ],
    "links": [
        {"a": {"node": "r1", "ipv4": "198.51.100.1", "ipv6": "2001:db8:1::1"},
         "b": {"node": "m1", "ipv4": "198.51.100.2", "ipv6": "2001:db8:1::2"},
         "ipv4": "198.51.100.0/25", "ipv6": "2001:db8:1::/64"},
        {"a": "m1", "b": "m2", "mtu": 1280},
        {"a": {"node": "m2", "ipv4": "203.0.113.1", "ipv6": "2001:db8:2::1"},
         "b": {"node": "r2", "ipv4": "203.0.113.2", "ipv6": "2001:db8:2::2"},
         "ipv4": "203.0.113.0/24", "ipv6": "2001:db8:2::/64"},
    ],
}
DROP_FRAG_NEEDED = """
table inet drill {
  chain input {
    type filter hook input priority -10; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
  }
}
"""


def ipv4_peer(lab: Lab, node: str, peer: str) -> t.Dict[str, t.Any]:
    return t.cast(t.Dict[str, t.Any], bgp_summary(lab, node).get("ipv4Unicast", {}).get("peers", {}).get(peer, {}))


def test_dropped_frag_needed_black_holes_the_updates_and_the_session_flaps(tmp_path: Path) -> None:
    """The user's opening incident: OPEN and KEEPALIVE fit, the full-size UPDATEs do not."""
    lab = build_lab(INCIDENT, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while ipv4_peer(lab, "r2", "198.51.100.1").get("pfxRcd") != 257 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ipv4_peer(lab, "r2", "198.51.100.1").get("pfxRcd") == 257
        # The bad policy, then a fresh start: r1 forgets the path MTU it learnt and the session restarts.
        lab.nft("r1", DROP_FRAG_NEEDED)
        lab.run("r1", ["ip", "route", "flush", "cache"])
        lab.run("r1", frr.vtysh_argv(lab.paths.node_dir("r1"), "clear bgp *"))
        dropped = ipv4_peer(lab, "r2", "198.51.100.1").get("connectionsDropped", 0)
        deadline = time.monotonic() + 45
        while ipv4_peer(lab, "r2", "198.51.100.1").get("connectionsDropped", 0) < dropped + 2:
            assert time.monotonic() < deadline, ipv4_peer(lab, "r2", "198.51.100.1")
            assert ipv4_peer(lab, "r2", "198.51.100.1").get("pfxRcd", 0) < 257
            time.sleep(0.5)
        # Recovery: frag-needed reaches r1 again; the next session carries every prefix and stays up.
        lab.run("r1", ["nft", "delete", "table", "inet", "drill"])
        deadline = time.monotonic() + 60
        while ipv4_peer(lab, "r2", "198.51.100.1").get("pfxRcd") != 257:
            assert time.monotonic() < deadline, ipv4_peer(lab, "r2", "198.51.100.1")
            time.sleep(0.5)
        settled = ipv4_peer(lab, "r2", "198.51.100.1")["connectionsDropped"]
        time.sleep(12)  # longer than the hold time
        after = ipv4_peer(lab, "r2", "198.51.100.1")
        assert after["state"] == "Established" and after["connectionsDropped"] == settled
    finally:
        lab.down()
