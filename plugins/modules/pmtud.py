#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pmtud
short_description: Measure the path MTU to a target and detect PMTUD black holes
version_added: 1.0.0
description:
  - Finds the largest packet that crosses the path from the managed host to O(target) without
    fragmentation, with DF probes sent in C(IP_PMTUDISC_PROBE) / C(IPV6_PMTUDISC_PROBE) mode so
    the kernel's cached path MTU neither blocks nor fragments them.
  - When a router answers with ICMP "fragmentation needed" (IPv4) or "packet too big" (IPv6),
    the next probe has exactly the reported next-hop MTU, so a normal path is measured in about
    one round trip per bottleneck.
  - When large probes vanish without any ICMP error while small probes to the same target are
    answered, the path is a PMTUD black hole. The module then finds the MTU by rounds of
    parallel probes over a size table, keeps small confirmation probes flowing, and returns
    RV(black_hole=true) and RV(inferred=true) with a message saying that ICMP
    "fragmentation needed" / "packet too big" is being dropped on the path.
  - In a black hole it also says where reports stop. One probe just over the path MTU and one
    small probe go out at every TTL; RV(last_full_size_hop) is the last hop that answered the
    large one (time exceeded), RV(first_vanishing_hop) the first hop where it vanished while the
    small one was answered. The router at RV(last_full_size_hop) forwards onto the too-small
    link and its ICMP error is lost.
  - When the host itself limits packets below its interface MTU, as a tunnel (VXLAN, GRE) whose
    MTU is set higher than its underlay carries does, the kernel lowers the route's MTU
    locally with no ICMP on the wire. The module reads it (C(IP_MTU) / C(IPV6_MTU)) after every
    round and returns it as RV(local_limit) with the interface, caps RV(path_mtu) at it, and
    does not call it a black hole.
  - Works as root (raw sockets) and without privileges (ICMP datagram sockets or UDP sockets
    and the socket error queue, C(IP_RECVERR) / C(IPV6_RECVERR)).
author:
  - netdevops.icmp contributors (@netdevops)
options:
  target:
    description: Host name or IP address to measure the path to. A name is resolved once.
    type: str
    required: true
  family:
    description: Address family to use; V(auto) takes the first address the name resolves to.
    type: str
    choices: [auto, ipv4, ipv6]
    default: auto
  method:
    description:
      - V(icmp) sends echo requests (answered by echo replies, which routers do not rate-limit).
      - V(udp) sends UDP datagrams to O(port) (answered by port unreachable). Destinations
        rate-limit port unreachable (Linux allows a burst of 6, then one per second), so a black-hole
        search with V(udp) takes about one second per step (8 to 12 s).
    type: str
    choices: [icmp, udp]
    default: icmp
  privileged:
    description:
      - V(raw) needs root or CAP_NET_RAW; V(unprivileged) uses datagram sockets (for V(icmp),
        the user's group must be inside C(net.ipv4.ping_group_range)); V(auto) tries raw first.
    type: str
    choices: [auto, raw, unprivileged]
    default: auto
  min_mtu:
    description:
      - Smallest size (bytes, IP header included) the search considers; the confirmation
        probes have this size. Defaults to 576 for IPv4 and 1280 (the IPv6 minimum) for IPv6.
    type: int
  max_mtu:
    description:
      - Largest size (bytes, IP header included) to try. Defaults to the MTU of the interface
        the route to the target leaves by (not the cached path MTU).
    type: int
  timeout:
    description: Longest wait in seconds for the answers of one round of probes.
    type: float
    default: 1.0
  port:
    description: Destination port of V(udp) probes.
    type: int
    default: 33434
  source:
    description: Source address to send from.
    type: str
  interface:
    description: Send through this interface or VRF device (C(SO_BINDTODEVICE)).
    type: str
  expect_min_mtu:
    description:
      - Fail the task when the measured path MTU is below this value, or when it cannot be
        measured. The result is returned either way.
    type: int
extends_documentation_fragment:
  - netdevops.icmp.capture_probe
attributes:
  check_mode:
    support: full
    description: Probing changes nothing, so check mode measures too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux (socket error queue, C(IP_PMTUDISC_PROBE)).
  action_group:
    support: full
    membership: [netdevops.icmp.probes]
    description: Use C(group/netdevops.icmp.probes) in C(module_defaults) to set the options ping, traceroute and pmtud share.
notes:
  - The module changes nothing, C(changed) is always V(false).
  - Probes go only to O(target). A PMTUD black hole stalls TCP sessions that send full-size
    segments (TLS, BGP, SSH with large outputs); fix it by letting ICMP type 3 code 4 and
    ICMPv6 type 2 through (see M(netdevops.icmp.policy)) or by clamping the MSS.
seealso:
  - module: netdevops.icmp.traceroute
  - module: netdevops.icmp.ping
"""

EXAMPLES = r"""
- name: Measure the path MTU to a peer
  netdevops.icmp.pmtud:
    target: 203.0.113.10
  register: pmtu

- name: Fail when the path cannot carry 1400-byte packets
  netdevops.icmp.pmtud:
    target: vpn-peer.example.net
    family: ipv6
    expect_min_mtu: 1400

- name: Flag PMTUD black holes without root
  netdevops.icmp.pmtud:
    target: 198.51.100.7
    privileged: unprivileged
  register: pmtu
  failed_when: pmtu.black_hole
"""

RETURN = r"""
target:
  description: The target as given.
  returned: always
  type: str
  sample: vpn-peer.example.net
destination:
  description: The address probed.
  returned: always
  type: str
  sample: 203.0.113.10
family:
  description: V(ipv4) or V(ipv6).
  returned: always
  type: str
  sample: ipv4
method:
  description: The probe method used.
  returned: always
  type: str
  sample: icmp
mode:
  description: V(raw) or V(unprivileged), the sockets actually used.
  returned: always
  type: str
  sample: unprivileged
path_mtu:
  description: The path MTU in bytes (IP header included); null when the target did not answer.
  returned: always
  type: int
  sample: 1280
local_mtu:
  description: MTU of the outgoing interface in bytes; null when unknown.
  returned: always
  type: int
  sample: 1500
reported_by:
  description: Address of the router that last reported a smaller MTU (frag-needed / packet-too-big); null when none did.
  returned: always
  type: str
  sample: 192.0.2.6
black_hole:
  description: True when larger probes vanished without an ICMP error while smaller ones were answered.
  returned: always
  type: bool
  sample: false
inferred:
  description: True when RV(path_mtu) comes from the probe search rather than from a router's report.
  returned: always
  type: bool
  sample: false
reachable:
  description: Whether the target answered the small confirmation probes.
  returned: always
  type: bool
  sample: true
probes_sent:
  description: Number of probes sent.
  returned: always
  type: int
  sample: 5
elapsed_ms:
  description: Time the measurement took in milliseconds.
  returned: always
  type: float
  sample: 1.92
last_full_size_hop:
  description:
    - In a black hole, the last hop (C(ttl), C(address)) that answered a probe one byte over
      RV(path_mtu); the router whose ICMP error never arrives. Null otherwise.
  returned: always
  type: dict
  sample: {"ttl": 3, "address": "192.0.2.6"}
first_vanishing_hop:
  description:
    - In a black hole, the first hop (C(ttl), C(address) of whoever answered the small probe there)
      from which probes one byte over RV(path_mtu) vanish. Null otherwise.
  returned: always
  type: dict
  sample: {"ttl": 4, "address": "192.0.2.9"}
local_limit:
  description:
    - Set when the host itself limits packets to the target below the interface MTU and no
      router's ICMP explains it (typically a tunnel whose MTU is set too high); null otherwise.
    - C(mtu) is the route's MTU the kernel enforces, C(interface) the route's outgoing interface
      (null when unknown), C(interface_mtu) that interface's configured MTU.
  returned: always
  type: dict
  sample: {"mtu": 1450, "interface": "vxt0", "interface_mtu": 1500}
message:
  description: One sentence that explains the result (and the black hole when there is one).
  returned: always
  type: str
  sample: path MTU to 203.0.113.10 is 1280 (reported by 192.0.2.6)
capture:
  description: What the capture beside the probes saw, or null without O(capture); its keys are listed under O(capture).
  returned: always
  type: dict
  sample: {interface: eth0, packets: 3, evidence: [3 echo requests to 203.0.113.10 left eth0, no reply arrived]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netdevops.icmp.plugins.module_utils._adapter import ModuleRunner
from ansible_collections.netdevops.icmp.plugins.module_utils._capture import alongside
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import IcmpError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import PmtuRequest, measure

ARGUMENT_SPEC = {
    "target": {"type": "str", "required": True},
    "family": {"type": "str", "choices": ["auto", "ipv4", "ipv6"], "default": "auto"},
    "method": {"type": "str", "choices": ["icmp", "udp"], "default": "icmp"},
    "privileged": {"type": "str", "choices": ["auto", "raw", "unprivileged"], "default": "auto"},
    "min_mtu": {"type": "int"},
    "max_mtu": {"type": "int"},
    "timeout": {"type": "float", "default": 1.0},
    "port": {"type": "int", "default": 33434},
    "source": {"type": "str"},
    "interface": {"type": "str"},
    "expect_min_mtu": {"type": "int"},
    "capture": alongside.ARGUMENT_SPEC,
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if not 0 < params["port"] < 65536:
        module.fail_json(msg="port=%r is not a port number: give 1-65535" % (params["port"],))
    request = PmtuRequest(
        target=params["target"], family=params["family"], method=params["method"],
        privileged=params["privileged"], min_mtu=params["min_mtu"], max_mtu=params["max_mtu"],
        timeout_s=params["timeout"], port=params["port"], source=params["source"],
        interface=params["interface"],
    )
    try:
        with alongside.for_params(params, [params["target"]], ModuleRunner(module)) as capture:
            report = measure(request)
    except IcmpError as err:
        module.fail_json(msg=str(err), target=params["target"])
    result = dict(report.as_dict(), target=params["target"], changed=False, capture=capture.result())
    expected = params["expect_min_mtu"]
    if expected is not None and (report.path_mtu is None or report.path_mtu < expected):
        module.fail_json(
            msg="path MTU to %s is %s, expected at least %d: %s"
            % (params["target"], report.path_mtu, expected, report.message),
            **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
