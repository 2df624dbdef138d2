# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Turn (topology, live state) into the exact ordered steps that make them agree.

Pure: no process is spawned and no file touched here, so check mode and normal
mode share this planning path and unit tests assert the plan exactly.
Order matters: namespaces, loopback, veth pairs (created directly inside their
namespaces; only a segment's controller veth has an end in the root namespace),
bridges and their ports, MTU, sysctls (interface sysctls need the interface),
addresses, link up, routes (gateways must be on-link), then sshd (it binds the
lab addresses). The root namespace gets an address on the controller veth and
never a route: the connected subnet is all it needs.
"""
from __future__ import annotations

import ipaddress
import shlex
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr, names, sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import (
    EARLY_SYSCTLS,
    Endpoint,
    Node,
    Route,
    Segment,
    Topology,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.state import ROOT, LiveState, NamespaceState

_EARLY_KEYS = frozenset(key for key, _value in EARLY_SYSCTLS)


@dataclass(frozen=True)
class Step:
    """One action: ``run`` argv, ``write`` a file, ``mkdir`` or ``rmtree`` a directory,
    ``wait`` until a file has content (a daemon's pid file)."""

    kind: str
    argv: t.Tuple[str, ...] = ()
    path: str = ""
    content: str = ""
    mode: int = 0o600
    check: bool = True  # for ``run``: fail on a non-zero exit

    def describe(self) -> str:
        if self.kind == "run":
            return " ".join(shlex.quote(word) for word in self.argv)
        if self.kind == "write":
            return "write %s" % self.path
        if self.kind == "mkdir":
            return "mkdir -p %s" % self.path
        if self.kind == "wait":
            return "wait for %s" % self.path
        return "rm -rf %s" % self.path


def run(*argv: str, check: bool = True) -> Step:
    return Step("run", tuple(argv), check=check)


def _ns(state: LiveState, netns: str) -> NamespaceState:
    return state.detail.get(netns) or NamespaceState(netns)


def _ip(netns: str, *argv: str) -> Step:
    """``ip -n NETNS ...``, or plain ``ip ...`` in the root namespace."""
    return run("ip", *argv) if netns == ROOT else run("ip", "-n", netns, *argv)


def plan_up(topo: Topology, state: LiveState, paths: sshd.LabPaths) -> t.List[Step]:
    check_controller_subnets(topo, state)
    steps: t.List[Step] = []
    wanted = {node.netns for node in topo.nodes} | {segment.netns for segment in topo.segments}
    prefix = names.lab_netns_prefix(topo.name)
    for netns in state.netns:
        if netns.startswith(prefix) and netns not in wanted:
            steps += remove_netns(_ns(state, netns))
    for node in topo.nodes:
        if node.netns not in state.netns:
            steps.append(run("ip", "netns", "add", node.netns))
            early = ["%s=%s" % (key, value) for key, value in node.sysctls if key in _EARLY_KEYS]
            steps.append(run("ip", "netns", "exec", node.netns, "sysctl", "-q", "-w", *early))
        lo = _ns(state, node.netns).interfaces.get("lo")
        if lo is None or not lo.up:
            steps.append(run("ip", "-n", node.netns, "link", "set", "lo", "up"))
    for segment in topo.segments:
        if segment.netns not in state.netns:
            steps.append(run("ip", "netns", "add", segment.netns))
    link_steps, removed = _plan_links(topo, state)
    steps += link_steps
    for segment in topo.segments:
        segment_steps, gone = _plan_segment(topo, segment, state)
        steps += segment_steps
        removed |= gone
    tunnel_steps, gone = _plan_tunnels(topo, state)
    steps += tunnel_steps
    state = _without(state, removed | gone)
    for node in topo.nodes:
        steps += _plan_sysctls(node, _ns(state, node.netns), node.netns not in state.netns)
    steps += _plan_addresses(topo, state)
    steps += _plan_routes(topo, state)
    steps += _plan_sshd(topo, state, paths)
    steps += _plan_frr(topo, state, paths, steps)
    return steps


def _plan_links(topo: Topology, state: LiveState) -> t.Tuple[t.List[Step], t.Set[t.Tuple[str, str]]]:
    """Steps for the veth pairs, and the (netns, ifname) that they delete."""
    steps: t.List[Step] = []
    removed: t.Set[t.Tuple[str, str]] = set()
    for node in topo.nodes:
        wanted = {end.ifname for end, _mtu, _peer in topo.interfaces(node.name)}
        wanted |= {tunnel.ifname for tunnel in topo.tunnels_of(node.name)}
        for ifname in sorted(_ns(state, node.netns).interfaces):
            if ifname != "lo" and ifname not in wanted:
                steps.append(run("ip", "-n", node.netns, "link", "del", ifname))
                removed.add((node.netns, ifname))
    for link in topo.links:
        a_ns, b_ns = topo.node(link.a.node).netns, topo.node(link.b.node).netns
        a_if = _ns(state, a_ns).interfaces.get(link.a.ifname)
        b_if = _ns(state, b_ns).interfaces.get(link.b.ifname)
        if a_if is None or b_if is None:
            # Half a pair is debris from an interrupted run: remove it and start again.
            for netns, half, ifname in ((a_ns, a_if, link.a.ifname), (b_ns, b_if, link.b.ifname)):
                if half is not None:
                    steps.append(run("ip", "-n", netns, "link", "del", ifname))
                    removed.add((netns, ifname))
            steps.append(run(
                "ip", "link", "add", link.a.ifname, "netns", a_ns, "mtu", str(link.mtu),
                "type", "veth", "peer", "name", link.b.ifname, "netns", b_ns, "mtu", str(link.mtu),
            ))
            continue
        for netns, iface in ((a_ns, a_if), (b_ns, b_if)):
            if iface.mtu != link.mtu:
                steps.append(run("ip", "-n", netns, "link", "set", iface.name, "mtu", str(link.mtu)))
    return steps, removed


def _without(state: LiveState, removed: t.Set[t.Tuple[str, str]]) -> LiveState:
    """``state`` once the ``removed`` interfaces, and the routes through them, are gone."""
    if not removed:
        return state
    detail = {}
    for netns, live in state.detail.items():
        gone = {ifname for ns_name, ifname in removed if ns_name == netns}
        detail[netns] = NamespaceState(
            netns,
            {name: iface for name, iface in live.interfaces.items() if name not in gone},
            [route for route in live.routes if not any(dev in gone for _via, dev in route.all_nexthops())],
            live.sysctls,
            live.pids,
            {name: config for name, config in live.vxlan.items() if name not in gone},
        )
    return LiveState(state.netns, detail, state.files)


def _plan_sysctls(node: Node, live: NamespaceState, created: bool) -> t.List[Step]:
    changes = [
        "%s=%s" % (key, value) for key, value in node.sysctls
        if live.sysctls.get(key) != value and not (created and key in _EARLY_KEYS)
    ]
    if not changes:
        return []
    return [run("ip", "netns", "exec", node.netns, "sysctl", "-q", "-w", *changes)]


def _plan_addresses(topo: Topology, state: LiveState) -> t.List[Step]:
    steps: t.List[Step] = []
    ups: t.List[Step] = []
    where = [(node.netns, end) for node in topo.nodes for end, _mtu, _peer in topo.interfaces(node.name)]
    where += [(ROOT, segment.controller) for segment in topo.segments if segment.controller is not None]
    where += [(topo.node(end.node).netns, end) for tunnel in topo.tunnels for end in (tunnel.a, tunnel.b)]
    for netns, end in where:
        iface = _ns(state, netns).interfaces.get(end.ifname)
        have = iface.addresses if iface else frozenset()
        want = {str(addr): addr.version for addr in (end.ipv4, end.ipv6) if addr is not None}
        for addr in sorted(have - set(want)):
            steps.append(_ip(netns, "addr", "del", addr, "dev", end.ifname))
        for addr, family in want.items():
            if addr in have:
                continue
            if family == 4:
                steps.append(_ip(netns, "addr", "add", addr, "dev", end.ifname))
            else:
                # nodad: the address is usable at once, tests do not wait for DAD.
                steps.append(_ip(netns, "-6", "addr", "add", addr, "dev", end.ifname, "nodad"))
        if iface is None or not iface.up:
            ups.append(_ip(netns, "link", "set", end.ifname, "up"))
    return steps + ups


def _plan_tunnels(topo: Topology, state: LiveState) -> t.Tuple[t.List[Step], t.Set[t.Tuple[str, str]]]:
    """Each end's VXLAN interface: created, recreated when its VXLAN settings drifted, MTU set."""
    steps: t.List[Step] = []
    removed: t.Set[t.Tuple[str, str]] = set()
    for tunnel in topo.tunnels:
        for end, local, remote in tunnel.ends():
            netns = topo.node(end.node).netns
            live = _ns(state, netns)
            iface = live.interfaces.get(tunnel.ifname)
            if iface is not None and live.vxlan.get(tunnel.ifname) != tunnel.config(local, remote):
                steps.append(run("ip", "-n", netns, "link", "del", tunnel.ifname))
                removed.add((netns, tunnel.ifname))
                iface = None
            if iface is None:
                steps.append(run("ip", "-n", netns, "link", "add", tunnel.ifname, *tunnel.create_args(local, remote)))
            elif iface.mtu != tunnel.mtu:
                steps.append(run("ip", "-n", netns, "link", "set", tunnel.ifname, "mtu", str(tunnel.mtu)))
    return steps, removed


def _plan_segment(topo: Topology, segment: Segment, state: LiveState) -> t.Tuple[t.List[Step], t.Set[t.Tuple[str, str]]]:
    """The bridge, one veth per member (and the controller's), ports enslaved and up."""
    steps: t.List[Step] = []
    removed: t.Set[t.Tuple[str, str]] = set()
    live = _ns(state, segment.netns)
    ports = {names.ifname(end.node): end for end in segment.members}
    wanted = set(ports) | {names.BRIDGE_IFNAME} | ({names.CONTROLLER_PORT} if segment.controller else set())
    for ifname in sorted(live.interfaces):
        if ifname != "lo" and ifname not in wanted:
            # Not checked: the port of a member that left is gone with its other end.
            steps.append(run("ip", "-n", segment.netns, "link", "del", ifname, check=False))
    bridge = live.interfaces.get(names.BRIDGE_IFNAME)
    if bridge is None:
        # No multicast snooping: without a querier it would stop IPv6 neighbour discovery.
        steps.append(run("ip", "-n", segment.netns, "link", "add", names.BRIDGE_IFNAME, "mtu", str(segment.mtu),
                         "type", "bridge", "mcast_snooping", "0"))
    elif bridge.mtu != segment.mtu:
        steps.append(run("ip", "-n", segment.netns, "link", "set", names.BRIDGE_IFNAME, "mtu", str(segment.mtu)))
    pairs = [(topo.node(end.node).netns, end.ifname, port) for port, end in ports.items()]
    if segment.controller is not None:
        pairs.append((ROOT, segment.controller.ifname, names.CONTROLLER_PORT))
    for netns, ifname, port in pairs:
        steps += _plan_port(segment, (netns, ifname), port, state, removed)
    if bridge is None or not bridge.up:
        steps.append(run("ip", "-n", segment.netns, "link", "set", names.BRIDGE_IFNAME, "up"))
    return steps, removed


def _plan_port(segment: Segment, outer: t.Tuple[str, str], port: str, state: LiveState,
               removed: t.Set[t.Tuple[str, str]]) -> t.List[Step]:
    """One veth: ``outer`` (netns, ifname) at the member or controller, ``port`` on the bridge."""
    steps: t.List[Step] = []
    netns, ifname = outer
    outer_if = _ns(state, netns).interfaces.get(ifname)
    port_if = _ns(state, segment.netns).interfaces.get(port)
    mtu = str(segment.mtu)
    if outer_if is None or port_if is None:
        for half_ns, half, name in ((netns, outer_if, ifname), (segment.netns, port_if, port)):
            if half is not None:
                steps.append(_ip(half_ns, "link", "del", name))
                removed.add((half_ns, name))
        at = () if netns == ROOT else ("netns", netns)
        steps.append(run("ip", "link", "add", ifname, *at, "mtu", mtu,
                         "type", "veth", "peer", "name", port, "netns", segment.netns, "mtu", mtu))
        port_if = None
    else:
        for half_ns, half in ((netns, outer_if), (segment.netns, port_if)):
            if half.mtu != segment.mtu:
                steps.append(_ip(half_ns, "link", "set", half.name, "mtu", mtu))
    if port_if is None or port_if.master != names.BRIDGE_IFNAME or not port_if.up:
        steps.append(run("ip", "-n", segment.netns, "link", "set", port, "master", names.BRIDGE_IFNAME, "up"))
    return steps


def check_controller_subnets(topo: Topology, state: LiveState) -> None:
    """Refuse a controller veth whose subnet another root interface already has."""
    root = state.detail.get(ROOT)
    for segment in topo.segments:
        end: t.Optional[Endpoint] = segment.controller
        if end is None or root is None:
            continue
        for iface in root.interfaces.values():
            if iface.name == end.ifname:
                continue
            for addr in sorted(iface.addresses):
                prefix = segment.prefix(6 if ":" in addr else 4)
                if prefix is not None and ipaddress.ip_interface(addr).network.overlaps(prefix):  # type: ignore[arg-type]
                    raise LabError(
                        "segment %s of lab %s needs %s on the controller, but interface %s of the init "
                        "namespace already has %s in that range (another lab, or a real network); "
                        "tear that down first or give the segment another prefix"
                        % (segment.name, topo.name, prefix, iface.name, addr)
                    )


def _plan_routes(topo: Topology, state: LiveState) -> t.List[Step]:
    steps: t.List[Step] = []
    for node in topo.nodes:
        live = _ns(state, node.netns)
        wanted = {(route.family, route.destination): route for route in topo.routes if route.node == node.name}
        current = {(route.family, route.destination): route for route in live.routes}
        for key, route in sorted(current.items()):
            if route.protocol == "static" and key not in wanted:
                steps.append(run(
                    "ip", "-n", node.netns, "-%d" % route.family, "route", "del", route.destination,
                    "proto", "static",
                ))
        for key, want in wanted.items():
            have = current.get(key)
            if have is not None and have.protocol == "static" and set(have.all_nexthops()) == set(want.nexthops()):
                continue
            verb = "add" if have is None else "replace"
            steps.append(run(
                "ip", "-n", node.netns, "-%d" % want.family, "route", verb, want.destination,
                *_nexthop_args(want),
            ))
    return steps


def _nexthop_args(route: Route) -> t.List[str]:
    if not route.multipath:
        return ["via", route.via, "dev", route.dev, "proto", "static"]
    args: t.List[str] = ["proto", "static"]  # before the nexthops, which take the rest of the line
    for via, dev in route.nexthops():
        args += ["nexthop", "via", via, "dev", dev]
    return args


def _plan_sshd(topo: Topology, state: LiveState, paths: sshd.LabPaths) -> t.List[Step]:
    nodes = [node for node in topo.nodes if node.sshd]
    if not nodes:
        return []
    steps: t.List[Step] = []
    for directory, mode in ((paths.lab_dir, 0o700), (sshd.SSHD_PRIVSEP_DIR, 0o755)):
        if state.files.get(directory) is None:
            steps.append(Step("mkdir", path=directory, mode=mode))
    if state.files.get(paths.key) is None:
        steps.append(run(*sshd.keygen_argv(paths.key, "nilab-%s" % topo.name)))
    if state.files.get(paths.relay) != sshd.RELAY_SCRIPT:
        steps.append(Step("write", path=paths.relay, content=sshd.RELAY_SCRIPT, mode=0o644))
    for node in nodes:
        if state.files.get(paths.node_dir(node.name)) is None:
            steps.append(Step("mkdir", path=paths.node_dir(node.name), mode=0o700))
        if state.files.get(paths.host_key(node.name)) is None:
            steps.append(run(*sshd.keygen_argv(paths.host_key(node.name), "nilab-%s-%s" % (topo.name, node.name))))
        config = sshd.render_sshd_config(topo, node, paths)
        pid = _sshd_pid(state, paths, node)
        if state.files.get(paths.sshd_config(node.name)) != config:
            steps.append(Step("write", path=paths.sshd_config(node.name), content=config, mode=0o600))
            if pid is not None:
                steps.append(run("kill", "-TERM", str(pid), check=False))
                pid = None
        if pid is None:
            steps.append(run("ip", "netns", "exec", node.netns, sshd.SSHD, "-f", paths.sshd_config(node.name)))
            # sshd writes its pid file once it listens: then the lab is ready for SSH.
            steps.append(Step("wait", path=paths.pid_file(node.name)))
    return steps


def _sshd_pid(state: LiveState, paths: sshd.LabPaths, node: Node) -> t.Optional[int]:
    """The pid of the node's sshd when it runs inside the node's namespace."""
    return _daemon_pid(state, paths.pid_file(node.name), node.netns)


def _daemon_pid(state: LiveState, pid_file: str, netns: str) -> t.Optional[int]:
    """The pid in ``pid_file`` when that process runs inside ``netns``."""
    text = (state.files.get(pid_file) or "").strip()
    if not text.isdigit():
        return None
    pid = int(text)
    return pid if pid in _ns(state, netns).pids else None


def _plan_frr(topo: Topology, state: LiveState, paths: sshd.LabPaths, planned: t.Sequence[Step]) -> t.List[Step]:
    """bgpd per BGP router: its directory, its config, and the daemon (restarted when the config changes)."""
    steps: t.List[Step] = []
    made = {step.path for step in planned if step.kind == "mkdir"}
    for router in topo.bgp:
        node = topo.node(router.node)
        node_dir = paths.node_dir(node.name)
        for directory in (paths.lab_dir, node_dir, frr.directory(node_dir)):
            if state.files.get(directory) is None and directory not in made:
                steps.append(Step("mkdir", path=directory, mode=0o700))
                made.add(directory)
        config = frr.render_config(router, node_dir)
        pid = _daemon_pid(state, frr.pid_path(node_dir), node.netns)
        if state.files.get(frr.config_path(node_dir)) != config:
            steps.append(Step("write", path=frr.config_path(node_dir), content=config, mode=0o600))
            if pid is not None:
                steps.append(run("kill", "-TERM", str(pid), check=False))
                pid = None
        if pid is None:
            steps.append(run("rm", "-f", frr.pid_path(node_dir)))  # a dead bgpd's pid file would end the wait at once
            steps.append(run(*frr.bgpd_argv(node.netns, node_dir)))
            steps.append(Step("wait", path=frr.pid_path(node_dir)))
    return steps


def remove_netns(live: NamespaceState) -> t.List[Step]:
    """Kill what runs in the namespace (it would keep the namespace alive), then delete it."""
    steps: t.List[Step] = []
    if live.pids:
        steps.append(run("kill", "-KILL", *[str(pid) for pid in live.pids], check=False))
    steps.append(run("ip", "netns", "del", live.name))
    return steps


def plan_down(lab: str, state: LiveState, paths: sshd.LabPaths) -> t.List[Step]:
    prefix = names.lab_netns_prefix(lab)
    steps: t.List[Step] = []
    controller = names.controller_ifname(lab)
    if controller in _ns(state, ROOT).interfaces:
        steps.append(run("ip", "link", "del", controller, check=False))
    for netns in state.netns:
        if netns.startswith(prefix):
            steps += remove_netns(_ns(state, netns))
    if state.files.get(paths.lab_dir) is not None:
        steps.append(Step("rmtree", path=paths.lab_dir))
    return steps


def plan_cleanup(state: LiveState, root_links: t.Sequence[str], lab_dirs: t.Sequence[str]) -> t.List[Step]:
    """Remove every lab namespace and lab-named root link, and the given lab state dirs."""
    steps: t.List[Step] = []
    # Root links first: a controller veth dies with its segment namespace, but only
    # once the kernel gets round to it, so it is deleted while it surely exists.
    for link in root_links:
        if names.is_lab_link(link):
            steps.append(run("ip", "link", "del", link, check=False))
    for netns in state.netns:
        if names.split_netns(netns) is not None:
            steps += remove_netns(_ns(state, netns))
    for path in lab_dirs:
        steps.append(Step("rmtree", path=path))
    return steps
