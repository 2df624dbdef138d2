# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VXLAN tunnels: parsing, validation, allocation, plans and facts (no root)."""
from __future__ import annotations

import copy
import json
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory, sshd, tunnels
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.plan import plan_up
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.state import (
    Interface,
    LiveState,
    NamespaceState,
    parse_vxlan,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology

# The default lab's r2-h3 corner: h3 behind r2 on a 1500 link, the overlay across it.
BASE: t.Dict[str, t.Any] = {
    "name": "ovl",
    "nodes": [{"name": "r2", "role": "router"}, "h3", "h9"],
    "links": [{"a": "r2", "b": "h3"}, {"a": "r2", "b": "h9", "mtu": 1400}],
    "tunnels": [{"name": "ov1", "a": "h3", "b": "r2", "vni": 100}],
}


def topo(**tunnel: t.Any) -> t.Any:
    data = copy.deepcopy(BASE)
    data["tunnels"][0].update(tunnel)
    data["tunnels"][0] = {key: value for key, value in data["tunnels"][0].items() if value is not None}
    return parse_topology(data)


def test_defaults_shared_link_underlay_allocated_overlay_fitting_mtu() -> None:
    tunnel = topo().tunnels[0]
    link = topo().links[0]
    assert tunnel.ifname == "nl-ov1" and tunnel.kind == "vxlan"
    assert tunnel.underlay == (str(link.b.ipv4.ip), str(link.a.ipv4.ip))  # h3's, then r2's
    assert tunnel.underlay_family == 4 and tunnel.underlay_mtu == 1500
    assert tunnel.mtu == tunnel.fitting_mtu == 1450
    assert (tunnel.df, tunnel.port) == ("unset", 4789)
    # The next free /30 and /64 after the two links, from the links' own pools.
    assert str(tunnel.ipv4) == "192.0.2.8/30" and str(tunnel.ipv6) == "2001:db8:0:3::/64"
    assert (str(tunnel.a.ipv4), str(tunnel.b.ipv4)) == ("192.0.2.9/30", "192.0.2.10/30")
    assert tunnel.a.node == "h3" and tunnel.b.node == "r2"


def test_ipv6_underlay_has_70_bytes_of_overhead() -> None:
    tunnel = topo(underlay="ipv6").tunnels[0]
    assert tunnel.underlay_family == 6 and ":" in tunnel.underlay[0]
    assert tunnel.mtu == 1430


def test_explicit_mtu_prefixes_addresses_and_underlay() -> None:
    tunnel = topo(mtu=1500, df="set", port=8472, ipv4="203.0.113.0/29", ipv6=False,
                  a={"node": "h3", "ipv4": "203.0.113.5"},
                  underlay={"a": str(topo().links[0].b.ipv4.ip), "b": str(topo().links[1].a.ipv4.ip)}).tunnels[0]
    assert tunnel.mtu == 1500 and tunnel.fitting_mtu == 1350 and tunnel.ipv6 is None
    assert (str(tunnel.a.ipv4), str(tunnel.b.ipv4)) == ("203.0.113.5/29", "203.0.113.1/29")
    assert tunnel.underlay_mtu == 1400  # the smaller of the two ends' interfaces


def test_segment_is_a_shared_underlay() -> None:
    data = {"name": "ovl", "nodes": ["a1", "b1", "c1"],
            "segments": [{"name": "lan", "members": ["a1", "b1", "c1"], "mtu": 9000, "ipv6": False}],
            "tunnels": [{"name": "ov9", "a": "a1", "b": "c1", "vni": 9}]}
    tunnel = parse_topology(data).tunnels[0]
    assert tunnel.underlay_family == 4 and tunnel.mtu == 8950


@pytest.mark.parametrize(("change", "message"), [
    ({"a": "h7"}, r"tunnel 1 \(ov1\) end a names unknown node 'h7'; known nodes: r2, h3, h9"),
    ({"a": "h9"}, r"nodes 'h9' and 'r2' share no link"),  # h9-r2 is a link: swap to a pair without one
    ({"b": "h3"}, r"both ends on node 'h3'"),
    ({"vni": 0}, r"vni 0; use an integer from 1 to 16777215"),
    ({"vni": 16777216}, r"vni 16777216"),
    ({"vni": None}, r"vni None"),
    ({"mtu": 67}, r"mtu 67; use an integer from 68 to 65485"),
    ({"mtu": 1000}, r"mtu 1000 but its overlay carries IPv6"),
    ({"df": "maybe"}, r"df 'maybe'; use one of: set, unset, inherit"),
    ({"type": "gre"}, r"type 'gre'; use one of: vxlan"),
    ({"port": 70000}, r"port 70000"),
    ({"name": "r2"}, r"has the name of a node"),
    ({"name": "overlay_tunnel1"}, r"interface name 'nl-overlay_tunnel1' derived from it has 18 characters"),
    ({"ipv4": "10.0.0.0/30"}, r"outside the documentation ranges"),
    ({"ipv4": "192.0.2.0/29"}, r"ipv4 prefix 192.0.2.0/29, which overlaps 192.0.2.0/30 of the lab"),
    ({"ipv4": False, "ipv6": False}, r"an overlay needs at least one family"),
    ({"underlay": "ipx"}, r"underlay 'ipx'; use ipv4 or ipv6"),
    ({"underlay": {"a": "192.0.2.77", "b": "192.0.2.1"}}, r"underlay a is 192.0.2.77, which node 'h3' does not have"),
    ({"underlay": {"a": "h3", "b": "192.0.2.1"}}, r"underlay a is 'h3', not an address of node 'h3'"),
    ({"a": {"node": "h3", "ipv4": "198.51.100.1"}}, r"without a prefix length and the tunnel has no ipv4 prefix"),
    ({"a": {"node": "h3", "ipv4": "198.51.100.1/30"}, "ipv4": False}, r"sets ipv4: false but gives an ipv4 address"),
    ({"unknown": 1}, r"tunnel 1 has unknown key\(s\) unknown"),
])
def test_bad_tunnels_are_refused_quoting_the_value(change: t.Dict[str, t.Any], message: str) -> None:
    data = copy.deepcopy(BASE)
    if change.get("a") == "h9":
        data["links"] = [{"a": "r2", "b": "h3"}]
    data["tunnels"][0].update(change)
    data["tunnels"][0] = {key: value for key, value in data["tunnels"][0].items() if value is not None}
    with pytest.raises(TopologyError, match=message):
        parse_topology(data)


def test_two_tunnels_same_vni_and_port_on_a_node_and_duplicate_names_are_refused() -> None:
    data = copy.deepcopy(BASE)
    data["tunnels"].append({"name": "ov2", "a": "h9", "b": "r2", "vni": 100})
    with pytest.raises(TopologyError, match=r"tunnel 2 \(ov2\) and tunnel ov1 both end on node 'r2' with vni 100"):
        parse_topology(data)
    data["tunnels"][1].update(name="ov1", vni=101)
    with pytest.raises(TopologyError, match=r"tunnel 2 \(ov1\) has the name of a tunnel"):
        parse_topology(data)
    data["tunnels"][1].update(name="ov2")
    assert [str(tunnel.ipv4) for tunnel in parse_topology(data).tunnels] == ["192.0.2.8/30", "192.0.2.12/30"]


H3, R2 = "nilab-ovl-h3", "nilab-ovl-r2"


def tunnel_steps(state: LiveState) -> t.List[str]:
    lab = topo()
    steps = [step.describe() for step in plan_up(lab, state, sshd.LabPaths("/state", "ovl"))]
    return [step for step in steps if "nl-ov1" in step]


def test_build_creates_each_end_then_addresses_and_up() -> None:
    tunnel = topo().tunnels[0]
    local, remote = tunnel.underlay
    assert tunnel_steps(LiveState()) == [
        "ip -n %s link add nl-ov1 mtu 1450 type vxlan id 100 local %s remote %s dstport 4789 df unset" % (H3, local, remote),
        "ip -n %s link add nl-ov1 mtu 1450 type vxlan id 100 local %s remote %s dstport 4789 df unset" % (R2, remote, local),
        "ip -n %s addr add 192.0.2.9/30 dev nl-ov1" % H3,
        "ip -n %s -6 addr add 2001:db8:0:3::1/64 dev nl-ov1 nodad" % H3,
        "ip -n %s addr add 192.0.2.10/30 dev nl-ov1" % R2,
        "ip -n %s -6 addr add 2001:db8:0:3::2/64 dev nl-ov1 nodad" % R2,
        "ip -n %s link set nl-ov1 up" % H3,
        "ip -n %s link set nl-ov1 up" % R2,
    ]


def live(mtu: int = 1450, vni: int = 100) -> LiveState:
    """Both ends built as planned (``mtu``/``vni`` drifted when told)."""
    tunnel = topo().tunnels[0]
    state = LiveState(netns=[H3, R2])
    for netns, end, (local, remote) in ((H3, tunnel.a, tunnel.underlay), (R2, tunnel.b, tunnel.underlay[::-1])):
        addresses = frozenset(str(addr) for addr in (end.ipv4, end.ipv6))
        state.detail[netns] = NamespaceState(
            netns, {"nl-ov1": Interface("nl-ov1", mtu, True, addresses)},
            vxlan={"nl-ov1": (vni, local, remote, 4789, "unset")},
        )
    return state


def test_built_tunnel_needs_nothing_drifted_mtu_is_set_changed_vni_recreated() -> None:
    assert tunnel_steps(live()) == []
    assert tunnel_steps(live(mtu=1500)) == [
        "ip -n %s link set nl-ov1 mtu 1450" % H3, "ip -n %s link set nl-ov1 mtu 1450" % R2,
    ]
    steps = tunnel_steps(live(vni=7))
    assert steps[0] == "ip -n %s link del nl-ov1" % H3
    assert steps[1].startswith("ip -n %s link add nl-ov1 mtu 1450 type vxlan id 100 " % H3)
    assert "ip -n %s addr add 192.0.2.9/30 dev nl-ov1" % H3 in steps  # the new interface gets its addresses
    assert "ip -n %s link set nl-ov1 up" % H3 in steps


def test_a_tunnel_gone_from_the_topology_is_deleted() -> None:
    state = live()
    lab = parse_topology(dict(copy.deepcopy(BASE), tunnels=[]))
    steps = [step.describe() for step in plan_up(lab, state, sshd.LabPaths("/state", "ovl"))]
    assert "ip -n %s link del nl-ov1" % H3 in steps and "ip -n %s link del nl-ov1" % R2 in steps


def test_parse_vxlan_reads_both_families() -> None:
    text = json.dumps([
        {"ifname": "vx0", "linkinfo": {"info_kind": "vxlan", "info_data": {
            "id": 100, "remote": "192.0.2.2", "local": "192.0.2.1", "port": 4789, "df": "set"}}},
        {"ifname": "vx6", "linkinfo": {"info_kind": "vxlan", "info_data": {
            "id": 101, "remote6": "2001:db8:9::2", "local6": "2001:db8:9::1", "port": 4789, "df": "unset"}}},
    ])
    assert parse_vxlan(text) == {
        "vx0": (100, "192.0.2.1", "192.0.2.2", 4789, "set"),
        "vx6": (101, "2001:db8:9::1", "2001:db8:9::2", 4789, "unset"),
    }
    assert parse_vxlan("") == {}


def test_inventory_and_facts_expose_the_tunnels() -> None:
    lab = topo()
    facts = inventory.build_inventory(lab, sshd.LabPaths("/state", "ovl"), "/usr/bin/python3")["all"]["vars"]["lab_tunnels"]
    assert facts == [tunnels.facts(lab.tunnels[0])]
    fact = facts[0]
    assert fact["a"] == {"node": "h3", "ipv4": "192.0.2.9", "ipv6": "2001:db8:0:3::1", "underlay": lab.tunnels[0].underlay[0]}
    assert (fact["mtu"], fact["fitting_mtu"], fact["underlay_mtu"], fact["underlay_family"]) == (1450, 1450, 1500, 4)
    assert (fact["ifname"], fact["vni"], fact["ipv4"]) == ("nl-ov1", 100, "192.0.2.8/30")
    no_tunnels = parse_topology(dict(copy.deepcopy(BASE), tunnels=[]))
    assert "lab_tunnels" not in inventory.build_inventory(no_tunnels, sshd.LabPaths("/s", "ovl"), "/p")["all"]["vars"]


def test_each_tunnel_family_counts_two_neighbour_entries() -> None:
    from ansible_collections.netdevops.icmp.plugins.module_utils._lab.neigh import needed_entries

    without = parse_topology(dict(copy.deepcopy(BASE), tunnels=[]))
    assert needed_entries(topo(), 4) == needed_entries(without, 4) + 2
    assert needed_entries(topo(ipv6=False), 6) == needed_entries(without, 6)
