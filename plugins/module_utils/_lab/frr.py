# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""BGP routers in the lab: Debian's FRR ``bgpd``, one per router node that asks for it.

A node's ``frr`` entry is validated against the built topology (neighbours are lab
nodes, addresses are theirs), rendered into a bgpd configuration, and run inside the
node's namespace with its config, pid file and vty socket under the lab's state
directory (``<state_dir>/<lab>/<node>/frr/``), so several labs and the host's own FRR
never share a file. bgpd runs without zebra (``-Z``): the sessions and the UPDATEs
they carry cross the lab's real links and MTUs, which is what the drills measure;
the lab's static routes stay the forwarding truth. Plays read the state with
``vtysh --vty_socket <dir> -c 'show bgp summary json'`` inside the node.
"""
from __future__ import annotations

import ipaddress
import os
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Topology, check_keys, in_doc_ranges

BGPD = "/usr/lib/frr/bgpd"
VTYSH = "/usr/bin/vtysh"
_KEYS = ("asn", "router_id", "neighbors", "networks", "announce", "timers")
_NEIGHBOR_KEYS = ("node", "address", "asn", "multihop", "timers")
_ANNOUNCE_KEYS = ("pool", "prefixlen", "count")
MAX_ANNOUNCE = 20000
DEFAULT_TIMERS = (3, 9)  # keepalive, hold: a lab notices a dead session in seconds


@dataclass(frozen=True)
class Neighbor:
    node: str
    address: str
    local: str
    asn: int
    multihop: t.Optional[int]
    keepalive: int
    hold: int


@dataclass(frozen=True)
class Router:
    node: str
    asn: int
    router_id: str
    neighbors: t.Tuple[Neighbor, ...]
    networks: t.Tuple[str, ...]


def directory(node_dir: str) -> str:
    return os.path.join(node_dir, "frr")


def config_path(node_dir: str) -> str:
    return os.path.join(directory(node_dir), "bgpd.conf")


def pid_path(node_dir: str) -> str:
    return os.path.join(directory(node_dir), "bgpd.pid")


def bgpd_argv(netns: str, node_dir: str) -> t.Tuple[str, ...]:
    """bgpd in the node's namespace: daemon, no zebra, no kernel routes, no vty TCP port."""
    where = directory(node_dir)
    return ("ip", "netns", "exec", netns, BGPD, "-d", "-S", "-Z", "-n", "-P", "0", "-p", "179",
            "-f", config_path(node_dir), "-i", pid_path(node_dir), "--vty_socket", where)


def vtysh_argv(node_dir: str, command: str) -> t.Tuple[str, ...]:
    return (VTYSH, "--vty_socket", directory(node_dir), "-c", command)


# -- parsing -------------------------------------------------------------------
def parse_routers(raw_nodes: t.Sequence[t.Any], topo: Topology) -> t.Tuple[Router, ...]:
    """Every node entry's ``frr`` (raw YAML), validated against the built topology."""
    entries = [item for item in raw_nodes if isinstance(item, dict) and item.get("frr") is not None]
    for item in entries:
        if "count" in item:
            raise TopologyError("node entry %r: frr is not allowed on a counted entry; list BGP routers one by one"
                                % item["name"])
    raw = {item["name"]: item["frr"] for item in entries}
    asns = {name: _asn(check_keys(spec, _KEYS, "node %r frr" % name).get("asn"), "node %r frr asn" % name)
            for name, spec in raw.items()}
    return tuple(_router(name, spec, topo, asns) for name, spec in raw.items())


def _router(name: str, spec: t.Dict[str, t.Any], topo: Topology, asns: t.Dict[str, int]) -> Router:
    node = topo.node(name)
    if node.role != "router":
        raise TopologyError("node %r has frr but role %r: only router nodes run bgpd" % (name, node.role))
    where = "node %r frr" % name
    timers = _timers(spec.get("timers", DEFAULT_TIMERS), where)
    neighbors = spec.get("neighbors")
    if not isinstance(neighbors, list) or not neighbors:
        raise TopologyError("%s: neighbors must be a non-empty list of {node: ...}, got %r" % (where, neighbors))
    parsed = tuple(_neighbor(name, item, topo, asns, timers) for item in neighbors)
    router_id = spec.get("router_id", _first_ipv4(topo, name))
    if not isinstance(router_id, str) or _address(router_id, 4) is None:
        raise TopologyError("%s: router_id %r is not an IPv4 address; give one (e.g. the node's first IPv4 address)"
                            % (where, router_id))
    networks = _networks(spec.get("networks", []), where) + _announce(spec.get("announce"), where)
    return Router(name, asns[name], router_id, parsed, tuple(networks))


def _neighbor(me: str, item: t.Any, topo: Topology, asns: t.Dict[str, int], timers: t.Tuple[int, int]) -> Neighbor:
    item = check_keys(item, _NEIGHBOR_KEYS, "node %r frr neighbor" % me)
    peer = item.get("node")
    where = "node %r frr neighbor %r" % (me, peer)
    if peer == me or peer not in [node.name for node in topo.nodes]:
        raise TopologyError("%s: node must be another node of the lab; known nodes: %s"
                            % (where, ", ".join(node.name for node in topo.nodes)))
    if "asn" in item:
        asn = _asn(item["asn"], where + " asn")
    elif peer in asns:
        asn = asns[peer]
    else:
        raise TopologyError("%s: %r runs no bgpd of the lab, so give its asn" % (where, peer))
    address, local, shared = _session(topo, me, peer, item.get("address"), where)
    multihop = item.get("multihop")
    if multihop is not None and (isinstance(multihop, bool) or not isinstance(multihop, int) or not 1 <= multihop <= 255):
        raise TopologyError("%s: multihop %r must be a whole number of hops from 1 to 255" % (where, multihop))
    if not shared and asn != asns.get(me) and multihop is None:
        raise TopologyError("%s: the routers share no link or segment, so an eBGP session needs multihop: <hops>"
                            % where)
    keepalive, hold = _timers(item.get("timers", timers), where)
    return Neighbor(peer, address, local, asn, multihop, keepalive, hold)


def _session(topo: Topology, me: str, peer: str, wanted: t.Any, where: str) -> t.Tuple[str, str, bool]:
    """(peer address, local address, on a shared link or segment) for the session."""
    for family in (4, 6):
        for net in topo.nets(family):
            ends = {end.node: end.address(family) for end in net.endpoints}
            if me in ends and peer in ends and (wanted is None or str(ends[peer].ip) == wanted):  # type: ignore[union-attr]
                return str(ends[peer].ip), str(ends[me].ip), True  # type: ignore[union-attr]
    for family in (4, 6):
        theirs = [str(addr.ip) for addr in topo.addresses(peer, family)]
        mine = [str(addr.ip) for addr in topo.addresses(me, family)]
        if theirs and mine and (wanted is None or wanted in theirs):
            return (wanted or theirs[0]), mine[0], False
    raise TopologyError("%s: address %r is not one of %s's lab addresses (%s)"
                        % (where, wanted, peer, ", ".join(str(a.ip) for f in (4, 6) for a in topo.addresses(peer, f))))


def _asn(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4294967294:
        raise TopologyError("%s %r must be a whole number from 1 to 4294967294 (private: 64512-65534)" % (where, value))
    return value


def _timers(value: t.Any, where: str) -> t.Tuple[int, int]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or not 1 <= value[0] <= 60 or not 3 <= value[1] <= 180 or value[1] < 3 * value[0]:
        raise TopologyError("%s: timers %r must be [keepalive, hold] seconds with 1 <= keepalive <= 60 and "
                            "3 x keepalive <= hold <= 180" % (where, value))
    return int(value[0]), int(value[1])


def _address(text: str, family: int) -> t.Optional[str]:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(addr) if addr.version == family and str(addr) == text else None


def _first_ipv4(topo: Topology, node: str) -> t.Optional[str]:
    found = topo.addresses(node, 4)
    return str(found[0].ip) if found else None


def _prefix(value: t.Any, where: str) -> t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    try:
        net = ipaddress.ip_network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        net = None
    if net is None or not in_doc_ranges(net):
        raise TopologyError("%s: %r is not a prefix inside the documentation ranges (192.0.2.0/24, 198.51.100.0/24, "
                            "203.0.113.0/24, 2001:db8::/32) with its host bits clear" % (where, value))
    return net


def _networks(value: t.Any, where: str) -> t.List[str]:
    if not isinstance(value, list):
        raise TopologyError("%s: networks must be a list of prefixes, got %r" % (where, value))
    return [str(_prefix(item, where + " networks")) for item in value]


def _announce(value: t.Any, where: str) -> t.List[str]:
    """``{pool, prefixlen, count}``: ``count`` prefixes of length ``prefixlen`` from ``pool``."""
    if value is None:
        return []
    value = check_keys(value, _ANNOUNCE_KEYS, where + " announce")
    pool = _prefix(value.get("pool"), where + " announce pool")
    length, count = value.get("prefixlen"), value.get("count")
    if isinstance(length, bool) or not isinstance(length, int) or not pool.prefixlen <= length <= pool.max_prefixlen:
        raise TopologyError("%s announce: prefixlen %r must be from %d to %d for pool %s"
                            % (where, length, pool.prefixlen, pool.max_prefixlen, pool))
    room = 2 ** min(length - pool.prefixlen, 30)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= min(MAX_ANNOUNCE, room):
        raise TopologyError("%s announce: count %r must be from 1 to %d (pool %s holds %d /%d prefixes)"
                            % (where, count, min(MAX_ANNOUNCE, room), pool, room, length))
    subnets = pool.subnets(new_prefix=length)
    return [str(net) for net, _index in zip(subnets, range(count))]


# -- rendering -----------------------------------------------------------------
def render_config(router: Router, node_dir: str) -> str:
    lines = [
        "! Managed by netdevops.icmp lab; removed by lab_down.",
        "frr defaults traditional",
        "hostname %s" % router.node,
        "log file %s informational" % os.path.join(directory(node_dir), "bgpd.log"),
        "!",
        "router bgp %d" % router.asn,
        " bgp router-id %s" % router.router_id,
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " bgp log-neighbor-changes",
    ]
    for peer in router.neighbors:
        lines += [
            " neighbor %s remote-as %d" % (peer.address, peer.asn),
            " neighbor %s description %s" % (peer.address, peer.node),
            " neighbor %s update-source %s" % (peer.address, peer.local),
            " neighbor %s timers %d %d" % (peer.address, peer.keepalive, peer.hold),
            " neighbor %s timers connect 2" % peer.address,
        ]
        if peer.multihop is not None:
            lines.append(" neighbor %s ebgp-multihop %d" % (peer.address, peer.multihop))
    for family, afi in ((4, "ipv4"), (6, "ipv6")):
        peers = [peer for peer in router.neighbors if ipaddress.ip_address(peer.address).version == family]
        nets = [net for net in router.networks if ipaddress.ip_network(net).version == family]
        if not peers and not nets:
            continue
        lines.append(" address-family %s unicast" % afi)
        lines += ["  network %s" % net for net in nets]
        lines += ["  neighbor %s activate" % peer.address for peer in peers]
        lines.append(" exit-address-family")
    lines += ["!", ""]
    return "\n".join(lines)


def facts(router: Router, node_dir: str) -> t.Dict[str, t.Any]:
    """What the inventory tells plays about a node's bgpd."""
    return {
        "asn": router.asn,
        "router_id": router.router_id,
        "vty_socket": directory(node_dir),
        "vtysh": "%s --vty_socket %s" % (VTYSH, directory(node_dir)),
        "neighbors": [{"node": p.node, "address": p.address, "asn": p.asn} for p in router.neighbors],
        "networks": len(router.networks),
    }
