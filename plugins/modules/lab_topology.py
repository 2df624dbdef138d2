#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_topology
short_description: Build, tear down or clean up a lab of Linux network namespaces
version_added: 1.0.0
description:
  - Builds a lab from a small topology description; nodes are network namespaces,
    links are veth pairs with a per-link MTU, segments are LANs (a Linux bridge in its own
    namespace, any number of members), IPv4 and IPv6 addresses come from the
    documentation ranges, routers forward, static routes connect every node to every
    lab address. Optionally runs an sshd inside a node, reachable from the controller
    directly over a segment that has the controller (C(controller=true)).
  - Sizes the lab within the host-wide neighbour tables (C(gc_thresh3) of IPv4 and IPv6, read
    and never changed). A lab that needs more entries than the limit is refused, one that comes
    close gets a warning; both name the numbers.
  - Idempotent. The live state is read (C(ip -j netns list), C(ip -j addr), C(ip -j route),
    C(sysctl -n)) and only the missing or different parts are changed; a second run changes
    nothing. Check mode computes the same plan and runs none of it.
  - Every namespace is named C(nilab-<lab>-<node>) (a segment's C(nilab-<lab>-<segment>)) and
    every interface inside it C(nl-<peer>); the controller's veth into a segment is C(nl-<lab>)
    in the init namespace. So several labs coexist and leftovers of a crashed run can be found
    and removed.
  - Writes an Ansible inventory of the lab (O(inventory_path)) in which every node is a
    host reached with the C(netdevops.icmp.netns) connection.
  - See C(docs/lab.md) in the collection for the topology format in full.
author:
  - netdevops.icmp contributors (@netdevops)
options:
  topology:
    description:
      - The topology as a mapping. Keys C(name) (lab name, 1 to 12 lower-case letters and
        digits), C(nodes), C(links), optional C(segments), C(routes), C(auto_routes), C(ecmp) and
        C(tunnels).
      - C(nodes) items have C(name), C(role) (C(host) or C(router), default C(host)), optional
        C(sshd) (bool), C(ssh_from) (node whose namespace the controller's SSH sessions start
        from), C(sysctls) (mapping of per-namespace keys under C(net.); others are refused),
        C(ping_group_range) (default C("0 2147483647")) and C(count) (the entry stands for nodes
        C(<name>1) to C(<name><count>)), and for routers C(frr) (run FRR's bgpd in the node, with
        C(asn), C(neighbors) (items C(node), optional C(address), C(asn), C(multihop), C(timers)),
        optional C(router_id), C(timers), C(networks) and C(announce) (C({pool, prefixlen, count})
        generated prefixes)); see the lab guide.
      - C(segments) items have C(name), C(members) (node names, the name of a counted entry for
        all of its nodes, or mappings C({node, ipv4, ipv6})), C(mtu), C(ipv4) and C(ipv6) (as for
        links; an allocated IPv4 prefix is sized to the members) and C(controller) (V(true) or
        C({ipv4, ipv6}), a veth from the controller into the segment; one segment per lab).
      - C(links) items have C(a) and C(b) (node names, or mappings C({node, ipv4, ipv6}) with
        explicit addresses), C(mtu) (default 1500), C(ipv4) and C(ipv6) (a prefix inside
        192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32, V(false) to leave the
        family off the link, or absent to allocate one).
      - C(routes) items have C(node), C(to) (prefix or C(default)) and C(via) (a neighbour's
        address, or a list of them for an equal-cost multipath route); they replace the
        automatic route of that node to that destination.
      - C(ecmp) has C(auto) (default V(false); V(true) keeps every equal-cost next hop in the
        automatic routes, so a topology with equal-cost paths gets multipath routes) and
        C(hash_policy) (C(net.ipv4/ipv6.fib_multipath_hash_policy), default V(1), the L4 hash of
        addresses and ports; V(0) addresses only, V(2) inner addresses). Once the lab has a
        multipath route, every router and every host holding one gets the hash policy, unless its
        own C(sysctls) set it.
      - C(tunnels) items have C(name), C(a) and C(b) (node names, or mappings C({node, ipv4, ipv6})
        with explicit overlay addresses), C(vni) (1 to 16777215), optional C(type) (V(vxlan)),
        C(mtu) (default the underlay MTU minus 50 over IPv4, 70 over IPv6), C(df) (V(set),
        V(unset) (default) or V(inherit)), C(port) (default 4789), C(ipv4) and C(ipv6) (overlay
        prefixes as for links) and C(underlay) (V(ipv4) or V(ipv6), the ends' addresses on a link
        or segment they share, the default; or C({a, b}), addresses of the two nodes).
      - Mutually exclusive with O(topology_file).
    type: dict
  topology_file:
    description:
      - Path of a YAML file holding the topology (same format as O(topology)).
      - Needs PyYAML where the module runs.
    type: path
  name:
    description:
      - Lab name; overrides the C(name) of the topology. Lets one topology be built several
        times side by side.
      - With O(state=absent), enough on its own to remove the lab.
      - With O(state=cleanup), limits the clean-up to this lab.
    type: str
  state:
    description:
      - V(present) builds the lab or brings it back in line with the topology (namespaces,
        interfaces, addresses and static routes that the topology does not name are removed).
      - V(absent) kills what runs in the lab's namespaces (sshd and anything else), deletes the
        namespaces (and with them their interfaces), the lab's state directory and the
        inventory at O(inventory_path).
      - V(cleanup) removes leftovers of B(every) lab (or only of O(name)) - namespaces named
        C(nilab-*) and root-namespace links named C(nl-*) or C(nilab-*) - and nothing else. Do not
        run it while other labs are in use.
    type: str
    choices: [present, absent, cleanup]
    default: present
  inventory_path:
    description:
      - Where to write the inventory (YAML) of the lab built. Not written when unset.
      - Hosts are the nodes (groups C(lab_hosts), C(lab_routers)), with C(ansible_connection)
        C(netdevops.icmp.netns), C(ansible_host) the namespace, and host variables C(lab_name),
        C(lab_node), C(lab_role), C(lab_netns), C(lab_addresses) and C(lab_interfaces)
        (and for a BGP router C(lab_frr), with C(asn), C(router_id), C(neighbors), C(networks),
        C(vty_socket) and C(vtysh), the command that reads its state; for a node with multipath
        routes C(lab_multipath), each with C(family), C(destination) and C(nexthops) (C(via), C(dev)));
        C(lab_links) is a group variable of C(all).
      - A node with C(sshd) also appears as C(<node>_ssh) in group C(lab_ssh). It is reached over SSH
        directly from the controller when it is on a segment with C(controller) and has no
        C(ssh_from); else across the lab from the namespace of its C(ssh_from) node.
      - C(lab_segments) (a group variable of C(all)) lists the segments with their members' and
        the controller's addresses; C(lab_tunnels) (the same) the tunnels, as in RV(tunnels).
      - Needs PyYAML (it comes with ansible-core).
    type: path
  fleet_size:
    description:
      - Number of nodes of every node entry with C(count) in the topology (overrides its
        C(count)); the N of the shipped C(fleet) topology.
    type: int
  state_dir:
    description:
      - Directory for per-lab files (sshd configuration, keys, pid files).
      - An absolute path of letters, digits and C(_ . + - /).
    type: path
    default: /run/netdevops_icmp_lab
  python_interpreter:
    description:
      - C(ansible_python_interpreter) written into the inventory for the nodes.
      - Defaults to the Python that runs this module.
    type: str
attributes:
  check_mode:
    support: full
    description: The live state is read and the plan returned in RV(commands); nothing runs.
  diff_mode:
    support: full
    description: The diff lists the planned commands.
  platform:
    support: full
    platforms: posix
    description: Linux with iproute2 (C(ip netns)), run as root. sshd nodes need OpenSSH.
notes:
  - Lab namespaces have routes to lab prefixes only, no default route, so nothing inside a lab
    reaches any other network.
  - IPv6 addresses are added with C(nodad) and DAD is off in lab namespaces, so addresses work at
    once.
  - The inventory's C(ansible_python_interpreter) must exist on the controller, because lab nodes
    share the controller's filesystem.
seealso:
  - name: Lab guide
    description: Topology format, naming, inventory, fixtures.
    link: https://github.com/netdevops/netdevops.icmp/blob/main/docs/lab.md
"""

EXAMPLES = r"""
- name: Build the default lab and write its inventory
  netdevops.icmp.lab_topology:
    topology_file: "{{ lookup('ansible.builtin.env', 'HOME') }}/topologies/default.yml"
    inventory_path: /tmp/lab-default.yml

- name: Build a small lab from an inline topology, with sshd on h2
  netdevops.icmp.lab_topology:
    topology:
      name: demo
      nodes:
        - {name: h1}
        - {name: r1, role: router}
        - {name: h2, sshd: true}
      links:
        - {a: h1, b: r1, ipv4: 198.51.100.0/24, ipv6: "2001:db8:1::/64"}
        - {a: r1, b: h2, mtu: 1400}
    inventory_path: /tmp/lab-demo.yml

- name: A fleet of 50 sshd hosts on one LAN with the controller (shipped topology)
  netdevops.icmp.lab_topology:
    topology_file: "{{ lookup('ansible.builtin.env', 'HOME') }}/topologies/fleet.yml"
    fleet_size: 50
    inventory_path: /tmp/lab-fleet.yml

- name: Tear it down
  netdevops.icmp.lab_topology:
    name: demo
    state: absent
    inventory_path: /tmp/lab-demo.yml

- name: Remove leftovers of crashed labs
  netdevops.icmp.lab_topology:
    state: cleanup
"""

RETURN = r"""
lab:
  description: Name of the lab; V(null) for a clean-up of every lab.
  returned: always
  type: str
  sample: default
commands:
  description: The steps run (or, in check mode, that would run), in order.
  returned: always
  type: list
  elements: str
  sample: ["ip netns add nilab-default-h1", "ip -n nilab-default-h1 link set lo up"]
namespaces:
  description: The lab's namespace names (with O(state=present)), else those removed.
  returned: always
  type: list
  elements: str
  sample: [nilab-default-h1, nilab-default-r1, nilab-default-h2]
nodes:
  description: The nodes built; empty unless O(state=present).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Node name., type: str, returned: always}
    role: {description: V(host) or V(router)., type: str, returned: always}
    netns: {description: Namespace name., type: str, returned: always}
    sshd: {description: Whether an sshd runs in the node., type: bool, returned: always}
    addresses:
      description: Addresses without prefix length, C({ipv4, ipv6}) lists.
      type: dict
      returned: always
    interfaces:
      description: C(ifname), C(peer), C(mtu), C(ipv4) and C(ipv6) (with prefix length) per link.
      type: list
      elements: dict
      returned: always
addresses:
  description: Addresses per node (without prefix length); empty unless O(state=present).
  returned: always
  type: dict
  sample: {"h1": {"ipv4": ["198.51.100.10"], "ipv6": ["2001:db8:1::10"]}}
segments:
  description: >-
    The segments; C(name), C(netns), C(mtu), prefixes C(ipv4) and C(ipv6), C(members) (node ->
    C({ipv4, ipv6})), C(controller) (C({ipv4, ipv6}) or V(null)) and C(controller_ifname).
  returned: always
  type: list
  elements: dict
tunnels:
  description: >-
    The VXLAN tunnels; C(name), C(type), C(ifname), C(vni), C(port), C(df), C(mtu), C(fitting_mtu)
    (the underlay MTU minus the encapsulation), C(underlay_family), C(underlay_mtu), overlay
    prefixes C(ipv4) and C(ipv6), and C(a) / C(b) (C(node), overlay C(ipv4) and C(ipv6), and
    C(underlay), the end's underlay address). Empty unless O(state=present).
  returned: always
  type: list
  elements: dict
links:
  description: >-
    The links; C(a), C(b), C(mtu), C(a_ifname), C(b_ifname), prefixes C(ipv4) and C(ipv6), and
    C(a_addresses) / C(b_addresses). Empty unless O(state=present).
  returned: always
  type: list
  elements: dict
routes:
  description:
    - Static routes of the lab (C(node), C(family), C(to), C(via), C(dev), C(origin) auto or static).
    - C(nexthops) lists every next hop as C({via, dev}); more than one for a multipath (ECMP)
      route, whose C(via) and C(dev) are the first.
  returned: always
  type: list
  elements: dict
inventory_path:
  description: The inventory written (or removed), V(null) when O(inventory_path) is unset.
  returned: always
  type: str
"""

import re
import sys
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory as lab_inventory
from ansible_collections.netdevops.icmp.plugins.module_utils._lab import tunnels as lab_tunnels
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import Files, LabEngine, Outcome
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Topology
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandResult

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core on the controller
    HAS_YAML = False
else:
    HAS_YAML = True


# Goes into the inventory and into ssh's ProxyCommand: a plain absolute path only.
PYTHON_RE = re.compile(r"/[A-Za-z0-9_.+/-]+")


class ModuleRunner:
    """The ``CommandRunner`` seam over ``AnsibleModule.run_command``."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module

    def run(self, argv: t.Sequence[str], stdin: t.Optional[str] = None, check: bool = True) -> CommandResult:
        rc, out, err = self.module.run_command(list(argv), data=stdin, binary_data=True)
        result = CommandResult(tuple(argv), rc, out, err)
        if check and rc != 0:
            raise CommandError(result)
        return result


def load_topology(params: t.Dict[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    if params["topology"] is not None:
        return t.cast(t.Dict[str, t.Any], params["topology"])
    if params["topology_file"] is None:
        return None
    try:
        with open(params["topology_file"], encoding="utf-8") as handle:
            return t.cast(t.Dict[str, t.Any], yaml.safe_load(handle))
    except (OSError, yaml.YAMLError) as err:
        raise LabError("cannot read topology_file %s: %s" % (params["topology_file"], err)) from err


def write_inventory(path: str, content: t.Optional[str], files: Files, check_mode: bool) -> bool:
    """Write (or with ``content`` None remove) the inventory; True when it changed."""
    current = files.read_text(path)
    if current == content:
        return False
    if not check_mode:
        if content is None:
            files.remove(path)
        else:
            files.write_text(path, content, 0o644)
    return True


def execute(params: t.Dict[str, t.Any], engine: LabEngine, check_mode: bool) -> t.Dict[str, t.Any]:
    """Everything but the AnsibleModule: parse, run the engine, shape the result."""
    data = load_topology(params)
    state = params["state"]
    python = params["python_interpreter"] or sys.executable
    if PYTHON_RE.fullmatch(python) is None:
        raise LabError(
            "python_interpreter %r is refused: give an absolute path of letters, digits and _ . + - /" % (python,)
        )
    topo: t.Optional[Topology] = None
    if data is not None:
        topo = parse_topology(data, name=params["name"], fleet_size=params["fleet_size"])
    lab = topo.name if topo is not None else params["name"]
    inventory_path = params["inventory_path"]
    result: t.Dict[str, t.Any] = {
        "lab": lab, "nodes": [], "addresses": {}, "links": [], "segments": [], "tunnels": [], "routes": [],
        "namespaces": [],
        "inventory_path": inventory_path,
    }
    if state == "present":
        if topo is None:
            raise LabError("state=present needs topology or topology_file")
        outcome = engine.up(topo, check_mode=check_mode)
        result.update(describe(topo))
        inventory = lab_inventory.build_inventory(topo, engine.paths(topo.name), python)
        content: t.Optional[str] = "---\n" + yaml.safe_dump(inventory, default_flow_style=False, sort_keys=False)
    elif state == "absent":
        if lab is None:
            raise LabError("state=absent needs name, topology or topology_file")
        outcome = engine.down(lab, check_mode=check_mode)
        result["namespaces"] = removed_namespaces(outcome)
        content = None
    else:
        outcome = engine.cleanup(labs=[lab] if lab else None, check_mode=check_mode)
        result["namespaces"] = removed_namespaces(outcome)
        content = None
        inventory_path = None  # a clean-up leaves inventories alone
    changed = outcome.changed
    if inventory_path and (content is not None or engine.files.read_text(inventory_path) is not None):
        changed = write_inventory(inventory_path, content, engine.files, check_mode) or changed
    result["commands"] = outcome.commands
    result["changed"] = changed
    result["warnings_lab"] = list(outcome.warnings)
    return result


def removed_namespaces(outcome: Outcome) -> t.List[str]:
    prefix = ("ip", "netns", "del")
    return [step.argv[3] for step in outcome.steps if step.argv[:3] == prefix]


def describe(topo: Topology) -> t.Dict[str, t.Any]:
    return {
        "nodes": [lab_inventory.node_facts(topo, node) for node in topo.nodes],
        "namespaces": [node.netns for node in topo.nodes],
        "addresses": {node.name: lab_inventory.node_addresses(topo, node.name) for node in topo.nodes},
        "links": lab_inventory.link_facts(topo),
        "segments": lab_inventory.segment_facts(topo),
        "tunnels": [lab_tunnels.facts(tunnel) for tunnel in topo.tunnels],
        "routes": [
            {"node": route.node, "family": route.family, "to": route.destination, "via": route.via,
             "dev": route.dev, "origin": route.origin,
             "nexthops": [{"via": via, "dev": dev} for via, dev in route.nexthops()]}
            for route in topo.routes
        ],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            topology=dict(type="dict"),
            topology_file=dict(type="path"),
            name=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "cleanup"]),
            inventory_path=dict(type="path"),
            state_dir=dict(type="path", default="/run/netdevops_icmp_lab"),
            python_interpreter=dict(type="str"),
            fleet_size=dict(type="int"),
        ),
        mutually_exclusive=[("topology", "topology_file")],
        required_if=[("state", "present", ("topology", "topology_file"), True)],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    try:
        engine = LabEngine(ModuleRunner(module), Files(), module.params["state_dir"])
        result = execute(module.params, engine, module.check_mode)
    except LabError as err:
        module.fail_json(msg=str(err))
    for warning in result.pop("warnings_lab"):
        module.warn(warning)
    if module._diff and result["commands"]:
        result["diff"] = {"prepared": "\n".join(result["commands"]) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
