# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay_mtu drill through ansible-playbook on real VXLAN tunnels: the default lab's r2-h3
corner, a second topology with other names, addresses and an IPv6 underlay, and a lab without
tunnels that refuses it. Packets stay inside the labs' namespaces."""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from .test_drills import drill_run

pytestmark = [pytest.mark.root, pytest.mark.lab]

# Shaped like the default lab's r2-h3 part: h3 behind the router r2, the overlay over their link.
CORNER = {
    "name": "corner",
    "nodes": [{"name": "h3"}, {"name": "r2", "role": "router"}],
    "links": [{"a": "r2", "b": "h3", "ipv4": "198.51.100.128/30", "ipv6": "2001:db8:5::/64"}],
    "tunnels": [{"name": "ov1", "a": "h3", "b": "r2", "vni": 100}],
}
# Other names and addresses: two VTEPs on a LAN, an IPv6 underlay, the MTU left at 1500 in the
# topology itself (the drill sets the right one first and puts 1500 back at the end).
OTHER = {
    "name": "other",
    "nodes": [{"name": "vtep1"}, {"name": "edge", "role": "router"}, {"name": "vtep2"}],
    "segments": [{"name": "fab", "members": ["vtep1", "edge", "vtep2"], "ipv4": "203.0.113.0/28",
                  "ipv6": "2001:db8:77::/64"}],
    "tunnels": [{"name": "vx7", "a": "vtep1", "b": "vtep2", "vni": 4242, "underlay": "ipv6", "mtu": 1500,
                 "df": "set", "ipv4": "192.0.2.200/29", "ipv6": "2001:db8:78::/64"}],
}
PLAIN = {"name": "plain", "nodes": ["c1", {"name": "g1", "role": "router"}, "s1"],
         "links": [{"a": "c1", "b": "g1"}, {"a": "g1", "b": "s1"}]}


def overlay_check(lab: t.Any, workdir: Path) -> t.Dict[str, t.Any]:
    run = drill_run(lab, workdir, ["overlay_mtu"])
    report_path = workdir / "reports" / "disaster-drill.json"
    assert report_path.is_file(), run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(report_path.read_text())
    hosts = {host["name"]: host for host in report["hosts"]}
    check = t.cast(t.Dict[str, t.Any], hosts["drill_overlay_mtu"]["checks"][0])
    assert run.returncode == 0 and check["status"] == "pass", (check, run.stdout[-4000:])
    return check


def tunnel_mtu(lab: t.Any, node: str, ifname: str) -> int:
    return int(json.loads(lab.run(node, ["ip", "-j", "link", "show", ifname]).stdout)[0]["mtu"])


@pytest.mark.parametrize(("topology", "words"), [
    (CORNER, ["overlay MTU too high on tunnel ov1: interface nl-ov1 has MTU 1500 but only 1450-byte packets",
              "less the 50-byte VXLAN encapsulation", "set the tunnel's MTU to 1450"]),
    (OTHER, ["overlay MTU too high on tunnel vx7: interface nl-vx7 has MTU 1500 but only 1430-byte packets",
             "less the 70-byte VXLAN encapsulation", "to 192.0.2.202", "set the tunnel's MTU to 1430"]),
])
def test_overlay_mtu_drill_detects_the_tunnel_limit_and_recovers(
        make_lab: t.Any, tmp_path: Path, topology: t.Dict[str, t.Any], words: t.List[str]) -> None:
    lab = make_lab(topology)
    tunnel = lab.topology.tunnels[0]
    check = overlay_check(lab, tmp_path)
    diagnosis = check["notes"][0]
    for word in words:
        assert word in diagnosis, diagnosis
    # The lab is back as its topology says: the tunnel's own MTU at both ends, nothing for lab_up to do.
    for end in (tunnel.a, tunnel.b):
        assert tunnel_mtu(lab, end.node, tunnel.ifname) == tunnel.mtu
    assert lab.engine.up(lab.topology).changed is False


def test_a_lab_without_tunnels_refuses_the_drill_naming_what_is_missing(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab(PLAIN)
    run = drill_run(lab, tmp_path, ["overlay_mtu"])
    assert run.returncode != 0
    assert ("drill overlay_mtu cannot run on this lab: it needs a VXLAN tunnel with an IPv4 overlay between two lab "
            "nodes ('tunnels' in the lab topology") in run.stdout, run.stdout[-3000:]
    assert "Nothing was changed." in run.stdout
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists()
