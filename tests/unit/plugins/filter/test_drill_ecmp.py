# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ecmp_partial drill's pure parts: the diamond from the lab facts, the diagnosis of a multipath trace."""
from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis
from ansible_collections.netdevops.icmp.plugins.filter.drill_plan import drill_plan
from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.sshd import LabPaths
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.ecmp import ecmp_parts

REPO = Path(__file__).resolve().parents[4]
DIAMOND = Path(__file__).resolve().parent / "fixtures" / "ecmp_diamond.yml"
SHIPPED = REPO / "roles" / "lab" / "files" / "topologies"
SMALL = REPO / "tests" / "unit" / "plugins" / "module_utils" / "_lab" / "fixtures" / "small.yml"  # h1 - r1 - h2


def load(path: Path, **changes: t.Any) -> t.Dict[str, t.Any]:
    data = t.cast(t.Dict[str, t.Any], yaml.safe_load(path.read_text()))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def drill_lab(topology: t.Dict[str, t.Any], client: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """icmp_drill_lab as roles/drill/tasks/main.yml builds it from the lab inventory."""
    topo = parse_topology(topology)
    groups = inventory.build_inventory(topo, LabPaths("/run/lab", topo.name), "/usr/bin/python3")["all"]["children"]
    hosts = dict(groups["lab_hosts"]["hosts"], **groups["lab_routers"]["hosts"])
    names = list(groups["lab_hosts"]["hosts"])
    client = client or names[0]
    return {
        "client": client, "server": names[-1], "router": list(groups["lab_routers"]["hosts"])[0],
        "client_v4": hosts[client]["lab_addresses"]["ipv4"][0], "hosts": names,
        "interfaces": {name: host["lab_interfaces"] for name, host in hosts.items()},
        "multipath": {name: host["lab_multipath"] for name, host in hosts.items() if "lab_multipath" in host},
    }


DIAMOND_PARTS = {
    "client": "h1", "entry": "r1", "destination": "h3", "destination_v4": "198.51.100.146",
    "prefix": "198.51.100.144/30", "failing": "e2", "hops": 4,
    "branches": [{"node": "e1", "via": "198.51.100.130"}, {"node": "e2", "via": "198.51.100.134"}],
    "branch_addresses": {"e1": ["198.51.100.130", "198.51.100.137"], "e2": ["198.51.100.134", "198.51.100.141"]},
}


def test_the_inventory_lists_multipath_routes_on_the_nodes_that_hold_them() -> None:
    topo = parse_topology(load(SHIPPED / "ecmp.yml"))
    groups = inventory.build_inventory(topo, LabPaths("/run/lab", topo.name), "/usr/bin/python3")["all"]["children"]
    routers, hosts = groups["lab_routers"]["hosts"], groups["lab_hosts"]["hosts"]
    assert routers["r1"]["lab_multipath"][0] == {
        "family": "ipv4", "destination": "192.0.2.20/30",
        "nexthops": [{"via": "192.0.2.6", "dev": "nl-r2"}, {"via": "192.0.2.10", "dev": "nl-r3"}]}
    assert sorted(name for name, host in dict(routers, **hosts).items() if "lab_multipath" in host) == ["r1", "r4"]


def test_the_default_shaped_diamond_casts_h1_r1_e1_e2_and_h3() -> None:
    assert ecmp_parts(drill_lab(load(DIAMOND))) == DIAMOND_PARTS


def test_the_shipped_default_casts_h1_r1_e1_e2_and_h3() -> None:
    parts = ecmp_parts(drill_lab(load(SHIPPED / "default.yml")))
    assert parts is not None
    assert (parts["client"], parts["entry"], parts["destination"], parts["destination_v4"], parts["failing"]) == (
        "h1", "r1", "h3", "198.51.100.150", "e2")
    assert [branch["node"] for branch in parts["branches"]] == ["e1", "e2"]


def test_the_shipped_ecmp_topology_casts_r1_r2_r3_and_h2() -> None:
    parts = ecmp_parts(drill_lab(load(SHIPPED / "ecmp.yml")))
    assert parts is not None
    assert (parts["client"], parts["entry"], parts["destination"], parts["destination_v4"], parts["failing"]) == (
        "h1", "r1", "h2", "192.0.2.22", "r3")
    assert [branch["node"] for branch in parts["branches"]] == ["r2", "r3"]


def test_a_client_on_the_far_side_goes_through_the_other_entry_router() -> None:
    parts = ecmp_parts(drill_lab(load(SHIPPED / "ecmp.yml"), client="h2"))
    assert parts is not None and (parts["entry"], parts["destination"]) == ("r4", "h1")


@pytest.mark.parametrize("topology", [
    pytest.param(lambda: load(SMALL), id="small-lab-without-ecmp"),
    pytest.param(lambda: load(DIAMOND, ecmp=None), id="diamond-without-ecmp-auto"),
    pytest.param(lambda: load(DIAMOND, ecmp={"auto": True, "hash_policy": 1}, links=load(DIAMOND)["links"][:3]
                              + [{"a": "e1", "b": "r2"}, {"a": "r2", "b": "h3"}]), id="one-branch-only"),
])
def test_a_lab_without_equal_cost_paths_refuses_the_drill_naming_what_is_missing(topology: t.Any) -> None:
    lab = drill_lab(topology())
    assert ecmp_parts(lab) is None
    plan = drill_plan(["ecmp_partial"], lab)
    assert plan["drills"] == []
    assert plan["refused"] == [
        "drill ecmp_partial cannot run on this lab: it needs equal-cost paths between the client and a host behind"
        " them: a router on the client's path with an IPv4 multipath route to that host's prefix whose next hops are"
        " two lab nodes ('ecmp: {auto: true}' in the topology with two equal-cost branches, or 'routes' with several"
        " 'via'; see roles/lab/files/topologies/ecmp.yml)"]


def test_the_plan_runs_the_drill_with_its_parts() -> None:
    plan = drill_plan(["ecmp_partial"], drill_lab(load(DIAMOND)))
    assert plan["refused"] == [] and [drill["name"] for drill in plan["drills"]] == ["ecmp_partial"]
    assert plan["drills"][0]["tasks"] == "drill_ecmp_partial.yml"
    assert plan["lab"]["ecmp"] == DIAMOND_PARTS


# --- the diagnosis of a multipath traceroute from h1 to h3 ------------------------------------
R1, E1, E2, R2_E1, R2_E2, H3 = ("198.51.100.1", "198.51.100.130", "198.51.100.134", "198.51.100.137",
                                "198.51.100.141", "198.51.100.146")


def trace(branch_of: t.Sequence[str], lost_after: t.Sequence[str] = ()) -> t.Dict[str, t.Any]:
    """A multipath result: flow i takes branch_of[i]; flows on a branch in lost_after vanish after it."""
    flows = []
    for branch in branch_of:
        back = R2_E1 if branch == E1 else R2_E2
        flows.append([R1, branch, None, None] if branch in lost_after else [R1, branch, back, H3])
    hops = []
    for index, status in enumerate(("ok", "ok", "ok", "destination")):
        by_address: t.Dict[str, t.List[int]] = {}
        for number, path in enumerate(flows):
            if path[index]:
                by_address.setdefault(path[index], []).append(number)
        hops.append({"ttl": index + 1, "addresses": list(by_address), "flows": by_address,
                     "confidence": 0.9712 if len(by_address) > 1 else 0.9844, "status": status})
    failing = [address for address in (E1, E2) if address in lost_after]
    reached = any(path[-1] for path in flows)
    return {"destination": H3, "hops": hops, "flows": flows, "failing": failing, "reached": reached,
            "all_reached": reached and not failing, "branches": max(len(hop["addresses"]) for hop in hops)}


ALTERNATING = [E1, E2] * 6 + [E1]


def test_flows_lost_after_e2_are_a_partial_ecmp_failure_naming_the_branch_and_the_fraction() -> None:
    verdict = drill_diagnosis(None, ecmp={"trace": trace(ALTERNATING, [E2]), "parts": DIAMOND_PARTS})
    assert verdict["verdict"] == "ecmp_partial"
    assert (verdict["failing_branches"], verdict["flows_lost"], verdict["flows_reached"], verdict["failing_pct"]) == (
        ["e2"], 6, 7, 46.2)
    assert verdict["branch_flows"] == {"e1": 7, "e2": 6}
    assert verdict["diagnosis"] == (
        "partial ECMP failure towards 198.51.100.146 (h3): multipath traceroute from h1 finds 2 branch(es) after r1 at"
        " hop 2 (e1: 7 flows, e2: 6 flows) with confidence 0.9712; flows 1, 3, 5, 7, 9, 11 are lost after e2"
        " (198.51.100.134): 6 of 13 flows (46.2%) fail, 7 reach the destination, so pings and connections work or"
        " fail by their ports and a classic traceroute, one flow per probe, shows a path that changes or dies;"
        " the branch e2 drops traffic it should forward")


def test_flows_that_all_took_the_broken_branch_at_the_split_still_name_it() -> None:
    # the six flows probed at hop 2 all hashed onto e2 and died; flows added at hop 3 arrived via e1
    lost = trace([E2] * 6, [E2])
    arrived = [[None, None, R2_E1, H3]] * 5
    lost["flows"] += arrived
    lost["hops"][2] = dict(lost["hops"][2], addresses=[R2_E1], flows={R2_E1: list(range(6, 11))})
    lost["hops"][3] = dict(lost["hops"][3], addresses=[H3], flows={H3: list(range(6, 11))})
    lost["reached"] = True
    verdict = drill_diagnosis(None, ecmp={"trace": lost, "parts": DIAMOND_PARTS})
    assert (verdict["verdict"], verdict["failing_branches"], verdict["flows_lost"], verdict["flows_reached"]) == (
        "ecmp_partial", ["e2"], 6, 5)
    assert "finds 1 branch(es) after r1 at hop 2 (e2: 6 flows)" in verdict["diagnosis"]


def test_every_flow_arriving_over_both_branches_is_healthy() -> None:
    verdict = drill_diagnosis(None, ecmp={"trace": trace(ALTERNATING), "parts": DIAMOND_PARTS})
    assert verdict["verdict"] == "healthy" and verdict["failing_pct"] == 0.0 and verdict["failing_branches"] == []
    assert "all 13 flows arrive" in verdict["diagnosis"]


def test_one_branch_only_is_a_single_path_not_a_partial_failure() -> None:
    verdict = drill_diagnosis(None, ecmp={"trace": trace([E1] * 6), "parts": DIAMOND_PARTS})
    assert verdict["verdict"] == "single_path"
    assert "only one path to 198.51.100.146 (h3)" in verdict["diagnosis"]


def test_nothing_arriving_is_a_broken_path() -> None:
    verdict = drill_diagnosis(None, ecmp={"trace": trace(ALTERNATING, [E1, E2]), "parts": DIAMOND_PARTS})
    assert verdict["verdict"] == "broken_hop" and verdict["flows_reached"] == 0


@pytest.mark.parametrize("ecmp, message", [
    ({"trace": trace(ALTERNATING), "parts": None}, "ecmp.parts must be the ECMP parts of the drill plan"),
    ({"trace": {"hops": [], "reached": True}, "parts": DIAMOND_PARTS},
     "ecmp.trace must be the result of netdevops.icmp.traceroute with multipath: true"),
    ({"parts": DIAMOND_PARTS}, "got None"),
])
def test_bad_input_is_refused_with_the_value(ecmp: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match="netdevops.icmp.drill_diagnosis: ") as caught:
        drill_diagnosis(None, ecmp=ecmp)
    assert message in str(caught.value)
