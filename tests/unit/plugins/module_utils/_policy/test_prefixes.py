"""Source/destination prefixes of policy rules: validation, order, the guard, nft and iptables parsing."""
from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import aws, cisco_ios, iptables, model, nft, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import drift

GOLDEN = Path(__file__).parent / "golden"


def rule(**raw):
    raw.setdefault("family", "ipv4")
    raw.setdefault("type", "echo-request")
    raw.setdefault("action", "accept")
    return model.rule_from_dict(raw)


@pytest.mark.parametrize("family,value,want", [
    ("ipv4", "192.0.2.0/24", ("192.0.2.0/24",)),
    ("ipv4", "192.0.2.7", ("192.0.2.7/32",)),
    ("ipv4", ["198.51.100.0/24", "192.0.2.0/25", "192.0.2.128/25", "192.0.2.9"], ("192.0.2.0/24", "198.51.100.0/24")),
    ("ipv6", "2001:DB8::/32", ("2001:db8::/32",)),
    ("ipv6", "2001:db8:0:0::1", ("2001:db8::1/128",)),
    # Python 3.13 prints an IPv4-mapped address in dotted form, older ones in hex: the text is Python's.
    ("ipv6", "::ffff:192.0.2.1", (str(ipaddress.ip_network("::ffff:192.0.2.1/128")),)),
    ("ipv4", None, ()),
])
def test_prefixes_parse_to_canonical_collapsed_tuples(family, value, want):
    assert prefixes.parse(family, value, "source") == want


@pytest.mark.parametrize("family,value,message", [
    ("ipv4", "192.0.2.5/24", "source '192.0.2.5/24' has host bits set: write 192.0.2.0/24 for the network or "
                             "192.0.2.5/32 for the single address"),
    ("ipv4", "2001:db8::/32", "source '2001:db8::/32' is not an ipv4 prefix (it is an ipv6 prefix; this rule is ipv4)"),
    ("ipv6", "192.0.2.0/24", "source '192.0.2.0/24' is not an ipv6 prefix (it is an ipv4 prefix; this rule is ipv6)"),
    ("ipv4", "192.0.2.01", "is not an ipv4 prefix"),  # leading zeros: octal to some tools
    ("ipv4", "192.0.2.0/33", "is not an ipv4 prefix"),
    ("ipv4", "192.0.2", "is not an ipv4 prefix"),
    ("ipv4", " 192.0.2.0/24", "is not an ipv4 prefix"),
    ("ipv4", "192.0.2.0/24\n", "is not an ipv4 prefix"),
    ("ipv4", "192.0.2.0/24;reboot", "is not an ipv4 prefix"),
    ("ipv4", "example.com", "is not an ipv4 prefix"),
    ("ipv6", "fe80::1%eth0", "is not an ipv6 prefix"),
    ("ipv6", "2001:db8::/129", "is not an ipv6 prefix"),
    ("ipv6", "2001:db8:::1", "is not an ipv6 prefix"),
    ("ipv4", "0.0.0.0/0", "matches every address: leave source out instead"),
    ("ipv4", 3232235777, "source 3232235777 must be a prefix or a list of prefixes"),
    ("ipv4", [3232235777], "source 3232235777 is not text"),
    ("ipv4", {"a": 1}, "must be a prefix or a list of prefixes"),
    ("ipv4", ["192.0.2.%d" % n for n in range(33)], "lists 33 prefixes; at most 32"),
])
def test_bad_prefixes_are_refused_quoting_the_value(family, value, message):
    with pytest.raises(PolicyError) as err:
        prefixes.parse(family, value, "source")
    assert message in str(err.value)


def test_rule_errors_quote_the_rule_and_a_rate_needs_one_prefix_pair():
    with pytest.raises(PolicyError, match=r"rule 3 \{family: 'ipv4'.*destination '2001:db8::1' is not an ipv4"):
        model.rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "accept",
                              "destination": "2001:db8::1"}, "rule 3")
    with pytest.raises(PolicyError, match="a rate limit needs one source and one destination prefix at most"):
        rule(source=["192.0.2.0/24", "198.51.100.0/24"], rate="5/second")
    assert rule(source="192.0.2.0/24", destination="203.0.113.1", rate="5/second").rate is not None


def test_rules_differing_only_in_prefixes_are_kept_most_specific_first():
    policy = model.Policy.build([rule(action="drop"), rule(source="192.0.2.0/24"),
                                 rule(source="192.0.2.128/25", action="drop"), rule(type="any", action="drop")])
    assert [r.text() for r in policy.rules] == [
        "ipv4 input type echo-request from 192.0.2.128/25 drop",
        "ipv4 input type echo-request from 192.0.2.0/24 accept",
        "ipv4 input type echo-request drop",
        "ipv4 input type any drop",
    ]
    assert policy.rules[0].to_dict()["source"] == ["192.0.2.128/25"]
    assert policy.rules[2].to_dict()["source"] is None and policy.rules[2].to_dict()["destination"] is None
    with pytest.raises(PolicyError, match="rule 1 and rule 2 both match ipv4 input type echo-request from 192.0.2.0/24"):
        model.fold_duplicates([rule(source="192.0.2.0/24"), rule(source="192.0.2.0/24", action="drop")])


def test_a_prefixed_accept_of_packet_too_big_does_not_satisfy_the_guard():
    policy = model.Policy.build([rule(family="ipv6", type="packet-too-big", source="2001:db8::/32"),
                                 rule(family="ipv6", type="any", action="drop")])
    findings = model.unsafe_findings(policy)
    assert any("drops ipv6 type 2 code 0 from every other address (ipv6 input rule 'ipv6 input type any drop')" in f
               for f in findings)
    assert model.effective_action(policy.chain("ipv6", "input"), 2, 0).icmp_type is None
    assert "ipv6" in model.pmtud_blocked(policy)


def test_a_prefixed_drop_is_reported_for_its_prefix_only():
    policy = model.Policy.build([rule(type=3, code=4, action="drop", source="198.51.100.0/24")])
    findings = model.unsafe_findings(policy)
    assert len(findings) == 1
    assert findings[0].startswith("drops ipv4 type 3 code 4 from 198.51.100.0/24 (ipv4 input rule")
    assert "from every other" not in " ".join(findings)
    assert model.effective_action(policy.chain("ipv4", "input"), 3, 4) is None
    safe = model.Policy.build([rule(type=3, code=4, source="198.51.100.0/24"), rule(type="any", action="accept")])
    assert model.unsafe_findings(safe) == []


def test_nft_golden_with_prefixes_has_sets_and_merged_ranges_and_parses_back():
    text = (GOLDEN / "prefixed.nft.json").read_text()
    rights = [json.dumps(expr) for obj in json.loads(text)["nftables"] if "rule" in obj for expr in obj["rule"]["expr"]]
    assert any('"set": [' in r and '"saddr"' in r for r in rights)
    assert any('"range": ["192.0.2.0", "192.0.3.127"]' in r for r in rights)  # nft merged the two prefixes
    own = nft.read_table(text)
    assert own.foreign == [] and own.drift == []
    assert ("192.0.2.0/24", "192.0.3.0/25") in [r.destination for r in own.policy.rules]


def _nft_rule(*exprs):
    body = {"family": "inet", "table": "netdevops_icmp", "chain": "input", "handle": 9, "expr": list(exprs) + [
        {"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "echo-request"}},
        {"accept": None}]}
    return json.dumps({"nftables": [
        {"table": {"family": "inet", "name": "netdevops_icmp", "handle": 1}},
        {"chain": {"family": "inet", "table": "netdevops_icmp", "name": "input", "handle": 2, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": body}]})


def _saddr(protocol, right, op="=="):
    return {"match": {"op": op, "left": {"payload": {"protocol": protocol, "field": "saddr"}}, "right": right}}


@pytest.mark.parametrize("expr,source", [
    (_saddr("ip", "192.0.2.1"), ("192.0.2.1/32",)),
    (_saddr("ip", {"prefix": {"addr": "192.0.2.0", "len": 24}}), ("192.0.2.0/24",)),
    (_saddr("ip", {"set": [{"range": ["192.0.2.0", "192.0.3.127"]}, "198.51.100.7"]}),
     ("192.0.2.0/24", "192.0.3.0/25", "198.51.100.7/32")),
])
def test_nft_reads_addresses_prefixes_ranges_and_sets(expr, source):
    own = nft.read_table(_nft_rule(expr))
    assert own.foreign == [] and own.policy.rules[0].source == source


@pytest.mark.parametrize("expr", [
    _saddr("ip", "192.0.2.1", op="!="),  # a negation we never write
    _saddr("ip6", "2001:db8::1"),  # an IPv6 address on an ICMP (v4) rule never matches
    _saddr("ip", {"prefix": {"addr": "192.0.2.1", "len": 24}}),  # host bits
    _saddr("ip", {"prefix": {"addr": "192.0.2.0", "len": True}}),
    _saddr("ip", "@blocked"),  # a named set
    _saddr("ip", {"set": ["192.0.2.1", {"payload": {"protocol": "ip", "field": "daddr"}}]}),
    _saddr("ip", {"range": ["192.0.2.9", "192.0.2.1"]}),
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": ["saddr"]}}, "right": "192.0.2.1"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "ether", "field": "saddr"}}, "right": "02:00:00:00:00:01"}},
])
def test_nft_address_matches_we_do_not_write_are_foreign(expr):
    own = nft.read_table(_nft_rule(expr))
    assert own.policy.rules == () and len(own.foreign) == 1


def test_iptables_golden_groups_rules_by_their_comment():
    text = (GOLDEN / "prefixed.iptables-save").read_text()
    own = iptables.read_chains(text, "ipv4")
    assert own.foreign == [] and own.drift == []
    sources = [r.source for r in own.policy.rules if r.icmp_type == 8]
    assert ("198.51.100.0/24", "203.0.113.0/25") in sources and ("192.0.2.0/24",) in sources


def test_iptables_a_broken_group_is_not_ours_and_neighbours_are_never_merged():
    text = (GOLDEN / "prefixed.iptables-save").read_text()
    edited = text.replace(
        '-A NETDEVOPS-ICMP-IN -s 203.0.113.0/25 -p icmp -m comment --comment "netdevops-icmp 1f0e476a" '
        '-m icmp --icmp-type 8 -j ACCEPT\n', "")
    assert edited != text
    own = iptables.read_chains(edited, "ipv4")
    assert len(own.foreign) == 1 and "198.51.100.0/24" in own.foreign[0]
    two = model.Policy.build([rule(source="192.0.2.0/24"), rule(source="198.51.100.0/24")])
    saved = iptables.render_restore(two, "ipv4", {"NETDEVOPS-ICMP-IN": 1})
    assert "comment" not in saved
    assert iptables.read_chains(saved, "ipv4").policy == two


@pytest.mark.parametrize("line", [
    "-A NETDEVOPS-ICMP-IN -s 0.0.0.0/0 -p icmp -j ACCEPT",
    "-A NETDEVOPS-ICMP-IN ! -s 192.0.2.0/24 -p icmp -j ACCEPT",
    "-A NETDEVOPS-ICMP-IN -s 2001:db8::/32 -p icmp -j ACCEPT",
    "-A NETDEVOPS-ICMP-IN -s 192.0.2.0/24 -s 192.0.2.0/25 -p icmp -j ACCEPT",
    '-A NETDEVOPS-ICMP-IN -s 192.0.2.0/24 -p icmp -m comment --comment "hello" -j ACCEPT',
])
def test_iptables_address_lines_we_do_not_write_are_foreign(line):
    own = iptables.read_chains("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n%s\nCOMMIT\n" % line, "ipv4")
    assert own.policy.rules == () and len(own.foreign) == 1


def test_foreign_rules_with_addresses_are_conditional():
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.0/24 -p icmp -j DROP\n-A INPUT -j NETDEVOPS-ICMP-IN\nCOMMIT\n"
    chain = iptables.foreign_chains(text, "ipv4")[0]
    assert chain.rules[0].conditional is True


def test_device_targets_take_one_prefix_per_entry_and_aws_only_the_remote_side():
    lists = model.Policy.build([rule(source=["192.0.2.0/24", "198.51.100.0/24"]), rule(type="any", action="drop")])
    with pytest.raises(PolicyError, match="an entry takes one source prefix. Write one rule per prefix"):
        cisco_ios.render(lists, "X")
    with pytest.raises(PolicyError, match="an entry takes one source prefix"):
        aws.render_network_acl(lists)
    permissions = aws.render_security_group(lists)["IpPermissions"]
    assert [[r["CidrIp"] for r in p["IpRanges"]] for p in permissions if "IpRanges" in p] == [
        ["192.0.2.0/24"], ["198.51.100.0/24"]]
    wrong_side = model.Policy.build([rule(destination="192.0.2.1"), rule(type="any", action="drop")])
    with pytest.raises(PolicyError, match="the remote side .* Remove destination from this rule"):
        aws.render_security_group(wrong_side)


def test_drift_compares_prefixes():
    desired = [rule(source="192.0.2.0/24").to_dict(), rule(action="drop").to_dict()]
    live = [rule(source="198.51.100.0/24").to_dict(), rule(action="drop").to_dict()]
    findings = drift.compare_rules(desired, live)
    assert [(f["kind"], f["message"]) for f in findings] == [
        ("rule_missing", "rule deleted: ipv4 input type echo-request from 192.0.2.0/24 accept"),
        ("rule_added", "rule added by hand: ipv4 input type echo-request from 198.51.100.0/24 accept")]
    flipped = drift.compare_rules(desired, [rule(source="192.0.2.0/24", action="drop").to_dict()] + desired[1:])
    assert flipped[0]["message"] == "action flipped on ipv4 input type echo-request from 192.0.2.0/24: accept -> drop"


DEVICE_POLICY = model.Policy.build(model.rule_from_dict(raw) for raw in [
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": "192.0.2.0/24"},
    {"family": "ipv4", "type": "echo-request", "action": "drop", "source": "198.51.100.7"},
    {"family": "ipv4", "type": 3, "code": 4, "action": "accept"},
    {"family": "ipv4", "type": "any", "action": "drop"},
    {"family": "ipv6", "type": "echo-request", "action": "accept", "source": "2001:db8::/32"},
    {"family": "ipv6", "type": "packet-too-big", "action": "accept"},
    {"family": "ipv6", "type": "any", "action": "drop"},
    {"family": "ipv4", "direction": "output", "type": "any", "action": "accept", "destination": "203.0.113.0/24"},
    {"family": "ipv4", "direction": "output", "type": "any", "action": "drop"},
])


@pytest.mark.parametrize("form", [cisco_ios.render, cisco_ios.running_config])
def test_ios_round_trip_with_prefixes(form):
    lines = form(DEVICE_POLICY, "X")
    assert " 20 deny icmp host 198.51.100.7 any echo" in [" " + line.strip() for line in lines]
    assert any(line.strip() == "30 permit icmp 192.0.2.0 0.0.0.255 any echo" for line in lines)
    assert any("permit icmp 2001:db8::/32 any echo-request" in line for line in lines)
    assert any(line.strip() == "10 permit icmp any 203.0.113.0 0.0.0.255" for line in lines)
    back, notes = cisco_ios.parse("\n".join(lines), "X")
    assert notes == [] and back == DEVICE_POLICY
    config = cisco_ios.ios_acls_config(model.Policy.build(r for r in DEVICE_POLICY.rules if r.family == "ipv4"), "X")
    aces = config[0]["acls"][0]["aces"]
    assert aces[1]["source"] == {"host": "198.51.100.7"}
    assert aces[2]["source"] == {"address": "192.0.2.0", "wildcard_bits": "0.0.0.255"}


def test_ios_first_match_keeps_a_broad_entry_after_a_narrow_one_and_drops_the_shadowed():
    text = ("ip access-list extended X-IN\n 10 permit icmp 192.0.2.0 0.0.0.255 any echo\n"
            " 20 deny icmp host 192.0.2.9 any echo\n 30 deny icmp any any echo\n 40 permit icmp any any\n")
    policy, notes = cisco_ios.parse(text, "X")
    assert notes == ["access list X-IN sequence 20 never matches: access list X-IN sequence 10 matches every "
                     "packet it would"]
    assert [r.text() for r in policy.rules] == ["ipv4 input type echo-request from 192.0.2.0/24 accept",
                                                "ipv4 input type echo-request drop", "ipv4 input type any accept"]


def test_aws_round_trips_with_prefixes():
    nacl = aws.render_network_acl(DEVICE_POLICY)
    assert {"RuleNumber": 110, "Protocol": "1", "RuleAction": "deny", "Egress": False,
            "IcmpTypeCode": {"Type": 8, "Code": -1}, "CidrBlock": "198.51.100.7/32"} in nacl["entries"]
    back, notes = aws.parse_network_acls(json.dumps({"NetworkAcls": [{"Entries": nacl["entries"]}]}))
    assert notes == [] and back == DEVICE_POLICY
    allow_only = model.Policy.build(r for r in DEVICE_POLICY.rules if r.action == "accept" or not r.addressed)
    sg = aws.render_security_group(allow_only)
    assert "ingress allow icmp type 8 code -1 from 192.0.2.0/24" in aws.security_group_lines(sg)
    assert sg["rules"][1]["cidr_ip"] == "192.0.2.0/24" or sg["rules"][0]["cidr_ip"] == "192.0.2.0/24"
    described = {"SecurityGroups": [{"IpPermissions": sg["IpPermissions"],
                                     "IpPermissionsEgress": sg["IpPermissionsEgress"]}]}
    back, notes = aws.parse_security_groups(json.dumps(described))
    assert notes == [] and [r for r in back.rules if r.family == "ipv4"] == [
        r for r in allow_only.rules if r.family == "ipv4"]
    with pytest.raises(PolicyError, match="cannot drop from some addresses what it allows"):
        aws.render_security_group(DEVICE_POLICY)
