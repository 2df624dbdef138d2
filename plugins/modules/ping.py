#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ping
short_description: Send ICMP echo requests from the managed host to many targets at once
version_added: 1.0.0
description:
  - Pings every target in O(targets) from the managed host with real ICMP echo requests
    (unlike M(ansible.builtin.ping), which sends no ICMP), over IPv4 and IPv6, and returns
    loss, round-trip times, duplicates, reply TTL and the ICMP errors received, per target.
  - One socket per address family and one event loop serve any number of targets (tens of
    thousands), paced by O(rate) overall and O(interval) per target. Replies are matched on
    identifier, sequence, a random per-run token in the payload and the reply's source address,
    so concurrent runs on the same host never take each other's replies.
  - ICMP errors (host unreachable, TTL exceeded, fragmentation needed...) are attributed to the
    probe that caused them through the datagram they quote and are returned as data.
  - Fails the task when a target breaks the expectation (O(expect), O(max_loss_pct),
    O(max_rtt_ms)), naming each failing target and its numbers. Bad options fail before any
    packet is sent.
  - Uses only the Python standard library on the managed host (Python 3.8 or later, Linux).
author:
  - netdevops.icmp contributors (@netdevops)
extends_documentation_fragment:
  - netdevops.icmp.probe
  - netdevops.icmp.capture_probe
attributes:
  check_mode:
    support: full
    description: Probes change nothing, so check mode sends them and returns real results.
  diff_mode:
    support: none
    description: Probing changes nothing on the host, so there is no diff.
  platform:
    support: full
    platforms: [posix]
    description: Linux managed hosts (raw or unprivileged ICMP sockets of the Linux kernel).
  action_group:
    support: full
    membership: [netdevops.icmp.probes]
    description: Use C(group/netdevops.icmp.probes) in C(module_defaults) to set the options ping, traceroute and pmtud share.
options:
  targets:
    description:
      - Host names or IP addresses to ping, each a string. Each name is resolved once, before any
        probe is sent; a name that does not resolve is reported in that target's
        RV(results[].error) (RV(results[].status) V(error)) while the other targets still run.
      - Addresses are taken only in their standard forms, dotted quad for IPv4 and RFC 4291 text
        for IPv6 (with an optional V(%zone), the interface of a link-local address). Shorthands
        such as V(127.1), V(1.2.3) or V(0x7f000001), out-of-range values such as V(999.1.1.1),
        malformed names and elements that are not strings (null, numbers, lists) fail the task
        before anything is sent or looked up.
    type: list
    elements: raw
    required: true
    aliases: [target]
  count:
    description:
      - Echo requests per target, 1 to 100000; targets times count may not exceed 10,000,000.
    type: int
    default: 3
  interval:
    description: Seconds between two probes to the same target, 0 to 3600.
    type: float
    default: 0.2
  rate:
    description:
      - Most packets per second over all targets together, up to 1000000. V(0) sends as fast as
        the host can (use it only in labs). The default is polite for production paths.
    type: float
    default: 1000
  deadline:
    description:
      - Seconds the whole run may take (more than 0, at most 86400). Probes not yet sent are not
        sent, also in an unpaced burst (O(rate=0)); probes in flight count as lost. Default is
        no deadline (each probe still has its O(timeout)).
    type: float
  pattern:
    description:
      - Hexadecimal bytes that fill the payload after the run token, repeated (as C(ping -p)),
        for example V(ff00) to look for data-dependent corruption. Default is zeros.
    type: str
  expect:
    description:
      - V(reachable) fails the task for every target that sent no reply at all (and checks
        O(max_loss_pct) and O(max_rtt_ms)).
      - V(unreachable) fails the task for every target that answered, for example to prove
        that a firewall blocks echo.
    type: str
    choices: [reachable, unreachable]
    default: reachable
  max_loss_pct:
    description:
      - Fail when a reachable target loses more than this percentage of its probes (0 to 100).
    type: float
  max_rtt_ms:
    description:
      - Fail when a target's average round-trip time exceeds this many milliseconds (0 to 3600000).
    type: float
notes:
  - Raw sockets need root or C(CAP_NET_RAW). Without them, allow unprivileged ICMP sockets with
    C(sysctl -w net.ipv4.ping_group_range="0 2147483647") (per network namespace).
  - Routers send host unreachable only after their own ARP/ND attempt times out (about 3 s), so a
    short O(timeout) reports such a target as plain loss.
seealso:
  - module: netdevops.icmp.traceroute
  - module: netdevops.icmp.pmtud
"""

EXAMPLES = r"""
- name: Every gateway answers, with under 1 % loss and 20 ms on average
  netdevops.icmp.ping:
    targets: "{{ gateways }}"
    count: 10
    max_loss_pct: 1
    max_rtt_ms: 20

- name: Sweep a /24 in a lab, unpaced, one probe each
  netdevops.icmp.ping:
    targets: "{{ query('ansible.builtin.sequence', 'start=1 end=254 format=198.51.100.%d') }}"
    count: 1
    rate: 0
    timeout: 0.5
  register: sweep

- name: Show who answered
  ansible.builtin.debug:
    msg: "{{ sweep.results | selectattr('reachable') | map(attribute='address') | list }}"

- name: Echo is blocked towards the management network (firewall policy check)
  netdevops.icmp.ping:
    targets: [192.0.2.10, 2001:db8::10]
    count: 2
    expect: unreachable

- name: Large DF probes with a DSCP marking from a VRF, without root
  netdevops.icmp.ping:
    targets: [203.0.113.2]
    size: 1372
    df: do
    tos: 184
    interface: vrf-blue
    privileged: unprivileged
"""

RETURN = r"""
results:
  description: One entry per target, in the order of O(targets). Every key is always present.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as given.
      type: str
      sample: gw1.example.net
    address:
      description: The address probed (null when the name did not resolve).
      type: str
      sample: 198.51.100.1
    family:
      description: V(ipv4) or V(ipv6) (null when the name did not resolve).
      type: str
      sample: ipv4
    status:
      description:
        - V(reachable) (at least one reply), V(unreachable) (probed, no reply) or V(error) (not
          probed, see RV(results[].error); for example a name that does not resolve). An error is
          never counted as an outage.
      type: str
      choices: [reachable, unreachable, error]
      sample: reachable
    sent:
      description: Echo requests sent.
      type: int
      sample: 3
    received:
      description: Echo requests answered in time (duplicates and late replies not included).
      type: int
      sample: 3
    loss_pct:
      description: Percentage of the sent probes that got no reply in time (100 when none was sent).
      type: float
      sample: 0.0
    rtt_ms:
      description: Round-trip times of the replies in milliseconds; null when nothing came back.
      type: dict
      sample: {min: 0.041, avg: 0.052, max: 0.071, mdev: 0.013}
      contains:
        min:
          description: Shortest round trip.
          type: float
        avg:
          description: Mean round trip.
          type: float
        max:
          description: Longest round trip.
          type: float
        mdev:
          description: Standard deviation, as C(ping) prints it (mdev).
          type: float
    duplicates:
      description: Extra replies to probes that were already answered.
      type: int
      sample: 0
    late:
      description: Replies that arrived after their probe's O(timeout), while the run was still
        listening for other probes; they are not part of RV(results[].received) or the statistics.
      type: int
      sample: 0
    reply_ttl:
      description: TTL (IPv4) or hop limit (IPv6) of the last reply; null when nothing came back.
      type: int
      sample: 64
    reachable:
      description: Whether at least one reply came back.
      type: bool
      sample: true
    reply_address:
      description:
        - Source address of the last counted reply; null when nothing came back. It differs from
          RV(results[].address) when the target answers from another address (a multi-homed
          host, a virtual IP, NAT). Such replies count, because the run token in the payload
          proves that they answer our probes.
      type: str
      sample: 198.51.100.1
    errors:
      description: ICMP errors received about this target's probes (and local send errors, whose
        type and code are null and whose name starts with C(local_)), one entry per kind.
      type: list
      elements: dict
      sample: [{type: 3, code: 1, name: host_unreachable, address: 198.51.100.1, count: 3}]
      contains:
        type:
          description: ICMP type.
          type: int
        code:
          description: ICMP code.
          type: int
        name:
          description: Name of the type and code, such as V(host_unreachable), V(ttl_exceeded),
            V(frag_needed), V(packet_too_big).
          type: str
        address:
          description: Address of the node that sent the error.
          type: str
        count:
          description: How many such errors arrived.
          type: int
    error:
      description: Why the target was not probed (it did not resolve, wrong family); otherwise null.
      type: str
      sample: null
summary:
  description: Counts over all targets.
  returned: always
  type: dict
  sample: {targets: 3, reachable: 2, unreachable: 1, errors: 0, elapsed_ms: 1003.1}
  contains:
    targets:
      description: Number of targets (V(reachable) + V(unreachable) + V(errors)).
      type: int
    reachable:
      description: Targets that answered at least once.
      type: int
    unreachable:
      description: Targets that were probed and never answered.
      type: int
    errors:
      description: Targets that were not probed (RV(results[].status) V(error)).
      type: int
    elapsed_ms:
      description: Wall time of the run in milliseconds (resolution included).
      type: float
mode:
  description: Socket kind used per family (V(raw) or V(unprivileged)).
  returned: always
  type: dict
  sample: {ipv4: unprivileged, ipv6: unprivileged}
capture:
  description: What the capture beside the probes saw, or null without O(capture); its keys are listed under O(capture).
  returned: always
  type: dict
  sample: {interface: eth0, packets: 3, evidence: [3 echo requests to 203.0.113.10 left eth0, no reply arrived]}
"""

import json
import sys
import typing as t

from ansible.module_utils.basic import AnsibleModule
# The *_messages names: get_warnings / get_deprecations exist only from ansible-core 2.19 on.
from ansible.module_utils.common.warnings import get_deprecation_messages, get_warning_messages

from ansible_collections.netdevops.icmp.plugins.module_utils._adapter import ModuleRunner, fail_on_error
from ansible_collections.netdevops.icmp.plugins.module_utils._capture import alongside
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import IcmpError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import PingOptions, ProbeOptions
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.ping import evaluate, ping, validate_expectations

ARGUMENT_SPEC = dict(
    targets=dict(type="list", elements="raw", required=True, aliases=["target"]),
    count=dict(type="int", default=3),
    interval=dict(type="float", default=0.2),
    rate=dict(type="float", default=1000),
    deadline=dict(type="float"),
    pattern=dict(type="str"),
    expect=dict(type="str", choices=["reachable", "unreachable"], default="reachable"),
    max_loss_pct=dict(type="float"),
    max_rtt_ms=dict(type="float"),
    family=dict(type="str", choices=["auto", "ipv4", "ipv6"], default="auto"),
    privileged=dict(type="str", choices=["auto", "raw", "unprivileged"], default="auto"),
    source=dict(type="str"),
    interface=dict(type="str"),
    timeout=dict(type="float", default=1.0),
    size=dict(type="int", default=56),
    ttl=dict(type="int"),
    df=dict(type="str", choices=["do", "want", "dont", "probe"]),
    tos=dict(type="int"),
    capture=alongside.ARGUMENT_SPEC,
)


def build_options(module: AnsibleModule) -> PingOptions:
    params = module.params
    pattern = params["pattern"] or ""
    try:
        pattern_bytes = bytes.fromhex(pattern)
    except ValueError:
        module.fail_json(msg="invalid pattern %r: give hexadecimal bytes such as ff00; nothing was sent" % pattern)
    probe = ProbeOptions(
        family=params["family"], privileged=params["privileged"], source=params["source"],
        interface=params["interface"], timeout_s=params["timeout"], size=params["size"],
        ttl=params["ttl"], df=params["df"], tos=params["tos"],
    )
    return PingOptions(
        count=params["count"], interval_s=params["interval"], rate=params["rate"],
        deadline_s=params["deadline"], pattern=pattern_bytes, probe=probe,
    )


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if not params["targets"]:
        module.fail_json(msg="targets is empty: give at least one host name or address; nothing was sent")
    options = build_options(module)
    try:
        validate_expectations(params["max_loss_pct"], params["max_rtt_ms"])
        with alongside.for_params(params, params["targets"], ModuleRunner(module)) as capture:
            report = ping(params["targets"], options)
    except IcmpError as err:
        fail_on_error(module, err)
        return
    result = dict(
        changed=False,
        results=report.results,
        summary=report.summary,
        mode=report.mode,
        capture=capture.result(),
    )
    failures = evaluate(report.results, params["expect"], params["max_loss_pct"], params["max_rtt_ms"])
    message = None
    if failures:
        message = "%d of %d targets failed: %s" % (len(failures), len(report.results), "; ".join(failures))
    finish(module, result, message)


def finish(module: AnsibleModule, result: t.Dict[str, t.Any], failure: t.Optional[str] = None) -> None:
    """``exit_json`` / ``fail_json`` for a result made only of plain JSON values.

    ``AnsibleModule`` walks every value of a result to scrub ``no_log`` secrets and then
    encodes it with a Python-level JSON encoder: 15 values per target, about 1.5 s of a
    10,000-target sweep whose probes take 0.2 s. This module has no ``no_log`` option, so
    when no secret was registered and no warning is pending, the walk would copy every value
    unchanged; the C encoder then writes the same JSON (with the same ``invocation``). Any
    other case takes the general path.
    """
    if not module.no_log_values and not get_warning_messages() and not get_deprecation_messages():
        rest = dict(result)
        # ansible-core 2.21 adds invocation only when the controller asks (_inject_invocation).
        if getattr(module, "_inject_invocation", True):
            rest["invocation"] = {"module_args": module.params}
        results = rest.pop("results")
        if failure is not None:
            rest.update(failed=True, msg=failure)
        try:
            rest_text = json.dumps(rest, allow_nan=False)
        except (TypeError, ValueError):
            pass  # a value the C encoder does not know: let AnsibleModule handle it
        else:
            module.do_cleanup_files()
            _write_results(results, rest_text)
            # What exit_json / fail_json end with, once the JSON result is written.
            raise SystemExit(1 if failure is not None else 0)
    if failure is not None:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


def _write_results(results: t.List[t.Dict[str, t.Any]], rest_text: str) -> None:
    """Write ``{"results": [...], <rest>}``, encoding the results in slices and dropping each
    slice's dicts once encoded: peak memory holds the results or their text, not both."""
    step = 2048
    chunks = []
    for start in range(0, len(results), step):
        chunks.append(json.dumps(results[start:start + step], allow_nan=False)[1:-1])
        results[start:start + step] = [None] * len(results[start:start + step])
    write = sys.stdout.write
    write('\n{"results": [')
    for index, chunk in enumerate(chunks):
        if index:
            write(", ")
        write(chunk)
    write("], ")
    write(rest_text[1:])
    write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
