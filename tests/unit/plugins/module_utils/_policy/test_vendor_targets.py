# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IOS access lists and AWS security groups / network ACLs: golden parses, round trips, refusals.

The vendors' own code checks the renderings in tests/vendor (make vendor); here
the pure logic: first-match semantics, implicit ends, what each target refuses.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import aws, cisco_ios, firstmatch, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    Policy, PolicyError, Rule, rule_from_dict,
)

HERE = Path(__file__).with_name("vendor")
PREFIX = "NETDEVOPS-ICMP"


def _rows(policy):
    return [[r.family, r.direction, r.icmp_type, r.code, r.action] + ([list(r.source)] if r.source else [])
            for r in policy.rules]


def _expected(name):
    data = json.loads((HERE / name).read_text())
    rules = Policy.build(Rule(*row[:5], source=tuple(row[5]) if len(row) > 5 else ()) for row in data["rules"])
    return _rows(rules), data["notes"]


def _policy(*rules):
    return Policy.build(rule_from_dict(rule) for rule in rules)


def test_ios_golden_config_with_remarks_sequences_and_other_protocols():
    policy, notes = cisco_ios.parse((HERE / "ios_edge.txt").read_text(), PREFIX)
    rows, expected_notes = _expected("ios_edge.expected.json")
    assert _rows(policy) == rows
    assert sorted(notes) == sorted(expected_notes)


def test_describe_security_groups_golden():
    policy, notes = aws.parse_security_groups((HERE / "describe_security_groups.json").read_text())
    rows, expected_notes = _expected("describe_security_groups.expected.json")
    assert _rows(policy) == rows
    assert notes == expected_notes


def test_describe_network_acls_golden():
    policy, notes = aws.parse_network_acls((HERE / "describe_network_acls.json").read_text())
    rows, expected_notes = _expected("describe_network_acls.expected.json")
    assert _rows(policy) == rows
    assert notes == expected_notes


ROUND_TRIP = [profiles.profile_policy("rfc4890-host"), profiles.profile_policy("rfc4890-router"),
              _policy({"family": "ipv4", "type": 3, "code": 4, "action": "accept"},
                      {"family": "ipv4", "type": 3, "action": "drop"},
                      {"family": "ipv6", "direction": "output", "type": 200, "code": 7, "action": "drop"})]


@pytest.mark.parametrize("policy", ROUND_TRIP)
@pytest.mark.parametrize("form", [cisco_ios.render, cisco_ios.running_config])
def test_ios_round_trip(policy, form):
    back, notes = cisco_ios.parse("\n".join(form(policy, PREFIX)), PREFIX)
    assert back.rules == _with_final_accepts(policy).rules
    assert notes == []


def _with_final_accepts(policy):
    """What a device list says for a model chain without an ``any`` rule: the final accept made explicit."""
    rules = list(policy.rules)
    for family, direction in policy.chains():
        if not any(r.icmp_type is None for r in policy.chain(family, direction)):
            rules.append(Rule(family, direction, None, None, "accept"))
    return Policy.build(rules)


@pytest.mark.parametrize("policy", [ROUND_TRIP[0], ROUND_TRIP[2]])
def test_network_acl_round_trip(policy):
    rendered = aws.render_network_acl(policy)
    back, notes = aws.parse_network_acls({"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": rendered["entries"]}]})
    assert back.rules == _with_final_accepts(policy).rules
    assert notes == []
    numbers = [(e["Egress"], e["RuleNumber"]) for e in rendered["entries"]]
    assert len(set(numbers)) == len(numbers)


def test_security_group_round_trip_of_the_host_profile():
    policy = profiles.profile_policy("rfc4890-host")
    rendered = aws.render_security_group(policy)
    back, notes = aws.parse_security_groups({"SecurityGroups": [{"IpPermissions": rendered["IpPermissions"]}]})
    assert back.rules == policy.rules
    assert notes == [] and "IpPermissionsEgress" not in rendered


def test_security_group_without_rules_for_a_family_allows_all_of_it():
    policy = _policy({"family": "ipv4", "type": "echo-request", "action": "accept"},
                     {"family": "ipv4", "type": "any", "action": "drop"},
                     {"family": "ipv6", "direction": "output", "type": "echo-request", "action": "accept"})
    rendered = aws.render_security_group(policy)
    v6_in = [p for p in rendered["IpPermissions"] if p["IpProtocol"] == "icmpv6"]
    assert v6_in == [{"IpProtocol": "icmpv6", "FromPort": -1, "ToPort": -1,
                      "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "netdevops.icmp: ipv6 input type any accept"}]}]
    assert [p["FromPort"] for p in rendered["IpPermissions"] if p["IpProtocol"] == "icmp"] == [8]


@pytest.mark.parametrize("render,what", [
    (lambda p: cisco_ios.render(p, PREFIX), "cisco_ios"),
    (aws.render_security_group, "aws_security_group"),
    (aws.render_network_acl, "aws_network_acl"),
])
def test_rate_limits_are_refused_by_every_device_target(render, what):
    with pytest.raises(PolicyError, match="%s.*cannot express rule 'ipv4 input type echo-request limit" % what):
        render(profiles.profile_policy("strict-host"))


@pytest.mark.parametrize("render", [aws.render_security_group, aws.render_network_acl])
def test_forward_rules_are_refused_by_aws(render):
    with pytest.raises(PolicyError, match=r"cannot express forward rules \(.*; and \d+ more\)"):
        render(profiles.profile_policy("rfc4890-router"))


def test_security_group_refuses_default_accept_with_drops():
    policy = _policy({"family": "ipv4", "type": "timestamp-request", "action": "drop"})
    with pytest.raises(PolicyError, match="accepts every other ICMP type but drops 'ipv4 input type "
                                          "timestamp-request drop'.*aws_network_acl"):
        aws.render_security_group(policy)


def test_security_group_refuses_an_accepted_type_with_a_dropped_code():
    policy = _policy({"family": "ipv4", "type": 3, "action": "accept"},
                     {"family": "ipv4", "type": 3, "code": 4, "action": "drop"},
                     {"family": "ipv4", "type": "any", "action": "drop"})
    with pytest.raises(PolicyError, match="cannot allow a type but one of its codes"):
        aws.render_security_group(policy)


@pytest.mark.parametrize("address,message", [
    ("object-group PEERS", "the address 'object-group PEERS' is not a host, a prefix or any"),
    ("192.0.2.0 0.0.255.0", "cannot read the address '192.0.2.0 0.0.255.0' as a prefix"),  # not contiguous
    ("192.0.2.7 0.0.0.255", "has host bits set"),
])
def test_ios_entry_with_an_address_the_model_cannot_hold_is_a_clear_error(address, message):
    text = "ip access-list extended NETDEVOPS-ICMP-IN\n 10 deny icmp %s any echo\n" % address
    with pytest.raises(PolicyError, match="sequence 10 .*" + re.escape(message)):
        cisco_ios.parse(text, PREFIX)


def test_ios_unreadable_icmp_match_is_a_clear_error():
    text = "ip access-list extended NETDEVOPS-ICMP-IN\n 10 permit icmp any any echo dscp ef\n"
    with pytest.raises(PolicyError, match="cannot read the ICMP match 'echo dscp ef'"):
        cisco_ios.parse(text, PREFIX)


def test_ios_ipv6_implicit_end_keeps_neighbour_discovery():
    text = "ipv6 access-list NETDEVOPS-ICMP-V6-IN\n sequence 10 deny icmp any any echo-request\n"
    policy, _notes = cisco_ios.parse(text, PREFIX)
    assert _rows(policy) == [["ipv6", "input", 128, None, "drop"], ["ipv6", "input", 135, None, "accept"],
                             ["ipv6", "input", 136, None, "accept"], ["ipv6", "input", None, None, "drop"]]


def test_ios_lists_of_other_names_and_families_are_ignored():
    text = ("ip access-list extended NETDEVOPS-ICMP-V6-IN\n 10 deny icmp any any\n"
            "ipv6 access-list NETDEVOPS-ICMP-IN\n sequence 10 deny icmp any any\n")
    policy, notes = cisco_ios.parse(text, PREFIX)
    assert policy.rules == () and notes == []


def test_ios_acls_model_is_refused_for_rules_it_cannot_hold():
    policy = _policy({"family": "ipv6", "type": "nd-neighbor-solicit", "action": "accept"})
    assert cisco_ios.ios_acls_config(policy, PREFIX) is None
    assert cisco_ios.not_in_ios_acls(policy) == ["ipv6 input type nd-neighbor-solicit accept"]


@pytest.mark.parametrize("text,message", [
    ("", "running_config is empty"),
    ("not json", "not JSON from DescribeSecurityGroups"),
    ('{"SecurityGroups": 5}', "must be the JSON output of DescribeSecurityGroups"),
    ('{"SecurityGroups": [{"IpPermissions": [{"IpProtocol": "icmp", "FromPort": "x", '
     '"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]}', "not a number"),
])
def test_bad_describe_security_groups_input(text, message):
    with pytest.raises(PolicyError, match=message):
        if not text:
            cisco_ios.parse(text, PREFIX)
        else:
            aws.parse_security_groups(text)


@pytest.mark.parametrize("data,message", [
    ({"NetworkAcls": []}, "holds 0 network ACLs"),
    ({"NetworkAcls": [{"Entries": [{"RuleNumber": 5, "Protocol": "1", "RuleAction": "allow",
                                    "CidrBlock": "10.0.0.1/8"}]}]}, "CIDR '10.0.0.1/8' has host bits set"),
    ({"NetworkAcls": [{"Entries": [{"RuleNumber": "x"}]}]}, "no numeric RuleNumber"),
    ({"NetworkAcls": [{"Entries": [{"RuleNumber": 5, "Protocol": "1", "RuleAction": "maybe",
                                    "CidrBlock": "0.0.0.0/0"}]}]}, "RuleAction 'maybe'"),
])
def test_bad_describe_network_acls_input(data, message):
    with pytest.raises(PolicyError, match=message):
        aws.parse_network_acls(data)


def test_firstmatch_covers_only_within_a_chain():
    entry = firstmatch.Entry("ipv4", "input", None, None, "drop", "a")
    assert firstmatch.covers(entry, firstmatch.Entry("ipv4", "input", 3, 4, "accept", "b"))
    assert not firstmatch.covers(entry, firstmatch.Entry("ipv6", "input", 3, 4, "accept", "b"))
    assert not firstmatch.covers(firstmatch.Entry("ipv4", "input", 3, 4, "drop", "a"),
                                 firstmatch.Entry("ipv4", "input", 3, None, "drop", "b"))


def test_offline_render_gives_the_effective_policy_of_each_target():
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import offline

    host = profiles.profile_policy("rfc4890-host")
    for backend in offline.DEVICE_BACKENDS:
        rendered = offline.render(host, backend, "netdevops_icmp", PREFIX)
        assert rendered.effective.rules == host.rules, backend
        assert rendered.lines and rendered.data
    ios = offline.render(host, "cisco_ios", "netdevops_icmp", PREFIX)
    assert ios.data["ios_acls"] is None and "cisco.ios.ios_config" in ios.warnings[0]
    parsed = offline.parse("\n".join(ios.data["running_config"]), "cisco_ios", "netdevops_icmp", PREFIX)
    assert parsed.policy.rules == host.rules and parsed.notes == [] and parsed.foreign == []


def test_offline_unknown_backend():
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import offline

    with pytest.raises(PolicyError, match="backend 'junos' is not one of: nftables, iptables, cisco_ios"):
        offline.render(Policy(), "junos", "t", PREFIX)


def _execute(**kwargs):
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import engine

    return engine.execute(engine.Request(**kwargs), engine.Seams(runner=None))  # no host: the runner is never used


UNSAFE = [
    _policy({"family": "ipv4", "type": 3, "code": 4, "action": "drop"}),
    _policy({"family": "ipv6", "type": "packet-too-big", "action": "drop"}),
    _policy({"family": "ipv6", "type": "nd-neighbor-solicit", "action": "drop"}),
    _policy({"family": "ipv6", "type": "echo-request", "action": "accept"},
            {"family": "ipv6", "type": "any", "action": "drop"}),
]


@pytest.mark.parametrize("backend", ["cisco_ios", "aws_security_group", "aws_network_acl"])
@pytest.mark.parametrize("want", UNSAFE)
def test_the_guard_refuses_for_every_target(backend, want):
    with pytest.raises(PolicyError, match="refusing an unsafe ICMP policy"):
        _execute(state="rendered", backend=backend, want=want)
    try:  # allowed on purpose: rendered, unless the target cannot say it at all (an allow-only group)
        assert _execute(state="rendered", backend=backend, want=want, allow_unsafe=True)["rendered"]
    except PolicyError as err:
        assert backend == "aws_security_group" and "can only allow" in str(err)


@pytest.mark.parametrize("backend", ["cisco_ios", "aws_security_group", "aws_network_acl"])
def test_device_backends_render_and_parse_only(backend):
    result = _execute(state="rendered", backend=backend, want=profiles.profile_policy("rfc4890-host"))
    assert result["rendered_data"] and result["after"]["rules"] == profiles.profile_policy("rfc4890-host").to_dict()["rules"]
    with pytest.raises(PolicyError, match="backend %s renders and parses only" % backend):
        _execute(state="merged", backend=backend, want=profiles.profile_policy("rfc4890-host"))


def test_drift_between_a_router_and_the_policy_it_should_enforce():
    from ansible_collections.netdevops.icmp.plugins.filter.policy_drift import policy_drift
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import offline

    host = profiles.profile_policy("rfc4890-host")
    desired = offline.render(host, "cisco_ios", "netdevops_icmp", PREFIX).effective.to_dict()
    running = "\n".join(cisco_ios.running_config(host, PREFIX)).replace(" packet-too-big", " 3 4", 1)
    live = offline.parse(running, "cisco_ios", "netdevops_icmp", PREFIX).policy.to_dict()
    clean = policy_drift(offline.parse("\n".join(cisco_ios.running_config(host, PREFIX)), "cisco_ios",
                                       "netdevops_icmp", PREFIX).policy.to_dict(), desired, backend="cisco_ios")
    assert clean["drifted"] is False
    drifted = policy_drift(live, desired, backend="cisco_ios")
    assert drifted["drifted"] and any(f["kind"] == "rule_added" for f in drifted["findings"])
