#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stats
short_description: Read the kernel's ICMP and ICMPv6 counters and ICMP sysctls
version_added: 1.0.0
description:
  - Returns the ICMP counters of the managed host's network namespace from C(/proc/net/snmp)
    (C(Icmp:) and C(IcmpMsg:) lines) and C(/proc/net/snmp6) (C(Icmp6*)), that is messages and errors
    in and out, counts per ICMP type with names, and how many errors the kernel suppressed by
    rate limiting (C(OutRateLimitGlobal), C(OutRateLimitHost)) where the kernel has them.
  - Returns the ICMP-related sysctls (echo ignore, rate limits, redirects, router
    advertisements, PMTU discovery, C(ping_group_range)). Per-interface settings are read for
    C(all) and C(default).
  - With O(interval), reads the counters twice and returns the change and the rate per second
    over the measured interval.
  - A missing file or key (older kernels, containers, IPv6 disabled) becomes V(null); it never
    fails the task.
  - With O(policy_hits), also returns the hit counters of every rule M(netdevops.icmp.policy) wrote
    (RV(policy_hits)), and with O(interval) their change over the same interval.
  - With O(drop_log), listens to the policy's nflog group for a while and returns the packets its
    rules with a C(log_prefix) dropped, summarized per rule, ICMP type/code and source (RV(drop_log)).
author:
  - netdevops.icmp contributors (@netdevops)
options:
  interval:
    description:
      - Seconds between two readings of the counters. When set, RV(delta) and RV(rate_per_s)
        are returned. V(0) or unset reads once.
    type: float
    required: false
  policy_hits:
    description:
      - Also read the per-rule hit counters of the ICMP policy that M(netdevops.icmp.policy) wrote
        (nftables C(counter) clauses, iptables rule counters from C(iptables-save -c)); see RV(policy_hits).
      - Unset reads none. Needs root (listing nftables or iptables needs CAP_NET_ADMIN).
    type: dict
    required: false
    suboptions:
      backend:
        description: Which firewall holds the policy; V(auto) picks nftables when C(nft) exists, as the policy module does.
        type: str
        choices: [auto, nftables, iptables]
        default: auto
      table:
        description: The policy's nftables table (O(netdevops.icmp.policy#module:table)).
        type: str
        default: netdevops_icmp
      chain_prefix:
        description: The policy's iptables chain prefix (O(netdevops.icmp.policy#module:chain_prefix)).
        type: str
        default: NETDEVOPS-ICMP
  drop_log:
    description:
      - Read back the drops that the policy's rules with a C(log_prefix) logged, for O(drop_log.duration)
        seconds, from the nflog group O(netdevops.icmp.policy#module:log_group) (read over netlink, so it
        works inside any network namespace and needs no host-wide setting); see RV(drop_log).
      - The policy is read first (to tell which rule logged a packet), then the group for the whole window,
        then the counters (so with O(interval) the task takes O(drop_log.duration) + O(interval)).
      - Needs CAP_NET_ADMIN (root). Only one program can read a group at a time; a group another program
        reads (ulogd, a second run) is an error that names it.
    type: dict
    required: false
    suboptions:
      duration:
        description: Seconds to listen (more than 0, at most 3600). Packets dropped before or after are not seen.
        type: float
        required: true
      max_packets:
        description: Stop early after this many logged packets (1 to 1000000); C(truncated) in RV(drop_log) says so.
        type: int
        default: 10000
      log_group:
        description: The nflog group the policy logs to (O(netdevops.icmp.policy#module:log_group)).
        type: int
        default: 58
      backend:
        description: Which firewall holds the policy; V(auto) picks nftables when C(nft) exists.
        type: str
        choices: [auto, nftables, iptables]
        default: auto
      table:
        description: The policy's nftables table.
        type: str
        default: netdevops_icmp
      chain_prefix:
        description: The policy's iptables chain prefix.
        type: str
        default: NETDEVOPS-ICMP
attributes:
  check_mode:
    support: full
    description: The module only reads files; check mode reads them too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux only (C(/proc/net/snmp), C(/proc/sys)). Other systems return nulls.
notes:
  - The counters are per network namespace; run the task inside the namespace (for example
    with the C(netdevops.icmp.netns) connection) to see a lab node's counters.
  - C(out_rate_limit_host) counts ICMP errors the kernel did not send because of
    C(net.ipv4.icmp_ratelimit) / C(net.ipv6.icmp.ratelimit); when it grows on a router,
    traceroute and PMTUD through that router see false loss.
seealso:
  - module: netdevops.icmp.ping
  - module: netdevops.icmp.traceroute
  - module: netdevops.icmp.pmtud
"""

EXAMPLES = r"""
- name: Read ICMP counters and sysctls
  netdevops.icmp.stats:
  register: icmp

- name: Fail when ICMP errors were rate-limited
  ansible.builtin.assert:
    that: (icmp.counters.ipv4.out_rate_limit_host or 0) == 0

- name: Measure ICMP rates over 5 seconds
  netdevops.icmp.stats:
    interval: 5
  register: icmp_rate

- name: Which policy rules dropped packets in the last 10 seconds
  netdevops.icmp.stats:
    interval: 10
    policy_hits: {}
  register: icmp_hits

- name: Show the rules that dropped something
  ansible.builtin.debug:
    msg: "{{ icmp_hits.policy_hits.delta | selectattr('dropped_packets') | map(attribute='rule') | list }}"

- name: Which rules dropped what, from whom, over 30 seconds (rules with a log_prefix)
  netdevops.icmp.stats:
    drop_log:
      duration: 30
  become: true
  register: icmp_drops

- name: Show the sources of dropped echo requests
  ansible.builtin.debug:
    msg: "{{ icmp_drops.drop_log.drops | selectattr('type_name', 'eq', 'echo-request') | map(attribute='source') | list }}"

- name: Show echo requests received per second
  ansible.builtin.debug:
    msg: "{{ icmp_rate.rate_per_s.ipv4.in_by_type['echo-request'] | default(0) }}"
"""

RETURN = r"""
counters:
  description:
    - ICMP counters per family (at the second reading when O(interval) is set).
    - Each family holds C(available) (the file was readable), the summary counters C(in_msgs),
      C(in_errors), C(in_csum_errors), C(out_msgs), C(out_errors), C(out_rate_limit_global)
      (IPv4 only; null for IPv6), C(out_rate_limit_host), C(counters) (every kernel counter,
      snake_case, for example C(in_dest_unreachs)), and C(in_by_type) / C(out_by_type)
      (counts keyed by ICMP type name such as C(echo-request), C(time-exceeded),
      C(packet-too-big); unknown types as C(type-N)).
  returned: always
  type: dict
  sample:
    ipv4:
      available: true
      in_msgs: 12
      in_errors: 0
      in_csum_errors: 0
      out_msgs: 9
      out_errors: 0
      out_rate_limit_global: 0
      out_rate_limit_host: 4
      counters: {in_msgs: 12, out_time_excds: 8}
      in_by_type: {echo-request: 12}
      out_by_type: {destination-unreachable: 1, time-exceeded: 8}
    ipv6:
      available: true
      in_msgs: 7
      in_errors: 0
      in_csum_errors: 0
      out_msgs: 25
      out_errors: 0
      out_rate_limit_global: null
      out_rate_limit_host: 4
      counters: {in_msgs: 7}
      in_by_type: {neighbor-solicitation: 3}
      out_by_type: {time-exceeded: 6}
sysctls:
  description:
    - ICMP-related sysctls; null when unreadable. Multi-value keys (C(ping_group_range)) are
      lists of integers; values that are not numbers (C(net.ipv6.icmp.ratemask) such as
      C(0-1,3-127)) are strings.
    - C(ipv4) holds C(icmp_echo_ignore_all), C(icmp_echo_ignore_broadcasts), C(icmp_ratelimit),
      C(icmp_ratemask), C(icmp_msgs_per_sec), C(icmp_msgs_burst),
      C(icmp_ignore_bogus_error_responses), C(ip_no_pmtu_disc), C(tcp_mtu_probing),
      C(ping_group_range), C(accept_redirects) and C(send_redirects) (each C({all, default})).
    - C(ipv6) holds C(ratelimit), C(ratemask), C(echo_ignore_all), C(accept_ra) and
      C(accept_redirects) (each C({all, default})).
  returned: always
  type: dict
  sample:
    ipv4:
      icmp_ratelimit: 1000
      icmp_ratemask: 6168
      ping_group_range: [1, 0]
      accept_redirects: {all: 1, default: 1}
    ipv6:
      ratelimit: 100
      ratemask: "0-1,3-127"
      accept_ra: {all: 1, default: 1}
delta:
  description:
    - Change of every counter between the two readings, same shape as RV(counters) without
      C(available); null when O(interval) is not set. A counter missing in either reading is
      null.
  returned: always
  type: dict
  sample:
    ipv4: {in_msgs: 10, out_rate_limit_host: 0, counters: {}, in_by_type: {echo-request: 10}, out_by_type: {}}
rate_per_s:
  description: RV(delta) divided by RV(interval_s), per second; null without O(interval).
  returned: always
  type: dict
  sample:
    ipv4: {in_msgs: 2.0}
interval_s:
  description: The measured interval between the two readings in seconds; null without O(interval).
  returned: always
  type: float
  sample: 5.001
policy_hits:
  description:
    - With O(policy_hits), the policy's rules and their hit counters; null otherwise.
    - C(backend) is the backend read. C(hits) is one entry per rule at the last reading, as
      RV(netdevops.icmp.policy#module:hits) of O(netdevops.icmp.policy#module:state=gathered) (rule fields, C(rule),
      C(packets), C(bytes), C(dropped_packets), C(dropped_bytes)).
    - With O(interval), C(delta) has the same entries with the change of each count over C(interval_s)
      and C(packets_per_s) (and so on) per second. A change is null for a rule that did not exist at the
      first reading or whose counters went down (the policy was rewritten in between, which resets them).
  returned: always
  type: dict
  sample:
    backend: nftables
    interval_s: 10.002
    hits: [{"rule": "ipv4 input type echo-request drop", "packets": 30, "bytes": 2520, "dropped_packets": 30,
            "dropped_bytes": 2520}]
    delta: [{"rule": "ipv4 input type echo-request drop", "packets": 10, "packets_per_s": 1.0,
             "dropped_packets": 10, "dropped_packets_per_s": 1.0}]
drop_log:
  description:
    - With O(drop_log), what the policy's logged drops were over the window; null otherwise.
    - C(log_group), C(duration_s) (the measured window), C(packets) (logged packets read), C(overruns)
      (times the kernel had to discard logged packets because the socket buffer was full; when not 0,
      C(packets) is a lower bound), C(truncated) (stopped at O(drop_log.max_packets) before the window ended),
      C(backend).
    - C(drops) has one entry per rule, ICMP type/code, source, destination and interface, busiest first. C(rule)
      (the rule's one-line text as in RV(netdevops.icmp.policy#module:hits), null when no rule of the policy
      explains the packet, for example another program logging to the same group), C(prefix), C(family),
      C(direction), C(type) (number), C(type_name), C(code), C(source), C(destination), C(interface) (in, else
      out), C(packets), C(first_seen) and C(last_seen) (kernel timestamps in seconds since the epoch; null when
      the packet had none).
  returned: always
  type: dict
  sample:
    log_group: 58
    duration_s: 10.001
    packets: 10
    overruns: 0
    truncated: false
    backend: nftables
    drops:
      - {rule: "ipv4 input type echo-request log 'echo-drop ' drop", prefix: "echo-drop ", family: ipv4,
         direction: input, type: 8, type_name: echo-request, code: 0, source: 192.0.2.1, destination: 192.0.2.2,
         interface: eth0, packets: 10, first_seen: 1795977527.52, last_seen: 1795977529.33}
"""


import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netdevops.icmp.plugins.module_utils._adapter import ModuleRunner
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import SystemClock
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.stats import (
    FileProcReader,
    collect,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, droplog, hits, names, nflog
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError

HITS_SPEC = {
    "backend": {"type": "str", "choices": ["auto", "nftables", "iptables"], "default": "auto"},
    "table": {"type": "str", "default": "netdevops_icmp"},
    "chain_prefix": {"type": "str", "default": "NETDEVOPS-ICMP"},
}
DROP_LOG_SPEC = dict(HITS_SPEC, duration={"type": "float", "required": True},
                     max_packets={"type": "int", "default": 10000}, log_group={"type": "int", "default": 58})


def read_policy_hits(module: AnsibleModule, options: t.Mapping[str, t.Any]) -> t.Callable[[bool], t.Dict[str, t.Any]]:
    """Read the hit counters now; the returned function reads them again (``True``: with deltas)."""
    runner = ModuleRunner(module)
    try:
        names.check_table(options["table"])
        names.check_chain_prefix(options["chain_prefix"])
        backend = backends.make_backend(options["backend"], runner, options["table"], options["chain_prefix"],
                                        runner.which)
        first, start = backends.read_hit_rows(backend), time.monotonic()
    except (PolicyError, CommandError) as err:
        module.fail_json(msg="policy_hits: %s" % err)

    def again(with_delta: bool) -> t.Dict[str, t.Any]:
        if not with_delta:
            return {"backend": backend.name, "hits": first, "delta": None, "interval_s": None}
        try:
            last = backends.read_hit_rows(backend)
        except (PolicyError, CommandError) as err:
            module.fail_json(msg="policy_hits: %s" % err)
        elapsed = time.monotonic() - start
        return {"backend": backend.name, "hits": last, "delta": hits.deltas(first, last, elapsed),
                "interval_s": round(elapsed, 3)}

    return again


def read_drop_log(module: AnsibleModule, options: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Read the policy, then its nflog group for the window; the summary per rule."""
    runner = ModuleRunner(module)
    try:
        names.check_table(options["table"])
        names.check_chain_prefix(options["chain_prefix"])
        names.check_log_group(options["log_group"])
        droplog.check_window(options["duration"], options["max_packets"])
        backend = backends.make_backend(options["backend"], runner, options["table"], options["chain_prefix"],
                                        runner.which, options["log_group"])
        live = backend.read()
        result = droplog.gather(live.policy, options["log_group"], options["duration"], options["max_packets"])
    except (PolicyError, CommandError, nflog.NflogError) as err:
        module.fail_json(msg="drop_log: %s" % err)
    result["backend"] = backend.name
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={"interval": {"type": "float", "required": False},
                       "policy_hits": {"type": "dict", "required": False, "options": HITS_SPEC},
                       "drop_log": {"type": "dict", "required": False, "options": DROP_LOG_SPEC}},
        supports_check_mode=True,
    )
    interval = module.params["interval"]
    if interval is not None and not 0 <= interval <= 3600:
        module.fail_json(
            msg="interval=%r is out of range: give seconds between 0 and 3600, or leave it unset"
            % (interval,)
        )
    policy_hits = None
    if module.params["policy_hits"] is not None:
        policy_hits = read_policy_hits(module, module.params["policy_hits"])
    drop_log = read_drop_log(module, module.params["drop_log"]) if module.params["drop_log"] is not None else None
    result = collect(FileProcReader(), SystemClock(), interval or None)
    counters = {family: result[family] for family in ("ipv4", "ipv6")}
    module.exit_json(
        changed=False,
        counters=counters,
        sysctls=result["sysctls"],
        delta=result["delta"],
        rate_per_s=result["rate_per_s"],
        interval_s=result["interval_s"],
        policy_hits=policy_hits(bool(interval)) if policy_hits is not None else None,
        drop_log=drop_log,
    )


if __name__ == "__main__":
    main()
