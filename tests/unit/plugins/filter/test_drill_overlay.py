# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay_mtu drill's parts and diagnosis, from lab_tunnels and pmtud results."""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis
from ansible_collections.netdevops.icmp.plugins.filter.drill_plan import drill_plan
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.overlay import overlay_parts

TUNNEL: t.Dict[str, t.Any] = {
    "name": "vx7", "ifname": "nl-vx7", "mtu": 1500, "fitting_mtu": 1430, "underlay_mtu": 1500, "underlay_family": 6,
    "df": "set", "a": {"node": "beta", "ipv4": "192.0.2.201", "ipv6": "2001:db8:78::1", "underlay": "2001:db8:77::2"},
    "b": {"node": "gamma", "ipv4": "192.0.2.202", "ipv6": "2001:db8:78::2", "underlay": "2001:db8:77::3"},
}
LAB = {"client": "h1", "router": "r1", "server": "h2", "segments": []}


def test_parts_are_the_first_tunnel_with_an_ipv4_overlay() -> None:
    v6_only = dict(TUNNEL, name="v6", a={"node": "x", "ipv4": None}, b={"node": "y", "ipv4": None})
    parts = overlay_parts({"tunnels": [v6_only, TUNNEL]})
    assert parts is not None
    assert (parts["tunnel"], parts["ifname"], parts["client"], parts["server"]) == ("vx7", "nl-vx7", "beta", "gamma")
    assert (parts["server_v4"], parts["server_v6"], parts["mtu"], parts["fitting_mtu"]) == (
        "192.0.2.202", "2001:db8:78::2", 1500, 1430)
    assert overlay_parts({"tunnels": [v6_only]}) is None and overlay_parts({}) is None


def test_a_lab_without_tunnels_refuses_the_drill_naming_what_is_missing() -> None:
    plan = drill_plan(["overlay_mtu"], LAB)
    assert plan["drills"] == []
    assert plan["refused"] == [
        "drill overlay_mtu cannot run on this lab: it needs a VXLAN tunnel with an IPv4 overlay between two lab nodes"
        " ('tunnels' in the lab topology, for example {name: ov1, a: h3, b: r2, vni: 100}; see docs/lab.md)"]
    plan = drill_plan(["overlay_mtu"], dict(LAB, tunnels=[TUNNEL]))
    assert [d["name"] for d in plan["drills"]] == ["overlay_mtu"] and plan["lab"]["overlay"]["client"] == "beta"


PARTS = overlay_parts({"tunnels": [TUNNEL]})


def pmtud(local_limit: t.Any = None, black_hole: bool = False, path_mtu: int = 1430) -> t.Dict[str, t.Any]:
    return {"path_mtu": path_mtu, "black_hole": black_hole, "local_limit": local_limit, "destination": "192.0.2.202"}


def test_the_tunnel_as_local_limit_is_an_overlay_mtu_too_high() -> None:
    limit = {"mtu": 1430, "interface": "nl-vx7", "interface_mtu": 1500}
    stalled = {"connected": True, "completed": False, "error": "timed out"}
    verdict = drill_diagnosis({}, tcp=stalled, pmtud=pmtud(limit), tunnel=PARTS)
    assert verdict["verdict"] == "overlay_mtu_too_high"
    assert verdict["diagnosis"] == (
        "overlay MTU too high on tunnel vx7: interface nl-vx7 has MTU 1500 but only 1430-byte packets fit its underlay "
        "(MTU 1500 less the 70-byte VXLAN encapsulation), so larger packets to 192.0.2.202 are fragmented or dropped "
        "at the tunnel; a full-size TCP transfer across it connected and stalled (timed out); set the tunnel's MTU "
        "to 1430")


def test_a_local_limit_elsewhere_a_black_hole_and_a_fitting_mtu_are_told_apart() -> None:
    other = {"mtu": 1400, "interface": "nl-r1", "interface_mtu": 1500}
    assert drill_diagnosis({}, pmtud=pmtud(other), tunnel=PARTS)["verdict"] == "healthy"
    assert drill_diagnosis({}, pmtud=pmtud(black_hole=True), tunnel=PARTS)["verdict"] == "pmtud_black_hole"
    done = {"connected": True, "completed": True, "elapsed_s": 0.02}
    verdict = drill_diagnosis({}, tcp=done, pmtud=pmtud(), tunnel=PARTS)
    assert verdict == {"verdict": "healthy", "diagnosis": "tunnel vx7 carries 1430-byte packets to 192.0.2.202 "
                       "(path MTU 1430); a full-size TCP transfer across it completed in 0.02 s"}
    limit = {"mtu": 1430, "interface": "nl-vx7", "interface_mtu": 1500}
    verdict = drill_diagnosis({}, tcp=done, pmtud=pmtud(limit), tunnel=PARTS)
    assert "a full-size TCP transfer from the tunnel end still completed in 0.02 s (its own kernel lowered the " \
        "route MTU; hosts behind the tunnel end get no such help)" in verdict["diagnosis"]
