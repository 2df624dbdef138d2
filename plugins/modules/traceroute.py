#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: traceroute
short_description: Trace the hop-by-hop path to a target with ICMP, UDP or TCP SYN probes
version_added: 1.0.0
description:
  - Finds the routers between the managed host and O(target), TTL by TTL, with ICMP echo, UDP
    or TCP SYN probes, for IPv4 and IPv6, as root (raw sockets) or without privileges
    (datagram sockets and the socket error queue, C(IP_RECVERR) / C(IPV6_RECVERR)).
  - Paris traceroute flow identity by default, every probe of a run has the same ports and,
    for ICMP, the same checksum, so routers that balance over equal-cost paths keep all probes
    on one path and the trace shows no invented hops or loops.
  - Many TTLs are probed at once, but the probes of a hop are spread over time and silent
    probes are retried once, late, so routers' ICMP rate limits (Linux, a burst of about 6,
    then one per second) do not show up as loss. Loss at a hop whose successors answer is
    never a break (the path forwards); partial loss there is V(rate_limited); a hop that
    answers no probe at all is V(filtered) (it drops or never sends time-exceeded, since a
    rate limiter always lets its first burst through).
  - An unresponsive tail ends the trace after O(max_silent_hops) consecutive silent hops
    (about 1.5 seconds), not after O(max_hops) times O(timeout).
  - O(multipath=true) enumerates every branch of equal-cost (ECMP) paths instead, with the
    Multipath Detection Algorithm (MDA) of scamper's C(tracelb) and Dublin Traceroute; see O(multipath).
  - MPLS label stacks that routers attach to time-exceeded messages (RFC 4884 / RFC 4950) are
    returned per probe (raw sockets only).
author:
  - netdevops.icmp contributors (@netdevops)
options:
  target:
    description: Host name or IP address to trace. A name is resolved once.
    type: str
    required: true
  family:
    description: Address family to use; V(auto) takes the first address the name resolves to.
    type: str
    choices: [auto, ipv4, ipv6]
    default: auto
  method:
    description:
      - V(icmp) sends echo requests. V(udp) sends datagrams to O(port) (the destination answers
        port unreachable). V(tcp) sends SYNs to O(port) (the destination answers SYN-ACK or RST)
        and needs raw sockets (root or CAP_NET_RAW).
    type: str
    choices: [icmp, udp, tcp]
    default: icmp
  privileged:
    description:
      - V(raw) needs root or CAP_NET_RAW; V(unprivileged) uses datagram sockets (for V(icmp),
        the user's group must be inside C(net.ipv4.ping_group_range)); V(auto) tries raw first.
    type: str
    choices: [auto, raw, unprivileged]
    default: auto
  first_ttl:
    description: TTL (hop limit) of the first hop to probe.
    type: int
    default: 1
  max_hops:
    description: Largest TTL to probe.
    type: int
    default: 30
  queries:
    description: Probes per hop.
    type: int
    default: 3
  timeout:
    description:
      - Longest wait in seconds for the answer to one probe. Once a nearer hop answered, the
        wait shrinks to ten times its round-trip time, but not below 0.5 seconds.
    type: float
    default: 1.0
  max_silent_hops:
    description: Stop after this many consecutive hops that answer nothing, when no later hop answers.
    type: int
    default: 3
  port:
    description: Destination port for V(udp) (default 33434) and V(tcp) (default 80) probes.
    type: int
  size:
    description:
      - Probe packet length in bytes, IP header included. Defaults to 60 for IPv4 and 80 for
        IPv6 (at least the minimum that carries the probe's identity).
    type: int
  source:
    description: Source address to send from.
    type: str
  interface:
    description: Send through this interface or VRF device (C(SO_BINDTODEVICE)).
    type: str
  multipath:
    description:
      - V(false) traces one flow (Paris traceroute). V(true) sends UDP probes (to O(port),
        default 33434, whatever O(method) says; V(tcp) is refused), each flow from a source port of
        its own, so routers that hash addresses and ports spread them over their equal-cost next
        hops, and one flow keeps its branch at every TTL. At every TTL new flows are added until
        the MDA stopping rule rules out one more next hop with O(confidence) (at 95 percent, 6 answers for
        one next hop seen, 11 for two, 16 for three). Returns C(hops) with every next hop per TTL,
        the links between them (C(next_hops)), a C(confidence) per hop, C(branches), C(flows) and
        C(failing) (the last hop of flows that died while others reached the target).
      - With V(true), O(queries) and O(max_hops_expected) do not apply, and
        O(expect_reached=true) fails the task unless every flow reached the target.
    type: bool
    default: false
  confidence:
    description: O(multipath=true) only. Probability (0.5 to 0.99) with which another next hop is ruled out per hop.
    type: float
    default: 0.95
  max_flows:
    description: O(multipath=true) only. Most flows (source ports) used in the whole trace, 2 to 256.
    type: int
    default: 64
  expect_reached:
    description: Fail the task when the trace does (V(false)) or does not (V(true)) reach the target.
    type: bool
  must_traverse:
    description:
      - Addresses or networks (CIDR) that must appear among the responding hops, or the task fails.
    type: list
    elements: str
  max_hops_expected:
    description: Fail the task when the target is reached after more hops than this (or not reached).
    type: int
extends_documentation_fragment:
  - netdevops.icmp.capture_probe
attributes:
  check_mode:
    support: full
    description: Probing changes nothing, so check mode traces too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux (socket error queue, raw sockets).
  action_group:
    support: full
    membership: [netdevops.icmp.probes]
    description: Use C(group/netdevops.icmp.probes) in C(module_defaults) to set the options ping, traceroute and pmtud share.
notes:
  - The module changes nothing, C(changed) is always V(false).
  - A failed expectation fails the task with a message that shows the path found; all return
    values are still returned.
seealso:
  - module: netdevops.icmp.pmtud
  - module: netdevops.icmp.ping
"""

EXAMPLES = r"""
- name: Trace to a peer
  netdevops.icmp.traceroute:
    target: 203.0.113.10
  register: trace

- name: The path must go through the firewall cluster and take at most 8 hops
  netdevops.icmp.traceroute:
    target: app.example.net
    method: tcp
    port: 443
    must_traverse:
      - 198.51.100.0/28
    max_hops_expected: 8

- name: Unprivileged UDP trace over IPv6
  netdevops.icmp.traceroute:
    target: 2001:db8:20::10
    method: udp
    privileged: unprivileged
    expect_reached: true
"""

RETURN = r"""
target:
  description: The target as given.
  returned: always
  type: str
  sample: app.example.net
destination:
  description: The address traced.
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
  sample: raw
hops:
  description:
    - One entry per TTL from O(first_ttl) to the last hop reported.
    - C(status) is V(ok) (every probe answered), V(destination), V(unreachable) (an ICMP
      unreachable or no route ended the trace here), V(rate_limited) (some probes lost while
      later hops answered), V(filtered) (every probe lost while later hops answered; the router
      drops or never sends its time-exceeded), V(partial) (some probes lost, nothing answered after), or
      V(silent).
  returned: always
  type: list
  elements: dict
  contains:
    ttl:
      description: The TTL (hop limit) of the probes.
      type: int
      sample: 2
    address:
      description: The address that answered most often, or null.
      type: str
      sample: 198.51.100.1
    addresses:
      description: Every distinct address that answered at this TTL.
      type: list
      elements: str
      sample: [198.51.100.1]
    status:
      description: See above.
      type: str
      sample: ok
    probes:
      description: One entry per query.
      type: list
      elements: dict
      contains:
        address:
          description: Who answered, or null.
          type: str
        rtt_ms:
          description: Round-trip time in milliseconds, or null.
          type: float
        icmp_type:
          description: ICMP type of the answer (null for TCP answers and lost probes).
          type: int
        icmp_code:
          description: ICMP code of the answer (TCP flags for TCP answers).
          type: int
        kind:
          description:
            - V(ttl_exceeded), V(reply), V(unreachable), V(too_big), V(local_error),
              V(rate_limited) (lost, the hop answered other probes and later hops answered),
              V(filtered) (lost, the hop answered nothing and later hops answered) or
              V(timeout) (lost).
          type: str
        mpls:
          description: RFC 4950 label stack entries (C(label), C(tc), C(bottom_of_stack), C(ttl)).
          type: list
          elements: dict
  sample:
    - ttl: 1
      address: 192.0.2.1
      addresses: [192.0.2.1]
      status: ok
      probes:
        - {address: 192.0.2.1, rtt_ms: 0.071, icmp_type: 11, icmp_code: 0, kind: ttl_exceeded, mpls: []}
path:
  description: The responding address per hop (null for silent hops), in TTL order.
  returned: always
  type: list
  elements: str
  sample: [192.0.2.1, null, 192.0.2.10, 203.0.113.10]
reached:
  description: Whether the target answered.
  returned: always
  type: bool
  sample: true
branches:
  description: O(multipath=true) only. The most next hops seen at one TTL (2 behind a two-way ECMP).
  returned: when multipath is true
  type: int
  sample: 2
all_reached:
  description: O(multipath=true) only. Whether every flow that got an answer went on to the target.
  returned: when multipath is true
  type: bool
  sample: false
failing:
  description:
    - O(multipath=true) only. The last answering hop of every flow that was lost while other flows
      reached the target, that is the branches that drop traffic.
    - In multipath mode C(hops) items have C(addresses), C(flows) (address -> flow numbers),
      C(next_hops) (address -> addresses one TTL later), C(probes), C(answered), C(confidence) and
      C(status); C(flows) (top level) is, per flow, the answering address at every TTL.
  returned: when multipath is true
  type: list
  elements: str
  sample: [192.0.2.18]
stop_reason:
  description: V(reached), V(unreachable), V(silent_tail) or V(max_hops).
  returned: always
  type: str
  sample: reached
probes_sent:
  description: Number of probes sent.
  returned: always
  type: int
  sample: 16
elapsed_ms:
  description: Time the trace took in milliseconds.
  returned: always
  type: float
  sample: 41.7
capture:
  description: What the capture beside the probes saw, or null without O(capture); its keys are listed under O(capture).
  returned: always
  type: dict
  sample: {interface: eth0, packets: 3, evidence: [3 echo requests to 203.0.113.10 left eth0, no reply arrived]}
"""

import ipaddress
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netdevops.icmp.plugins.module_utils._adapter import ModuleRunner
from ansible_collections.netdevops.icmp.plugins.module_utils._capture import alongside
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import IcmpError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.multipath import run_multipath
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import TraceReport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.traceroute import (
    TraceRequest,
    run_trace,
    traverses,
)

ARGUMENT_SPEC = {
    "target": {"type": "str", "required": True},
    "family": {"type": "str", "choices": ["auto", "ipv4", "ipv6"], "default": "auto"},
    "method": {"type": "str", "choices": ["icmp", "udp", "tcp"], "default": "icmp"},
    "privileged": {"type": "str", "choices": ["auto", "raw", "unprivileged"], "default": "auto"},
    "first_ttl": {"type": "int", "default": 1},
    "max_hops": {"type": "int", "default": 30},
    "queries": {"type": "int", "default": 3},
    "timeout": {"type": "float", "default": 1.0},
    "max_silent_hops": {"type": "int", "default": 3},
    "port": {"type": "int"},
    "size": {"type": "int"},
    "source": {"type": "str"},
    "interface": {"type": "str"},
    "expect_reached": {"type": "bool"},
    "must_traverse": {"type": "list", "elements": "str"},
    "max_hops_expected": {"type": "int"},
    "capture": alongside.ARGUMENT_SPEC,
    "multipath": {"type": "bool", "default": False},
    "confidence": {"type": "float", "default": 0.95},
    "max_flows": {"type": "int", "default": 64},
}


def describe_path(result: t.Dict[str, t.Any]) -> str:
    return ", ".join("%d %s" % (hop["ttl"], hop["address"] or "*") for hop in result["hops"]) or "no hops"


def failed_expectations(module: AnsibleModule, report: TraceReport, result: t.Dict[str, t.Any]) -> t.List[str]:
    params = module.params
    problems = []
    if params["expect_reached"] is not None and report.reached != params["expect_reached"]:
        problems.append("%s was %sreached" % (report.destination, "" if report.reached else "not "))
    for wanted in params["must_traverse"] or []:
        if not traverses(report, wanted):
            problems.append("no hop in %s" % wanted)
    limit = params["max_hops_expected"]
    if limit is not None and (not report.reached or len(result["path"]) + params["first_ttl"] - 1 > limit):
        hops = len(result["path"]) + params["first_ttl"] - 1 if report.reached else None
        problems.append("reached after %s hops, expected at most %d" % (hops, limit))
    return problems


def trace_all_branches(module: AnsibleModule, request: TraceRequest) -> None:
    """Every ECMP branch (multipath=true); exits the module."""
    params = module.params
    if params["method"] == "tcp":
        module.fail_json(msg="method=tcp with multipath=true: multipath probes are UDP; use method udp")
    try:
        report = run_multipath(request, params["confidence"], params["max_flows"])
    except IcmpError as err:
        module.fail_json(msg=str(err), target=params["target"])
    result = dict(report.as_dict(), target=params["target"], changed=False)
    problems = []
    if params["expect_reached"] is not None and report.all_reached != params["expect_reached"]:
        problems.append("%s was %sreached by every flow (failing branches: %s)"
                        % (report.destination, "" if report.all_reached else "not ", ", ".join(report.failing) or "none"))
    seen = [address for hop in report.hops for address in hop.addresses]
    for wanted in params["must_traverse"] or []:
        network = ipaddress.ip_network(wanted, strict=False)
        if not any(ipaddress.ip_address(address) in network for address in seen):
            problems.append("no hop in %s" % wanted)
    if problems:
        module.fail_json(msg="multipath traceroute to %s: %s" % (params["target"], "; ".join(problems)), **result)
    module.exit_json(**result)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    for wanted in params["must_traverse"] or []:
        try:
            ipaddress.ip_network(wanted, strict=False)
        except ValueError:
            module.fail_json(msg="must_traverse entry %r is not an address or CIDR network" % (wanted,))
    if params["port"] is not None and not 0 < params["port"] < 65536:
        module.fail_json(msg="port=%r is not a port number: give 1-65535" % (params["port"],))
    request = TraceRequest(
        target=params["target"], family=params["family"], method=params["method"],
        privileged=params["privileged"], first_ttl=params["first_ttl"], max_hops=params["max_hops"],
        queries=params["queries"], timeout_s=params["timeout"], max_silent_hops=params["max_silent_hops"],
        port=params["port"], size=params["size"], source=params["source"], interface=params["interface"],
    )
    if params["multipath"]:
        trace_all_branches(module, request)
    try:
        with alongside.for_params(params, [params["target"]], ModuleRunner(module)) as capture:
            report = run_trace(request)
    except IcmpError as err:
        module.fail_json(msg=str(err), target=params["target"])
    result = dict(report.as_dict(), target=params["target"], changed=False, capture=capture.result())
    problems = failed_expectations(module, report, result)
    if problems:
        module.fail_json(
            msg="traceroute to %s: %s; path found: %s" % (params["target"], "; ".join(problems), describe_path(result)),
            **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
