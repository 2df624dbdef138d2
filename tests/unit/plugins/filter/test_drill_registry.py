# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill registry and bookkeeping filters: plan, record, timeline table, addresses, flood verdict."""
from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter import (
    drill_addresses as addresses_plugin, drill_flood_verdict as flood_plugin, drill_plan as plan_plugin,
    drill_record as record_plugin, drill_timeline_table as table_plugin)
from ansible_collections.netdevops.icmp.plugins.filter.drill_addresses import drill_addresses
from ansible_collections.netdevops.icmp.plugins.filter.drill_flood_verdict import drill_flood_verdict
from ansible_collections.netdevops.icmp.plugins.filter.drill_plan import drill_plan
from ansible_collections.netdevops.icmp.plugins.filter.drill_record import drill_record
from ansible_collections.netdevops.icmp.plugins.filter.drill_timeline_table import drill_timeline_table
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import registry

REPO = Path(__file__).resolve().parents[4]
SEGMENT = {"name": "lan1", "ipv4": "192.0.2.0/24", "members": {
    "h1": {"ipv4": "192.0.2.10", "ipv6": None}, "r1": {"ipv4": "192.0.2.1", "ipv6": None},
    "x1": {"ipv4": "192.0.2.66", "ipv6": None}}, "controller": None}
# the same LAN with IPv6 too (drill rogue_ra)
SEGMENT_V6 = dict(SEGMENT, ipv6="2001:db8:10::/64", members={
    name: dict(member, ipv6="2001:db8:10::%s" % member["ipv4"].rsplit(".", 1)[1])
    for name, member in SEGMENT["members"].items()})
INTERFACES = {"h1": [{"ifname": "eth0", "ipv4": "198.51.100.10/24"}, {"ifname": "lan1", "ipv4": "192.0.2.10/24"}],
              "x1": [{"ifname": "lan0", "ipv4": "192.0.2.66/24"}]}
# two BGP routers across a 1280 hop, for bgp_pmtud
BGP_INTERFACES = {"b1": [{"mtu": 1500}], "m1": [{"mtu": 1500}, {"mtu": 1280}], "b2": [{"mtu": 1500}]}
BGP_FRR = {"b1": {"vtysh": "/usr/bin/vtysh", "networks": 9, "neighbors": [{"node": "b2", "address": "203.0.113.2"}]},
           "b2": {"vtysh": "/usr/bin/vtysh", "networks": 0, "neighbors": [{"node": "b1", "address": "198.51.100.1"}]}}
# a VXLAN between t1 and t2, for overlay_mtu (lab_tunnels)
TUNNEL = {"name": "ov1", "ifname": "nl-ov1", "mtu": 1450, "fitting_mtu": 1450, "underlay_mtu": 1500,
          "underlay_family": 4, "df": "unset", "a": {"node": "t1", "ipv4": "192.0.2.9", "ipv6": "2001:db8:0:3::1"},
          "b": {"node": "t2", "ipv4": "192.0.2.10", "ipv6": "2001:db8:0:3::2"}}
# h1 - r1 - {e1 | e2} - r2 - h3, r1 with a multipath route to h3's link, for ecmp_partial
ECMP_INTERFACES = {
    "h1": [dict(INTERFACES["h1"][0], peer="r1"), dict(INTERFACES["h1"][1], peer="lan1")],
    "r1": [{"ipv4": "198.51.100.1/24", "peer": "h1"}, {"ipv4": "203.0.113.1/30", "peer": "e1"},
           {"ipv4": "203.0.113.5/30", "peer": "e2"}],
    "e1": [{"ipv4": "203.0.113.2/30", "peer": "r1"}, {"ipv4": "203.0.113.9/30", "peer": "r2"}],
    "e2": [{"ipv4": "203.0.113.6/30", "peer": "r1"}, {"ipv4": "203.0.113.13/30", "peer": "r2"}],
    "r2": [{"ipv4": "203.0.113.10/30", "peer": "e1"}, {"ipv4": "203.0.113.14/30", "peer": "e2"},
           {"ipv4": "203.0.113.17/30", "peer": "h3"}],
    "h3": [{"ipv4": "203.0.113.18/30", "peer": "r2"}]}
ECMP_MULTIPATH = {"r1": [{"family": "ipv4", "destination": "203.0.113.16/30",
                          "nexthops": [{"via": "203.0.113.2", "dev": "nl-e1"}, {"via": "203.0.113.6", "dev": "nl-e2"}]}]}
LAB: t.Dict[str, t.Any] = {
    "client": "h1", "router": "r1", "server": "h2", "client_v4": "198.51.100.10", "client_v6": "2001:db8:1::10",
    "server_v4": "203.0.113.10", "server_v6": "2001:db8:2::10", "ssh_host": "h1_ssh", "segments": [],
}


def lab(**changes: t.Any) -> t.Dict[str, t.Any]:
    return dict(LAB, **changes)


def test_every_registered_drill_has_its_task_file_and_guide() -> None:
    for drill in registry.DRILLS:
        assert (REPO / "roles" / "drill" / "tasks" / drill.tasks).is_file(), drill.tasks
        assert (REPO / drill.guide).is_file(), drill.guide
        assert set(drill.needs) <= set(registry.NEEDS), drill
    task_files = {path.name for path in (REPO / "roles" / "drill" / "tasks").glob("drill_*.yml")}
    assert task_files == {drill.tasks for drill in registry.DRILLS}, "a task file without a registry entry"


def test_all_runs_every_drill_in_registry_order_on_a_lab_with_a_lan() -> None:
    plan = drill_plan(["all"], lab(segments=[SEGMENT_V6], interfaces=dict(INTERFACES, **BGP_INTERFACES, **ECMP_INTERFACES),
                                   frr=BGP_FRR, tunnels=[TUNNEL], hosts=["h1", "h3", "h2"], multipath=ECMP_MULTIPATH))
    assert [d["name"] for d in plan["drills"]] == [d.name for d in registry.DRILLS]
    assert plan["drills"][0]["tasks"] == "drill_pmtud_blackhole.yml"
    assert plan["refused"] == [] and plan["skipped"] == []


def test_all_on_a_lab_without_a_lan_skips_the_lan_drills_and_says_why() -> None:
    plan = drill_plan(["all"], LAB)
    assert "redirect" not in [d["name"] for d in plan["drills"]]
    assert plan["skipped"][0] == ("redirect (needs a LAN segment with IPv4 that has the client, the router and a third node "
                                  "(the rogue, icmp_drill_rogue) as members ('segments' in the lab topology))")
    skipped = ["redirect", "rogue_ra", "bgp_pmtud", "overlay_mtu", "ecmp_partial"]
    assert [item.split(" ")[0] for item in plan["skipped"]] == skipped
    assert plan["lab"]["lan"] is None


def test_named_drills_keep_their_order_and_run_once() -> None:
    plan = drill_plan(["flood", "echo_blocked", "flood"], LAB)
    assert [d["name"] for d in plan["drills"]] == ["flood", "echo_blocked"]


def test_an_unknown_drill_is_refused_naming_the_known_ones() -> None:
    plan = drill_plan(["echo_blocked", "bogus"], LAB)
    assert plan["refused"] == ["unknown drill 'bogus': known drills are %s, or all"
                               % ", ".join(d.name for d in registry.DRILLS)]


def test_a_named_drill_the_lab_cannot_run_is_refused_with_what_is_missing() -> None:
    plan = drill_plan(["nd_blocked", "policy_cutoff"], lab(server_v6=None, ssh_host=""))
    assert len(plan["refused"]) == 2
    assert plan["refused"][0].startswith("drill nd_blocked cannot run on this lab: it needs IPv6 addresses")
    assert "the client managed over SSH across the lab" in plan["refused"][1]


def test_all_skips_what_the_lab_cannot_run_and_says_why() -> None:
    plan = drill_plan(["all"], lab(client_v6=None))
    names = [d["name"] for d in plan["drills"]]
    assert "nd_blocked" not in names and "pmtud_blackhole" not in names and "flood" in names
    assert plan["refused"] == []
    assert plan["skipped"][0] == "pmtud_blackhole (needs IPv6 addresses on the client and the server)"


def test_lan_segment_need_wants_client_router_and_a_rogue_on_one_segment() -> None:
    need = registry.NEEDS["lan_segment"]
    assert not need.met(LAB)
    assert need.met(lab(segments=[SEGMENT]))
    assert not need.met(lab(segments=[SEGMENT], client="h9"))
    assert not need.met(lab(segments=[SEGMENT], rogue="h2"))
    two = dict(SEGMENT, members={k: v for k, v in SEGMENT["members"].items() if k != "x1"})
    assert not need.met(lab(segments=[two]))


def test_the_plan_casts_the_lan_parts() -> None:
    plan = drill_plan(["redirect"], lab(segments=[SEGMENT], interfaces=INTERFACES))
    assert plan["refused"] == []
    assert plan["lab"]["lan"] == {
        "segment": "lan1", "client": "h1", "gateway": "r1", "rogue": "x1", "client_v4": "192.0.2.10",
        "gateway_v4": "192.0.2.1", "rogue_v4": "192.0.2.66", "client_ifname": "lan1", "rogue_ifname": "lan0",
        "bogus_v4": "192.0.2.254"}


def test_a_named_lan_drill_on_a_lab_without_a_lan_is_refused() -> None:
    plan = drill_plan(["redirect"], LAB)
    assert plan["refused"] == ["drill redirect cannot run on this lab: it needs a LAN segment with IPv4 that has the "
                               "client, the router and a third node (the rogue, icmp_drill_rogue) as members "
                               "('segments' in the lab topology)"]


@pytest.mark.parametrize("names", ["all", None, [1], {"all": 1}])
def test_plan_refuses_names_that_are_not_a_list_of_strings(names: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match="icmp_drill_names must be a list"):
        drill_plan(names, LAB)


TIMES = {"t0": 100.0, "injected": "101.5", "detected": 103.25, "recovered": 104.0}


def test_record_computes_the_timeline_and_passes_with_the_expected_verdict() -> None:
    result = drill_record("flood", TIMES, verdict={"verdict": "limit_held", "diagnosis": "held"}, details={"a": 1})
    assert result == {"drill": "flood", "passed": True, "diagnosis": "held", "error": None,
                      "timeline": {"inject_s": 1.5, "detect_s": 1.75, "recover_s": 0.75},
                      "details": {"a": 1, "verdict": "limit_held", "capture": None}}
    seen = {"interfaces": ["nl-r1"], "evidence": ["3 echo requests left nl-r1, no reply arrived"]}
    with_capture = drill_record("flood", TIMES, verdict={"verdict": "limit_held", "diagnosis": "held", "capture": seen})
    assert with_capture["details"]["capture"] == seen, "the wire evidence reaches the report"


def test_record_fails_a_drill_whose_verdict_is_not_the_expected_one() -> None:
    result = drill_record("flood", TIMES, verdict={"verdict": "limit_broken", "diagnosis": "broken"})
    assert not result["passed"]
    assert result["error"] == "diagnosed limit_broken, but drill flood must diagnose limit_held"


def test_record_of_a_drill_that_stopped_early_has_nulls_and_fails() -> None:
    result = drill_record("echo_blocked", {"t0": 100.0, "injected": 101.0, "detected": None, "recovered": None},
                          verdict={}, details={}, error="Echo | inject: failed")
    assert result["timeline"] == {"inject_s": 1.0, "detect_s": None, "recover_s": None}
    assert result["diagnosis"] == "no diagnosis: the drill stopped before detection"
    assert not result["passed"] and result["error"] == "Echo | inject: failed"


def test_record_refuses_a_timestamp_that_is_not_a_number() -> None:
    with pytest.raises(AnsibleFilterError, match="injected must be a timestamp in seconds.*'soon'"):
        drill_record("flood", dict(TIMES, injected="soon"))


def test_timeline_table_aligns_the_columns() -> None:
    results = [drill_record("flood", TIMES, verdict={"verdict": "limit_held", "diagnosis": "held"}),
               drill_record("echo_blocked", {"t0": 1.0}, error="x")]
    assert drill_timeline_table(results) == [
        "drill         result  inject s  detect s  recover s  verdict",
        "flood         PASS    1.5       1.8       0.8        limit_held",
        "echo_blocked  FAIL    -         -         -          -",
    ]


def test_addresses_flatten_node_addresses_ipv4_first() -> None:
    nodes = [{"ipv4": ["198.51.100.1", "203.0.113.1"], "ipv6": ["2001:db8:1::1"]}, {"ipv4": [], "ipv6": ["2001:db8:2::10"]}]
    assert drill_addresses(nodes) == ["198.51.100.1", "203.0.113.1", "2001:db8:1::1", "2001:db8:2::10"]
    assert drill_addresses(node for node in nodes) == drill_addresses(nodes)
    assert drill_addresses(nodes[1:], min_mtu=1400) == [{"target": "2001:db8:2::10", "min_mtu": 1400}]


def test_addresses_refuse_what_is_not_lab_addresses() -> None:
    with pytest.raises(AnsibleFilterError, match="expected the lab_addresses of lab nodes.*None"):
        drill_addresses([None])
    with pytest.raises(AnsibleFilterError, match="expected a list of lab_addresses"):
        drill_addresses({"ipv4": []})


def ping(sent: int, received: int) -> t.Dict[str, t.Any]:
    return {"results": [{"sent": sent, "received": received, "reachable": received > 0}]}


def stats(echo_requests: int) -> t.Dict[str, t.Any]:
    return {"counters": {"ipv4": {"in_by_type": {"echo-request": echo_requests}}}}


def flood(admitted: int, sent: int = 2000, witness: bool = True) -> t.Dict[str, t.Any]:
    return drill_flood_verdict(ping(sent, admitted), stats(500), stats(500 + admitted), ping(3, 3 if witness else 0),
                               rate=10, burst=20, seconds=2.0, target="203.0.113.10", witness_name="r1")


def test_flood_within_the_limit_held() -> None:
    outcome = flood(45)
    assert outcome["verdict"] == "limit_held"
    assert outcome["diagnosis"] == ("echo rate limit on 203.0.113.10 held: 45 of 2000 flood requests reached ICMP "
                                    "(at most 50 allowed by 10/second burst 20), 45 answered; reachability from r1 passes")
    assert outcome["details"]["allowed_at_most"] == 50


def test_flood_over_the_limit_says_broken_not_held() -> None:
    """The old diagnosis said "held" whatever the verdict."""
    outcome = flood(400)
    assert outcome["verdict"] == "limit_broken"
    assert outcome["diagnosis"].startswith("echo rate limit on 203.0.113.10 broken: 400 requests got through, more than the 50")
    assert "held" not in outcome["diagnosis"]


def test_flood_that_starves_other_sources_is_broken() -> None:
    outcome = flood(45, witness=False)
    assert outcome["verdict"] == "limit_broken"
    assert "starved others" in outcome["diagnosis"] and "reachability from r1 FAILS" in outcome["diagnosis"]


def test_flood_too_small_tests_nothing() -> None:
    outcome = flood(30, sent=40)
    assert outcome["verdict"] == "flood_too_small"
    assert "sent only 40 requests" in outcome["diagnosis"]


def test_flood_refuses_a_result_that_is_not_a_ping_result() -> None:
    with pytest.raises(AnsibleFilterError, match="flood must be the registered result of netdevops.icmp.ping"):
        drill_flood_verdict({"stdout": "2000 packets transmitted"}, stats(0), stats(0), ping(3, 3), 10, 20, 2)


@pytest.mark.parametrize("module", [addresses_plugin, flood_plugin, plan_plugin, record_plugin, table_plugin])
def test_each_plugin_exports_its_filter(module: t.Any) -> None:
    name = module.__name__.rsplit(".", 1)[-1]
    assert module.FilterModule().filters() == {name: getattr(module, name)}
