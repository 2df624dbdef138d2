# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill filters: diagnosis from combined probe results, drill results as report hosts."""
from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter import drill_diagnosis as diagnosis_plugin
from ansible_collections.netdevops.icmp.plugins.filter import drill_report_hosts as report_hosts_plugin
from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis
from ansible_collections.netdevops.icmp.plugins.filter.drill_report_hosts import drill_report_hosts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import model

TARGET = "203.0.113.10"


def ping(reachable: bool) -> t.Dict[str, t.Any]:
    return {"results": [{"address": TARGET, "reachable": reachable, "loss_pct": 0.0 if reachable else 100.0}]}


def pmtud(path_mtu: t.Optional[int], black_hole: bool = False) -> t.Dict[str, t.Any]:
    return {"destination": TARGET, "path_mtu": path_mtu, "black_hole": black_hole}


def test_echo_lost_but_tcp_connects_is_echo_filtered_not_host_down() -> None:
    verdict = drill_diagnosis(ping(False), tcp={"connected": True, "error": None}, pmtud=pmtud(1400))
    assert verdict["verdict"] == "echo_filtered"
    assert verdict["diagnosis"].startswith("ICMP echo filtered towards 203.0.113.10")
    assert "host down" not in verdict["diagnosis"]


def test_a_refused_connection_proves_the_host_is_up() -> None:
    verdict = drill_diagnosis(ping(False), tcp={"connected": False, "error": "connect: [Errno 111] Connection refused"})
    assert verdict["verdict"] == "echo_filtered"


def test_nothing_answers_is_host_down() -> None:
    verdict = drill_diagnosis(ping(False), tcp={"connected": False, "error": "connect: timed out"}, pmtud=pmtud(None))
    assert verdict["verdict"] == "host_down"
    assert "host down" in verdict["diagnosis"]


def test_black_hole_wins_over_everything() -> None:
    verdict = drill_diagnosis(ping(True), tcp={"connected": True, "completed": False}, pmtud=pmtud(1400, True))
    assert verdict["verdict"] == "pmtud_black_hole"
    assert "packets up to 1400 bytes pass" in verdict["diagnosis"]


@pytest.mark.parametrize("state", ["FAILED", "incomplete"])
def test_failed_neighbour_entry_is_nd(state: str) -> None:
    verdict = drill_diagnosis(ping(False), neighbour=state, target="2001:db8:2::10")
    assert verdict["verdict"] == "nd_failed"
    assert "2001:db8:2::10" in verdict["diagnosis"]


def test_reachable_neighbour_with_lost_echo_is_not_nd() -> None:
    assert drill_diagnosis(ping(False), neighbour="REACHABLE")["verdict"] == "host_down"


@pytest.mark.parametrize("status", ["rate_limited", "filtered"])
def test_rate_limited_or_filtered_hop_is_named_by_ttl(status: str) -> None:
    trace = {"reached": True, "hops": [{"ttl": 1, "address": None, "status": status},
                                       {"ttl": 2, "address": TARGET, "status": "destination"}]}
    verdict = drill_diagnosis(ping(True), traceroute=trace)
    assert verdict["verdict"] == "icmp_rate_limited"
    assert "hop(s) 1 (no answer)" in verdict["diagnosis"]
    assert "not a broken hop" in verdict["diagnosis"]


def test_trace_that_stops_is_a_broken_hop() -> None:
    trace = {"reached": False, "hops": [{"ttl": 1, "address": "198.51.100.1", "status": "ok"},
                                        {"ttl": 2, "address": None, "status": "silent"}]}
    assert drill_diagnosis(ping(True), traceroute=trace)["verdict"] == "broken_hop"


def test_healthy() -> None:
    verdict = drill_diagnosis(ping(True), tcp={"connected": True})
    assert verdict == {"verdict": "healthy", "diagnosis": "203.0.113.10 answers echo and TCP"}


def test_bad_ping_input_is_a_clear_error() -> None:
    with pytest.raises(AnsibleFilterError, match="ping must be a ping result"):
        drill_diagnosis("up")


def test_report_hosts_build_a_valid_report() -> None:
    results = [
        {"drill": "echo_blocked", "passed": True, "diagnosis": "ICMP echo filtered towards x", "error": None,
         "timeline": {"inject_s": 0.5, "detect_s": 2.0, "recover_s": 1.0}, "details": {"target": TARGET}},
        {"drill": "rate_limit", "passed": False, "diagnosis": "no diagnosis", "error": "step: boom",
         "timeline": {"inject_s": None, "detect_s": None, "recover_s": None}, "details": {}},
    ]
    hosts = drill_report_hosts(results, {"server_v4": "203.0.113.99"})
    assert sorted(hosts) == ["drill_echo_blocked", "drill_rate_limit"]
    failed = hosts["drill_rate_limit"]["checks"][0]
    assert failed["status"] == "fail" and failed["failures"] == ["step: boom"]
    assert failed["kind"] == "drill" and failed["target"] == "203.0.113.99"
    passed = hosts["drill_echo_blocked"]["checks"][0]
    assert passed["measured"] == {"verdict": None, "diagnosis": "ICMP echo filtered towards x"}
    report = model.build_report(hosts, kind="checks", title="Disaster drills")
    assert report["status"] == "fail"
    assert report["summary"]["hosts_failed"] == 1


def test_report_hosts_refuse_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match="expected the list icmp_drill_results"):
        drill_report_hosts({"drill": "x"})
    with pytest.raises(AnsibleFilterError, match="each result needs drill"):
        drill_report_hosts([{"passed": True}])


def test_filters_are_registered() -> None:
    assert diagnosis_plugin.FilterModule().filters() == {"drill_diagnosis": drill_diagnosis}
    assert report_hosts_plugin.FilterModule().filters() == {"drill_report_hosts": drill_report_hosts}


def test_echo_lost_one_way_only_is_asymmetric_filtering() -> None:
    verdict = drill_diagnosis(ping(False), tcp={"connected": True, "error": None}, reverse=ping(True))
    assert verdict["verdict"] == "asymmetric_filtering"
    assert verdict["diagnosis"].startswith("ICMP filtered in one direction only: echo towards 203.0.113.10 fails")


def test_both_directions_lost_is_not_asymmetric() -> None:
    verdict = drill_diagnosis(ping(False), tcp={"connected": True, "error": None}, reverse=ping(False))
    assert verdict["verdict"] == "echo_filtered"


def test_a_route_via_another_next_hop_than_the_gateway_is_redirected() -> None:
    route = {"dst": TARGET, "gateway": "192.0.2.254", "dev": "eth0"}
    verdict = drill_diagnosis(ping(False), route=route, gateway="192.0.2.1", target=TARGET)
    assert verdict["verdict"] == "redirected"
    assert verdict["diagnosis"] == ("traffic to 203.0.113.10 redirected: the route lookup says via 192.0.2.254, not the "
                                    "gateway 192.0.2.1 (a next hop learnt from an ICMP redirect); echo fails")


def test_a_route_via_the_gateway_is_not_redirected() -> None:
    verdict = drill_diagnosis(ping(True), route={"dst": TARGET, "gateway": "192.0.2.1"}, gateway="192.0.2.1")
    assert verdict["verdict"] == "healthy"
