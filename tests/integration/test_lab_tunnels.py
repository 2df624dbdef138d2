# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VXLAN tunnels on a real kernel: built, pinged across in both families, idempotent,
repaired, and gone with the lab. Packets stay inside the lab's namespaces."""
from __future__ import annotations

import json
import subprocess
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology

# The default lab's r2-h3 corner: h3 behind the router r2, the overlay over their link.
CORNER = {
    "name": "corner",
    "nodes": [{"name": "r2", "role": "router"}, "h3"],
    "links": [{"a": "r2", "b": "h3", "ipv4": "198.51.100.128/30", "ipv6": "2001:db8:5::/64"}],
    "tunnels": [{"name": "ov1", "a": "h3", "b": "r2", "vni": 100}],
}
# Other names and addresses: an IPv6 underlay across a LAN segment, the MTU left at 1500.
OTHER = {
    "name": "other",
    "nodes": ["alpha", "beta", "gamma"],
    "segments": [{"name": "lan", "members": ["alpha", "beta", "gamma"], "ipv4": "203.0.113.0/28",
                  "ipv6": "2001:db8:77::/64"}],
    "tunnels": [{"name": "vx7", "a": {"node": "beta", "ipv4": "192.0.2.201/29"}, "b": "gamma", "vni": 4242,
                 "underlay": "ipv6", "mtu": 1500, "df": "set", "port": 8472, "ipv6": "2001:db8:78::/64"}],
}


def vxlan(lab: t.Any, node: str, ifname: str) -> t.Dict[str, t.Any]:
    found = json.loads(lab.run(node, ["ip", "-j", "-d", "link", "show", ifname]).stdout)[0]
    return t.cast(t.Dict[str, t.Any], dict(found["linkinfo"]["info_data"], mtu=found["mtu"], flags=found["flags"]))


def ping(lab: t.Any, node: str, target: str, size: int = 56, df: bool = False) -> "subprocess.CompletedProcess[str]":
    argv = ["ping", "-n", "-c", "1", "-W", "2", "-s", str(size)] + (["-M", "do"] if df else []) + [target]
    return t.cast("subprocess.CompletedProcess[str]", lab.run(node, argv, check=False))


def test_tunnel_is_built_pinged_both_families_idempotent_and_torn_down(make_lab: t.Any) -> None:
    lab = make_lab(CORNER)
    tunnel = lab.topology.tunnels[0]
    info = vxlan(lab, "h3", "nl-ov1")
    assert (info["id"], info["local"], info["remote"], info["port"], info["mtu"]) == (
        100, "198.51.100.130", "198.51.100.129", 4789, 1450)
    assert "UP" in info["flags"]
    for family, size in ((4, 1450 - 28), (6, 1450 - 48)):
        target = str(tunnel.b.address(family).ip)
        assert ping(lab, "h3", target).returncode == 0, target
        # A full-size packet fits the overlay and, encapsulated, the underlay.
        assert ping(lab, "h3", target, size=size, df=True).returncode == 0, (target, size)
    assert lab.engine.up(lab.topology).changed is False
    lab.run("r2", ["ip", "link", "set", "nl-ov1", "mtu", "1500"])
    outcome = lab.engine.up(lab.topology)
    assert outcome.commands == ["ip -n %s link set nl-ov1 mtu 1450" % lab.topology.node("r2").netns]
    assert lab.engine.up(lab.topology).changed is False
    netns = [node.netns for node in lab.topology.nodes]
    lab.down()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert not any(name in listed for name in netns)


def test_other_names_ipv6_underlay_over_a_segment_with_the_mtu_too_high(make_lab: t.Any) -> None:
    lab = make_lab(OTHER)
    tunnel = lab.topology.tunnels[0]
    info = vxlan(lab, "gamma", "nl-vx7")
    assert (info["id"], info["port"], info["mtu"], info["df"]) == (4242, 8472, 1500, "set")
    assert info["local6"] == str(lab.topology.segments[0].member("gamma").ipv6.ip)
    assert (str(tunnel.a.ipv4), tunnel.fitting_mtu) == ("192.0.2.201/29", 1430)
    for family in (4, 6):
        assert ping(lab, "beta", str(tunnel.b.address(family).ip)).returncode == 0
    # 1500 on the overlay does not fit the 1500 underlay: a full-size DF packet never arrives.
    assert ping(lab, "beta", "192.0.2.202", size=1500 - 28, df=True).returncode != 0
    assert ping(lab, "beta", "192.0.2.202", size=1430 - 28, df=True).returncode == 0
    # Moving the tunnel (another VNI) recreates both ends with their addresses.
    moved = dict(OTHER, name=lab.topology.name, tunnels=[dict(OTHER["tunnels"][0], vni=4243)])
    lab.topology = parse_topology(moved)
    lab.engine.up(lab.topology)
    assert vxlan(lab, "beta", "nl-vx7")["id"] == 4243
    assert ping(lab, "beta", "2001:db8:78::2").returncode == 0
    assert lab.engine.up(lab.topology).changed is False
