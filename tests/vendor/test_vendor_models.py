# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our IOS and AWS renderings, checked by the vendors' own code (offline).

``make vendor`` builds the vendor virtualenv (requirements-vendor.txt) and points
NETDEVOPS_VENDOR_PYTHON at it; vendor_proof.py runs there and reports what
cisco.ios.ios_acls, amazon.aws and botocore made of our output.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import aws, cisco_ios, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, rule_from_dict

PREFIX = "NETDEVOPS-ICMP"
GROUP_ID, ACL_ID = "sg-0123456789abcdef0", "acl-0123456789abcdef0"


def _policy(*rules):
    return Policy.build(rule_from_dict(rule) for rule in rules)


KEYWORDS_ONLY = _policy(
    {"family": "ipv4", "type": "destination-unreachable", "code": 4, "action": "accept"},
    {"family": "ipv4", "type": "echo-request", "action": "accept"},
    {"family": "ipv4", "type": "timestamp-request", "action": "drop"},
    {"family": "ipv4", "type": "any", "action": "drop"},
    {"family": "ipv6", "type": "packet-too-big", "action": "accept"},
    {"family": "ipv6", "type": "echo-reply", "action": "accept"},
    {"family": "ipv6", "direction": "output", "type": "time-exceeded", "action": "accept"},
)
NUMERIC = _policy(
    {"family": "ipv4", "type": 3, "code": 4, "action": "accept"},
    {"family": "ipv4", "type": 42, "action": "drop"},
    {"family": "ipv4", "type": "any", "action": "drop"},
    {"family": "ipv6", "type": "nd-neighbor-solicit", "action": "accept"},
    {"family": "ipv6", "type": 143, "action": "accept"},
    {"family": "ipv6", "type": "any", "action": "drop"},
)
# source/destination prefixes: IOS host, wildcard and any addresses; AWS CIDR lists of the remote side
PREFIXED_IOS = _policy(
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": "192.0.2.0/24",
     "destination": "203.0.113.10"},
    {"family": "ipv4", "type": "echo-request", "action": "drop", "source": "198.51.100.7"},
    {"family": "ipv4", "type": "destination-unreachable", "code": 4, "action": "accept"},
    {"family": "ipv4", "type": "any", "action": "accept", "source": "198.51.100.0/24"},
    {"family": "ipv4", "direction": "output", "type": "echo-reply", "action": "accept", "destination": "192.0.2.0/25"},
    {"family": "ipv4", "type": "any", "action": "drop"},
)
PREFIXED_AWS = _policy(
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": ["192.0.2.0/24", "198.51.100.7"]},
    {"family": "ipv4", "type": "destination-unreachable", "code": 4, "action": "accept"},
    {"family": "ipv4", "type": "any", "action": "drop"},
    {"family": "ipv6", "type": "echo-request", "action": "accept", "source": "2001:db8::/32"},
    {"family": "ipv6", "type": "packet-too-big", "action": "accept"},
    {"family": "ipv6", "type": "any", "action": "drop"},
    {"family": "ipv4", "direction": "output", "type": "any", "action": "accept", "destination": "203.0.113.0/24"},
    {"family": "ipv4", "direction": "output", "type": "any", "action": "drop"},
)
PREFIXED_NACL = _policy(*[dict(rule.to_dict(), source=rule.source[:1] or None) for rule in PREFIXED_AWS.rules])
HOST = profiles.profile_policy("rfc4890-host")
ROUTER = profiles.profile_policy("rfc4890-router")
IOS_CASES = [HOST, ROUTER, KEYWORDS_ONLY, NUMERIC, PREFIXED_IOS]
AWS_CASES = [HOST, KEYWORDS_ONLY, NUMERIC, PREFIXED_AWS]
NACL_CASES = [HOST, KEYWORDS_ONLY, NUMERIC, PREFIXED_NACL]


@pytest.fixture(scope="module")
def vendor():
    python = os.environ.get("NETDEVOPS_VENDOR_PYTHON")
    if not python:
        pytest.fail("NETDEVOPS_VENDOR_PYTHON is not set: run these tests with 'make vendor'")
    sgs = [aws.render_security_group(policy) for policy in AWS_CASES]
    nacls = [aws.render_network_acl(policy) for policy in NACL_CASES]
    calls = []
    for sg in sgs:
        calls.append(("AuthorizeSecurityGroupIngress", {"GroupId": GROUP_ID, "IpPermissions": sg["IpPermissions"]}))
        if "IpPermissionsEgress" in sg:
            calls.append(("AuthorizeSecurityGroupEgress",
                          {"GroupId": GROUP_ID, "IpPermissions": sg["IpPermissionsEgress"]}))
    for nacl in nacls:
        calls.extend(("CreateNetworkAclEntry", dict(entry, NetworkAclId=ACL_ID)) for entry in nacl["entries"])
    request = {
        "ios": [{"config": cisco_ios.ios_acls_config(p, PREFIX), "text": "\n".join(cisco_ios.running_config(p, PREFIX))}
                for p in IOS_CASES],
        "botocore": calls,
        "sg": [{key: sg[key] for key in ("rules", "rules_egress") if key in sg} for sg in sgs],
        "nacl": [nacl["ec2_vpc_nacl"] for nacl in nacls],
    }
    script = Path(__file__).with_name("vendor_proof.py")
    proc = subprocess.run([python, str(script)], input=json.dumps(request), capture_output=True, text=True,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"answer": json.loads(proc.stdout), "sgs": sgs, "nacls": nacls}


@pytest.mark.parametrize("index", range(len(IOS_CASES)))
def test_ios_acls_renders_our_data_model_as_our_text(vendor, index):
    policy = IOS_CASES[index]
    rendered = vendor["answer"]["ios"]["rendered"][index]
    if cisco_ios.not_in_ios_acls(policy):
        assert cisco_ios.ios_acls_config(policy, PREFIX) is None
        return
    assert rendered == cisco_ios.render(policy, PREFIX)


@pytest.mark.parametrize("index", range(len(IOS_CASES)))
def test_ios_acls_parses_our_text_into_our_data_model(vendor, index):
    policy = IOS_CASES[index]
    parsed = vendor["answer"]["ios"]["parsed"][index]
    ours = cisco_ios.ios_acls_config(policy, PREFIX)
    if ours is not None:
        assert parsed == ours
        return
    # What the vendor model cannot hold comes back widened to "every ICMP type" (numbers, nd-ns, nd-na)
    # or turned into another keyword (IPv6 echo-request -> echo): exactly the rules we list.
    changed = []
    for family_block in parsed:
        for acl in family_block["acls"]:
            ours_by_sequence = _entries_of(policy, family_block["afi"], acl["name"])
            for ace in acl.get("aces", []):
                rule = ours_by_sequence[ace["sequence"]]
                theirs = [name.replace("_", "-") for name in ace.get("protocol_options", {}).get("icmp", {})]
                ours = cisco_ios.KEYWORDS[rule.family].get((rule.icmp_type, rule.code))
                if rule.icmp_type is not None and theirs != [ours]:
                    changed.append(rule.text())
    assert sorted(changed) == sorted(cisco_ios.not_in_ios_acls(policy))


def _entries_of(policy, family, name):
    for fam, direction, rules in cisco_ios.lists(policy):
        if fam == family and cisco_ios.acl_name(PREFIX, fam, direction) == name:
            return {10 + 10 * index: rule for index, rule in enumerate(rules)}
    raise AssertionError("no list %s" % name)


def test_every_aws_rendering_passes_botocores_validator(vendor):
    errors = [error for error in vendor["answer"]["botocore"] if error]
    assert errors == []
    assert len(vendor["answer"]["botocore"]) > len(AWS_CASES)
    cidrs = [r["CidrIp"] for sg in vendor["sgs"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])]
    assert "198.51.100.7/32" in cidrs, "the prefixed case reached botocore"


@pytest.mark.parametrize("index", range(len(AWS_CASES)))
def test_amazon_aws_turns_our_sg_rules_into_our_permissions(vendor, index):
    theirs = vendor["answer"]["sg"][index]
    ours = vendor["sgs"][index]
    assert theirs["errors"] == []
    for key in ("IpPermissions", "IpPermissionsEgress"):
        assert _sorted(theirs.get(key)) == _sorted(ours.get(key))


@pytest.mark.parametrize("index", range(len(NACL_CASES)))
def test_amazon_aws_turns_our_nacl_lists_into_our_entries(vendor, index):
    theirs = vendor["answer"]["nacl"][index]
    assert theirs["errors"] == []
    assert _sorted(theirs["entries"]) == _sorted(vendor["nacls"][index]["entries"])


def _sorted(items):
    if items is None:
        return None
    return sorted(json.dumps(item, sort_keys=True) for item in items)
