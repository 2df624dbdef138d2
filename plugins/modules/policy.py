#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: policy
short_description: Declarative ICMP firewall policy on nftables or iptables, with commit-confirm
version_added: 1.0.0
description:
  - Manages an ICMP and ICMPv6 firewall policy in a table (nftables) or chains (iptables and
    ip6tables) that belong to this module only. Tables, chains and rules that are not ours are
    never flushed or reordered.
  - nftables is applied as one atomic C(nft -f) transaction (validated first with C(nft -c -f))
    and read back with C(nft -j). iptables is applied with C(iptables-restore --noflush) and
    C(ip6tables-restore --noflush) (validated with C(--test)) and read back from C(iptables-save).
  - States work like network resource modules. V(merged), V(replaced), V(overridden) and
    V(deleted) change the host; V(gathered) returns the live policy; V(rendered) and V(parsed)
    never touch the host.
  - A policy that drops IPv4 fragmentation-needed (type 3 code 4), ICMPv6 packet-too-big (type 2)
    or IPv6 neighbour discovery (types 133-137) is refused unless O(allow_unsafe=true), because these
    drops black-hole Path MTU Discovery or take IPv6 down.
  - Every change first stores a snapshot of our table/chains and of the ICMP sysctls in a numbered
    history under O(state_dir). With O(confirm_timeout) the action plugin runs the module in the
    background, reconnects over a fresh connection and confirms; without that confirmation the
    host restores the snapshot by itself, also when the controller is gone.
  - Warns when another table or chain drops ICMP that the policy accepts.
author:
  - netdevops.icmp contributors (@netdevops)
options:
  state:
    description:
      - V(merged) adds the given rules and replaces rules with the same family, direction, type and
        code. V(replaced) replaces every chain (family and direction) the given rules touch.
        V(overridden) makes the rules exactly the given ones. V(deleted) removes the given rules, or
        everything this module owns when no rules are given (sysctls are left as they are).
      - Sysctls are kernel settings that always have a value, with no "not managed" state to return to
        (the kernel defaults differ between kernels and namespaces). So every state, V(overridden)
        included, sets the sysctls given and leaves the others at their current values, also values an
        earlier policy set. To undo sysctls, name them with the wanted values or use O(rollback).
      - V(gathered) returns the live policy in RV(gathered). V(rendered) returns the commands for
        O(config) in RV(rendered), V(parsed) reads O(running_config) into RV(parsed); neither
        touches the host.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  config:
    description: The wanted policy.
    type: dict
    suboptions:
      profile:
        description:
          - A named starting point that O(config.rules) extend (a rule with the same family,
            direction, type and code replaces the profile's).
          - V(rfc4890-host) accepts what RFC 792/1191 and RFC 4890 4.4.1 say a host needs and drops
            other ICMP on input; V(rfc4890-router) adds the RFC 4890 4.3.1 transit set on forward;
            V(strict-host) is the host profile with echo rate-limited to 5/second, timestamp,
            redirect and source quench dropped, and redirect/broadcast-echo sysctls hardened.
        type: str
        choices: [rfc4890-host, rfc4890-router, strict-host]
      rules:
        description: Rules. Their order does not matter; the most specific rule decides.
        type: list
        elements: dict
        default: []
        suboptions:
          family:
            description: Address family.
            type: str
            choices: [ipv4, ipv6]
            required: true
          direction:
            description: Which hook the rule is in.
            type: str
            choices: [input, forward, output]
            default: input
          type:
            description:
              - ICMP type name (as nftables names it, for example V(echo-request),
                V(destination-unreachable), V(packet-too-big), V(nd-neighbor-solicit)), a number
                0-255, or V(any) for every type of the family.
            type: raw
            required: true
          code:
            description: ICMP code (a number, or V(frag-needed) style names for destination-unreachable).
            type: raw
          action:
            description: What to do with matching packets. Required except for O(state=deleted).
            type: str
            choices: [accept, drop]
          rate:
            description: Accept at most this rate (V(10/second), V(30/minute), V(100/hour)); the rest is dropped.
            type: str
          burst:
            description: Packets allowed above O(config.rules[].rate) in a burst (default 5).
            type: int
          log_prefix:
            description: Log dropped packets with this prefix (up to 29 characters).
            type: str
          source:
            description:
              - Match only packets from these prefixes (one prefix or a list), of the rule's
                O(config.rules[].family), for example V(192.0.2.0/24), V(2001:db8::/32); an address
                without a length is a single host. Left out, the rule matches every source.
              - A prefix with host bits set (V(192.0.2.5/24)) is refused; overlapping and adjacent
                prefixes are merged. At most 32 prefixes.
              - A rule with prefixes decides only for those addresses; rules with prefixes go before
                rules without for the same type, longer prefixes first. An accept of packet-too-big or
                neighbour discovery from some prefixes does not satisfy the safety check, and a drop
                from some prefixes is reported as dropping from them.
              - nftables matches a list with one anonymous set; iptables writes one rule per source and
                destination pair. A rate limit allows one source and one destination prefix at most.
              - V(cisco_ios) and V(aws_network_acl) take one source and one destination prefix per rule (an
                entry has one address each). AWS has only the remote side, O(config.rules[].source) on input
                (ingress) and O(config.rules[].destination) on output (egress); a security group takes a list
                but cannot drop from some prefixes what it allows.
            type: list
            elements: str
            version_added: 1.1.0
          destination:
            description:
              - Match only packets to these prefixes, as O(config.rules[].source) for the destination
                address. Left out, the rule matches every destination.
            type: list
            elements: str
            version_added: 1.1.0
      sysctls:
        description:
          - ICMP sysctls to set, for example C(icmp_ratelimit), C(icmp_echo_ignore_broadcasts),
            C(accept_redirects) (IPv4 all and default), C(ipv6_accept_redirects),
            C(ipv6_icmp_ratelimit).
        type: dict
  backend:
    description:
      - V(auto) uses nftables when C(nft) is installed, else iptables.
      - V(cisco_ios) (IOS and IOS-XE access lists), V(aws_security_group) and V(aws_network_acl) work
        with O(state=rendered) and O(state=parsed) only; nothing connects to a device or to AWS. Push
        RV(rendered_data) with the vendor's own module (C(cisco.ios.ios_acls), C(amazon.aws.ec2_security_group),
        C(amazon.aws.ec2_vpc_nacl)) and read the running form back with it for drift checks. What each
        target can express is in the guide "One policy, three enforcement points" (docs/policy_targets.md).
      - IOS list names come from O(chain_prefix) (C(<prefix>-IN), C(-FWD), C(-OUT), and C(<prefix>-V6-IN) ...
        for IPv6).
    type: str
    choices: [auto, nftables, iptables, cisco_ios, aws_security_group, aws_network_acl]
    default: auto
  table:
    description: Name of our nftables table (family C(inet)).
    type: str
    default: netdevops_icmp
  chain_prefix:
    description: Prefix of our iptables chains (C(<prefix>-IN), C(-FWD), C(-OUT)).
    type: str
    default: NETDEVOPS-ICMP
  log_group:
    description:
      - The nflog group (1-65535) that rules with a C(log_prefix) log their drops to (nftables
        C(log prefix "P" group N), iptables C(-j NFLOG --nflog-group N)).
      - M(netdevops.icmp.stats) with O(netdevops.icmp.stats#module:drop_log) reads this group back and
        summarizes the drops per rule. An nflog group works in every network namespace; the kernel log does
        not (see the guide's section "Drop logs").
      - A table or chains written by an older version (plain C(log)/C(LOG) to the kernel log), or for another
        group, read back without error as the same rules and are rewritten once by the next changing apply.
    type: int
    default: 58
  allow_unsafe:
    description: Allow a policy that drops frag-needed, packet-too-big or neighbour discovery.
    type: bool
    default: false
  force:
    description:
      - The module owns only what it created. A table named O(table) (nftables) or chains named after
        O(chain_prefix) (iptables) that hold anything it did not write (sets, maps, custom chains,
        chains at other hooks or with another priority or policy, rules it does not write) are refused
        for every changing state and for O(rollback), and nothing is changed.
      - V(true) replaces them anyway. This DESTROYS everything in that nftables table (all its sets,
        maps, chains and rules), or every rule in those iptables chains and the jumps to them, not only
        ICMP rules. The snapshot taken first keeps their raw text, so O(rollback) brings them back
        byte for byte.
      - The usual way out is another O(table) or O(chain_prefix) for this policy.
    type: bool
    default: false
  confirm_timeout:
    description:
      - Seconds the host waits for the controller's confirmation after applying before it restores
        the snapshot. V(0) applies without commit-confirm.
      - The window the host gives is this plus twice the wall time of the action plugin's planning run
        (rounded up, at most 300 s more), so it grows with what a round of work with the host costs
        now (forks, controller CPU, SSH latency). C(window_s) in the result's RV(commit_confirm) says how long it was.
    type: int
    default: 30
  lock_timeout:
    description:
      - Seconds this run waits for another policy run on the same host (an apply waiting for its
        confirmation, a drift check, a second playbook) to release the host's policy lock before it
        fails, changing nothing, with a message naming the holder.
      - Default (unset) is the larger of O(confirm_timeout) and 30, plus 60 s, which covers a holder's
        apply, confirmation window and restore. Give more when runs with a longer O(confirm_timeout)
        share the host; V(0) fails at once when the lock is held.
      - With commit-confirm the action plugin's waits and the async limit grow with it.
    type: int
    version_added: 1.1.0
  confirm_bytes:
    description:
      - With commit-confirm, how many bytes (random letters, which SSH compression cannot shrink)
        the controller reads from the host over the fresh connection before it confirms. Reading
        them makes the host send full-size packets, so a policy that black-holes Path MTU Discovery
        on the way back to the controller is not confirmed and is rolled back, although a tiny
        command would still get through.
      - V(0) confirms with the small command only. Used by the action plugin; the module checks
        the range.
      - A path MTU learnt before the change stays cached for up to 10 minutes
        (C(net.ipv4.route.mtu_expires)) and would hide a black hole from this check, so a policy
        that drops frag-needed or packet-too-big also flushes the cached routes of that family
        (C(ip route flush cache)) after the apply, with a warning.
    type: int
    default: 65536
  rollback:
    description: Restore a snapshot from the history instead, V(previous) or a snapshot id.
    type: str
  state_dir:
    description: Where snapshots and confirmation cookies are kept on the host.
    type: path
    default: /var/lib/netdevops_icmp/policy
  history_size:
    description: How many snapshots to keep.
    type: int
    default: 20
  running_config:
    description: For O(state=parsed), the output of C(nft -j list ruleset) or C(iptables-save).
    type: str
  _confirm_token:
    description:
      - Internal. The action plugin sets it to a fresh random token for each commit-confirm run;
        setting it by hand is refused (the module checks O(_confirm_marker)).
    type: str
  _confirm_marker:
    description:
      - Internal. The action plugin's marker for O(_confirm_token); a token without the right
        marker is refused.
    type: str
attributes:
  action:
    support: full
    description:
      - The C(netdevops.icmp.policy) action plugin runs on the controller. For a change with
        O(confirm_timeout) it runs the module in the background and confirms over a fresh connection.
  async:
    support: none
    description: Do not set C(async) on this task; with O(confirm_timeout) the action plugin runs the module in the background itself.
  check_mode:
    support: full
    description: Computes the same plan and returns it in RV(commands) without applying it.
  diff_mode:
    support: full
    description: Shows our rules before and after, rendered for the backend.
  platform:
    support: full
    platforms: posix
    description: Linux with nftables or iptables.
notes:
  - Commit-confirm needs the action plugin (it is used automatically) and a connection that can be
    reset. The host runs a detached watchdog that restores the snapshot if neither the module nor
    the controller finishes the protocol.
  - Foreign rules that drop ICMP the policy accepts are reported as warnings, never changed.
  - All or nothing in every mode. Every ruleset is validated first (C(nft -c), C(--test)); sysctls are
    written before the rulesets (the kernel may reject a value); any failure after the first write
    restores the snapshot at once, whatever O(confirm_timeout) is, and the task fails with
    RV(rolled_back=true).
  - With O(backend=auto), a run refuses to change anything when what this module wrote with the other
    backend still exists (our iptables chains when auto resolves to nftables; a nftables history when
    C(nft) is gone), so it is never left live and unmanaged.
  - Every rule carries a hit counter (nftables C(counter); iptables counts natively and is read with
    C(iptables-save -c)). O(state=gathered) returns them in RV(hits). Counter values are never drift
    and never make an identical apply report a change; they restart from zero when the policy
    changes (the table or chains are rewritten). An nftables table written before counters existed is
    rewritten once, with counters, by the next changing run.
seealso:
  - module: netdevops.icmp.ping
  - name: RFC 4890
    description: Recommendations for filtering ICMPv6 messages in firewalls.
    link: https://www.rfc-editor.org/rfc/rfc4890
"""

EXAMPLES = r"""
- name: RFC 4890 host policy with commit-confirm (rolled back if we lose the host)
  netdevops.icmp.policy:
    config:
      profile: rfc4890-host
      rules:
        - {family: ipv4, type: echo-request, action: accept, rate: 10/second, burst: 20}
      sysctls:
        icmp_echo_ignore_broadcasts: 1
    confirm_timeout: 30

- name: Drop timestamp requests, logging them
  netdevops.icmp.policy:
    state: merged
    config:
      rules:
        - {family: ipv4, type: timestamp-request, action: drop, log_prefix: "icmp-ts: "}

- name: Answer echo only from the monitoring prefixes; drop it from everywhere else
  netdevops.icmp.policy:
    state: merged
    config:
      rules:
        - {family: ipv4, type: echo-request, action: accept, source: [192.0.2.0/24, 198.51.100.7]}
        - {family: ipv4, type: echo-request, action: drop}
        - {family: ipv6, type: echo-request, action: accept, source: "2001:db8:100::/48"}
        - {family: ipv6, type: echo-request, action: drop}

- name: Render iptables-restore input offline
  netdevops.icmp.policy:
    state: rendered
    backend: iptables
    config:
      profile: strict-host
  register: offline

- name: Roll back to the state before the last change
  netdevops.icmp.policy:
    rollback: previous
"""

RETURN = r"""
before:
  description: Our rules and the ICMP sysctls before the run (null for gathered, rendered, parsed).
  returned: always
  type: dict
  sample: {"rules": [{"family": "ipv6", "direction": "input", "type": "packet-too-big", "code": null,
           "action": "accept", "rate": null, "burst": null, "log_prefix": null,
           "source": null, "destination": null}], "sysctls": {"icmp_ratelimit": 1000}}
after:
  description: Our rules and the ICMP sysctls after the run (what check mode would produce).
  returned: always
  type: dict
commands:
  description: The commands the run executed (or would execute in check mode), with their input.
  returned: always
  type: list
  elements: str
  sample: ["nft -f -", "table inet netdevops_icmp", "delete table inet netdevops_icmp"]
snapshot:
  description: Id of the snapshot taken before the change (null when nothing changed).
  returned: always
  type: int
applied:
  description: True when the change is in place (and confirmed when commit-confirm was used).
  returned: always
  type: bool
rolled_back:
  description:
    - True when the snapshot was restored, because the change was not confirmed in time, or because
      the apply failed after its first write (a sysctl the kernel rejected, a failed ruleset command).
      The task then fails and RV(ignore:msg) says why.
  returned: always
  type: bool
foreign:
  description:
    - What our table (nftables) or chains (iptables) hold that this module did not write, one
      description each. A changing state refuses such a table or chains unless O(force=true);
      O(state=gathered) returns only our rules in RV(gathered), lists the rest here and warns.
  returned: always
  type: list
  elements: str
  sample: ["set blocklist", "chain custom"]
commit_confirm:
  description:
    - Set by the action plugin for a changing run with O(confirm_timeout) > 0. C(ran) is false when the
      plan was empty (or the input bad) and nothing was started; C(controller_confirmed) is true when
      the controller removed the cookie; C(confirm_ms) is about the time from the controller seeing the
      new rules live to the answer of its confirmation (what O(confirm_timeout) must cover, with headroom);
      C(round_trips) counts the shell commands after the start; C(elapsed_ms) is the controller's
      time for the task; C(window_s) (when it ran) is the host's effective window, O(confirm_timeout)
      plus twice the planning run's wall time.
  returned: when the action plugin ran commit-confirm or found nothing to confirm
  type: dict
  sample: {"ran": true, "controller_confirmed": true, "confirm_ms": 640, "round_trips": 4, "elapsed_ms": 2310,
           "window_s": 32}
backend:
  description: The backend used, V(nftables) or V(iptables).
  returned: always
  type: str
gathered:
  description: The live policy, for O(state=gathered).
  returned: always
  type: dict
hits:
  description:
    - For O(state=gathered), one entry per rule of ours with its hit counters, in rule order (null for
      the other states). Each holds the rule's fields (as in RV(gathered)), C(rule) (its one-line text),
      C(packets) and C(bytes) (every packet the rule matched) and C(dropped_packets) and C(dropped_bytes)
      (those it dropped; for a rate-limited accept, the packets over the rate).
    - Counts are null for an nftables rule without a counter (written by an older version).
    - M(netdevops.icmp.stats) with O(netdevops.icmp.stats#module:policy_hits) reads them twice and returns
      the change over an interval.
  returned: always
  type: list
  elements: dict
  sample: [{"family": "ipv4", "direction": "input", "type": "echo-request", "code": null, "action": "drop",
            "rate": null, "burst": null, "log_prefix": "echo-drop ", "rule": "ipv4 input type echo-request log 'echo-drop ' drop",
            "packets": 10, "bytes": 840, "dropped_packets": 10, "dropped_bytes": 840}]
rendered:
  description: The commands for O(config), for O(state=rendered).
  returned: always
  type: list
  elements: str
parsed:
  description: The policy read from O(running_config), for O(state=parsed).
  returned: always
  type: dict
rendered_data:
  description:
    - For O(state=rendered) with a device or cloud backend, the data the vendor's own module takes.
    - V(cisco_ios) gives C(ios_acls) (the C(config) of C(cisco.ios.ios_acls), or null when some entries
      cannot be held by that module's model, listed in C(not_in_ios_acls)) and C(running_config) (the lists
      as C(show running-config) prints them).
    - V(aws_security_group) gives C(IpPermissions) and C(IpPermissionsEgress) (EC2 API) and C(rules) and
      C(rules_egress) (C(amazon.aws.ec2_security_group)); egress only when the policy has output rules.
    - V(aws_network_acl) gives C(entries) (C(CreateNetworkAclEntry) parameters without C(NetworkAclId)) and
      C(ec2_vpc_nacl) (its C(ingress) and C(egress) lists).
  returned: always
  type: dict
  sample: {"ios_acls": null, "not_in_ios_acls": ["ipv6 input type nd-neighbor-solicit accept"]}
confirm:
  description:
    - V(disabled), V(confirmed) or V(expired) (only when something was applied), or V(failed) when the
      apply failed after its first write and the snapshot was restored.
  returned: when changed and not in check mode
  type: str
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netdevops.icmp.plugins.module_utils._adapter import ModuleRunner
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import defaults, engine, model, names, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import sysctl as sysctl_mod
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError

MAX_CONFIRM_BYTES = defaults.MAX_CONFIRM_BYTES
MAX_LOCK_TIMEOUT_S = 3600

RULE_SPEC = {
    "family": {"type": "str", "choices": ["ipv4", "ipv6"], "required": True},
    "direction": {"type": "str", "choices": ["input", "forward", "output"], "default": "input"},
    "type": {"type": "raw", "required": True},
    "code": {"type": "raw"},
    "action": {"type": "str", "choices": ["accept", "drop"]},
    "rate": {"type": "str"},
    "burst": {"type": "int"},
    "log_prefix": {"type": "str"},
    "source": {"type": "list", "elements": "str"},
    "destination": {"type": "list", "elements": "str"},
}
ARGUMENT_SPEC = {
    "state": {"type": "str", "default": defaults.DEFAULT_STATE,
              "choices": ["merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed"]},
    "config": {"type": "dict", "options": {
        "profile": {"type": "str", "choices": list(profiles.PROFILE_NAMES)},
        "rules": {"type": "list", "elements": "dict", "default": [], "options": RULE_SPEC},
        "sysctls": {"type": "dict"},
    }},
    "backend": {"type": "str", "default": defaults.DEFAULT_BACKEND,
                "choices": ["auto", "nftables", "iptables", "cisco_ios", "aws_security_group", "aws_network_acl"]},
    "table": {"type": "str", "default": defaults.DEFAULT_TABLE},
    "chain_prefix": {"type": "str", "default": defaults.DEFAULT_CHAIN_PREFIX},
    "log_group": {"type": "int", "default": defaults.DEFAULT_LOG_GROUP},
    "allow_unsafe": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "confirm_timeout": {"type": "int", "default": defaults.DEFAULT_CONFIRM_TIMEOUT},
    "confirm_bytes": {"type": "int", "default": defaults.DEFAULT_CONFIRM_BYTES},
    "lock_timeout": {"type": "int"},
    "rollback": {"type": "str"},
    "state_dir": {"type": "path", "default": defaults.DEFAULT_STATE_DIR},
    "history_size": {"type": "int", "default": defaults.DEFAULT_HISTORY_SIZE},
    "running_config": {"type": "str"},
    "_confirm_token": {"type": "str", "no_log": False},
    "_confirm_marker": {"type": "str"},
}


def build_want(params: t.Mapping[str, t.Any]) -> model.Policy:
    """The wanted policy from the module options (raises ``PolicyError``)."""
    config = params.get("config") or {}
    rules = []
    for index, raw in enumerate(config.get("rules") or []):
        raw = {key: value for key, value in raw.items() if value is not None}
        if params["state"] == "deleted":
            raw.setdefault("action", "accept")  # deletion matches by family, direction, type, code
        rules.append(model.rule_from_dict(raw, "rule %d" % (index + 1)))
    if params["state"] != "deleted":  # deletion matches by key only: the other fields do not matter
        rules = model.fold_duplicates(rules)
    return profiles.extend(profiles.profile_policy(config.get("profile")), rules,
                           sysctl_mod.validate(config.get("sysctls")))


def build_request(params: t.Mapping[str, t.Any], check_mode: bool) -> engine.Request:
    token_problem = defaults.token_problem(params.get("_confirm_token"), params.get("_confirm_marker"))
    if token_problem:
        raise model.PolicyError(token_problem)
    if params["state"] == "parsed" and not params.get("running_config"):
        raise model.PolicyError("state=parsed needs running_config (nft -j or iptables-save output)")
    if params["confirm_timeout"] < 0 or params["history_size"] < 1:
        raise model.PolicyError("confirm_timeout must be >= 0 and history_size >= 1")
    lock_timeout = params.get("lock_timeout")
    if lock_timeout is not None and not 0 <= lock_timeout <= MAX_LOCK_TIMEOUT_S:
        raise model.PolicyError("lock_timeout must be between 0 and %d seconds, got %d; nothing was changed"
                                % (MAX_LOCK_TIMEOUT_S, lock_timeout))
    if not 0 <= params["confirm_bytes"] <= MAX_CONFIRM_BYTES:
        raise model.PolicyError("confirm_bytes must be between 0 and %d, got %d"
                                % (MAX_CONFIRM_BYTES, params["confirm_bytes"]))
    return engine.Request(
        state=params["state"], want=build_want(params), backend=params["backend"], table=params["table"],
        chain_prefix=params["chain_prefix"], log_group=names.check_log_group(params["log_group"]),
        allow_unsafe=params["allow_unsafe"], force=params["force"],
        state_dir=params["state_dir"],
        confirm_timeout=params["confirm_timeout"], token=params.get("_confirm_token"), rollback=params.get("rollback"),
        history_size=params["history_size"], check_mode=check_mode, running_config=params.get("running_config"),
        lock_timeout=None if lock_timeout is None else float(lock_timeout))


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    runner = ModuleRunner(module)
    # the watchdog (a forked child) restores over the same runner: run_command works after fork
    seams = engine.Seams(runner=runner, which=runner.which, restore_runner=lambda: runner)
    try:
        request = build_request(module.params, module.check_mode)
        result = engine.execute(request, seams)
    except (model.PolicyError, CommandError) as err:
        module.fail_json(msg=str(err), changed=False)
    for warning in result.pop("warnings"):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff and diff is not None:
        result["diff"] = diff
    result.pop("trace", None)
    if result.get("rolled_back"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
