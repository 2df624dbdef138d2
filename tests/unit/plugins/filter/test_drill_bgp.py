# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bgp_pmtud drill's pure parts: the BGP pair from the lab facts, the session history, the diagnosis."""
from __future__ import annotations

import json
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
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import bgp

REPO = Path(__file__).resolve().parents[4]
BLACK_HOLE = {"black_hole": True, "path_mtu": 1280, "message": "black hole after 1280"}
CLEAN = {"black_hole": False, "path_mtu": 1280, "message": "path MTU 1280"}


def shipped_lab(topology: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """icmp_drill_lab as roles/drill/tasks/main.yml builds it from the lab inventory."""
    topo = parse_topology(topology)
    groups = inventory.build_inventory(topo, LabPaths("/run/lab", topo.name), "/usr/bin/python3")["all"]["children"]
    hosts = dict(groups["lab_hosts"]["hosts"], **groups["lab_routers"]["hosts"])
    return {
        "client": list(groups["lab_hosts"]["hosts"])[0], "server": list(groups["lab_hosts"]["hosts"])[-1],
        "router": list(groups["lab_routers"]["hosts"])[0], "client_v4": "192.0.2.1", "server_v4": "192.0.2.10",
        "segments": [], "interfaces": {name: host["lab_interfaces"] for name, host in hosts.items()},
        "frr": {name: host.get("lab_frr") for name, host in hosts.items()},
    }


def bgp_topology() -> t.Dict[str, t.Any]:
    return t.cast(t.Dict[str, t.Any], yaml.safe_load((REPO / "roles/lab/files/topologies/bgp.yml").read_text()))


def test_the_shipped_topology_has_the_pair_across_the_1280_hop() -> None:
    parts = bgp.bgp_parts(shipped_lab(bgp_topology()))
    assert parts is not None
    assert {key: parts[key] for key in ("speaker", "peer", "peer_address", "speaker_address", "afi", "prefixes",
                                        "hop_mtu")} == {
        "speaker": "r1", "peer": "r2", "peer_address": "203.0.113.2", "speaker_address": "198.51.100.1",
        "afi": "ipv4Unicast", "prefixes": 257, "hop_mtu": 1280}
    assert parts["peer_vtysh"] == ["/usr/bin/vtysh", "--vty_socket", "/run/lab/bgp/r2/frr"]


def test_the_plan_runs_bgp_pmtud_on_the_shipped_topology_and_casts_the_pair() -> None:
    plan = drill_plan(["bgp_pmtud"], shipped_lab(bgp_topology()))
    assert plan["refused"] == [] and [d["name"] for d in plan["drills"]] == ["bgp_pmtud"]
    assert plan["lab"]["bgp"]["speaker"] == "r1"


def test_without_the_lower_mtu_hop_the_drill_is_refused_naming_what_is_missing() -> None:
    topology = bgp_topology()
    for link in topology["links"]:
        link.pop("mtu", None)
    plan = drill_plan(["bgp_pmtud"], shipped_lab(topology))
    assert plan["drills"] == []
    assert plan["refused"] == ["drill bgp_pmtud cannot run on this lab: it needs two BGP routers peering across a path"
                               " with a lower-MTU hop: 'frr' on two router nodes that name each other as neighbours, the"
                               " speaker announcing prefixes, and a router between them with a link of a smaller MTU"
                               " than both ends' links (see roles/lab/files/topologies/bgp.yml)"]


def test_without_bgp_routers_all_skips_the_drill() -> None:
    topology = bgp_topology()
    for node in topology["nodes"]:
        node.pop("frr", None)
    plan = drill_plan(["all"], shipped_lab(topology))
    assert "bgp_pmtud" not in [d["name"] for d in plan["drills"]]
    assert any(item.startswith("bgp_pmtud (needs two BGP routers") for item in plan["skipped"])
    assert plan["lab"]["bgp"] is None


def test_a_vtysh_line_with_shell_words_is_not_used() -> None:
    lab = shipped_lab(bgp_topology())
    lab["frr"]["r2"] = dict(lab["frr"]["r2"], vtysh="/usr/bin/vtysh --vty_socket /run/x;reboot")
    assert bgp.bgp_parts(lab) is None


def sample(start: str, state: str, dropped: int, received: t.Optional[int]) -> t.Dict[str, t.Any]:
    peer = {"state": state, "connectionsDropped": dropped}
    if received is not None:
        peer["pfxRcd"] = received
    return {"start": "2026-11-29 16:00:%s" % start, "stdout": json.dumps({"ipv4Unicast": {"peers": {"198.51.100.1": peer}}})}


PARTS = {"speaker": "r1", "peer": "r2", "peer_address": "203.0.113.2", "speaker_address": "198.51.100.1",
         "afi": "ipv4Unicast", "prefixes": 257}
FLAP = [sample("01.000000", "Established", 1, 0), sample("05.500000", "Established", 1, 0),
        sample("11.250000", "Active", 2, None), sample("14.000000", "Established", 2, 0)]


def test_history_is_seconds_state_drops_and_prefixes_per_sample() -> None:
    history = bgp.bgp_history(FLAP + [{"start": "junk", "stdout": "% no bgpd"}], "ipv4Unicast", "198.51.100.1")
    assert history[:3] == [
        {"t_s": 0.0, "state": "Established", "connections_dropped": 1, "pfx_rcd": 0},
        {"t_s": 4.5, "state": "Established", "connections_dropped": 1, "pfx_rcd": 0},
        {"t_s": 10.2, "state": "Active", "connections_dropped": 2, "pfx_rcd": None}]
    assert history[4] == {"t_s": None, "state": "unknown", "connections_dropped": None, "pfx_rcd": None}


def test_black_hole_and_flap_is_the_incident() -> None:
    verdict = drill_diagnosis(None, pmtud=BLACK_HOLE, bgp={"samples": FLAP, "parts": PARTS})
    assert verdict["verdict"] == "bgp_pmtud_black_hole"
    assert verdict["diagnosis"].startswith(
        "BGP session flapping on a PMTUD black hole: the session r1 -> r2 dropped 1 time(s) in 13.0 s (states seen:"
        " Active, Established) and r2 received at most 0 of 257 prefixes; pmtud from r1 finds a black hole towards"
        " 203.0.113.2 (packets up to 1280 bytes pass")
    assert [entry["connections_dropped"] for entry in verdict["bgp_history"]] == [1, 1, 2, 2]


def test_a_flap_without_a_black_hole_says_look_elsewhere() -> None:
    verdict = drill_diagnosis(None, pmtud=CLEAN, bgp={"samples": FLAP, "parts": PARTS})
    assert verdict["verdict"] == "bgp_flapping" and "finds no black hole (path MTU 1280)" in verdict["diagnosis"]


def test_a_black_hole_without_a_flap_is_not_the_incident() -> None:
    steady = [sample("01.000000", "Established", 3, 257), sample("20.000000", "Established", 3, 257)]
    verdict = drill_diagnosis(None, pmtud=BLACK_HOLE, bgp={"samples": steady, "parts": PARTS})
    assert verdict["verdict"] == "pmtud_black_hole"
    assert drill_diagnosis(None, pmtud=CLEAN, bgp={"samples": steady, "parts": PARTS})["verdict"] == "healthy"


def test_a_session_that_drops_but_got_every_prefix_is_not_a_flap_on_the_updates() -> None:
    full = [sample("01.000000", "Established", 3, 257), sample("20.000000", "Established", 4, 257)]
    assert drill_diagnosis(None, pmtud=BLACK_HOLE, bgp={"samples": full, "parts": PARTS})["verdict"] == "pmtud_black_hole"


@pytest.mark.parametrize(("value", "words"), [
    ({"samples": FLAP, "parts": None}, "bgp.parts must be the BGP pair of the drill plan"),
    ({"samples": [], "parts": PARTS}, "bgp.samples must be the registered results"),
    ({"samples": "text", "parts": PARTS}, "bgp.samples must be the registered results"),
    ({"samples": ["text"], "parts": PARTS}, "expected registered command results of 'show bgp summary json', got 'text'"),
])
def test_bad_bgp_input_is_a_filter_error_quoting_it(value: t.Dict[str, t.Any], words: str) -> None:
    with pytest.raises(AnsibleFilterError, match="netdevops.icmp.drill_diagnosis: .*" + words.replace("(", r"\(")):
        drill_diagnosis(None, pmtud=BLACK_HOLE, bgp=value)
