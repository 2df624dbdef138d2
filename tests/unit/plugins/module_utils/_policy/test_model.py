"""ICMP type tables, rule validation, rate parsing, profiles and the unsafe-policy guard."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, model, profiles, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError, rule_from_dict


def rule(**raw):
    return rule_from_dict(raw)


@pytest.mark.parametrize("family,value,number", [
    ("ipv4", "echo-request", 8), ("ipv4", "ping", 8), ("ipv4", 3, 3), ("ipv4", "42", 42),
    ("ipv6", "packet-too-big", 2), ("ipv6", "neighbor-solicitation", 135), ("ipv6", "nd-redirect", 137),
    ("ipv6", "mld-listener-reduction", 132),
])
def test_type_names_and_numbers(family, value, number):
    assert icmp_types.type_number(family, value) == number


def test_type_label_round_trips_every_named_type():
    for family, table in (("ipv4", icmp_types.ICMPV4_TYPES), ("ipv6", icmp_types.ICMPV6_TYPES)):
        for name, (number, _codes) in table.items():
            assert icmp_types.type_label(family, number) == name
            assert icmp_types.type_number(family, name) == number
    assert icmp_types.type_label("ipv6", 148) == 148
    assert icmp_types.type_label("ipv4", None) == "any"


def test_code_names_and_ranges():
    assert icmp_types.code_number("ipv4", 3, "frag-needed") == 4
    assert icmp_types.code_number("ipv6", 1, "admin-prohibited") == 1
    assert icmp_types.code_number("ipv4", 42, 200) == 200  # unassigned types: 0-255


def test_unknown_type_name_is_quoted():
    with pytest.raises(PolicyError, match=r"rule \{family: 'ipv4', type: 'echo-requets'.*unknown ipv4 ICMP type 'echo-requets'"):
        rule(family="ipv4", type="echo-requets", action="accept")


def test_ipv4_type_in_ipv6_rule_is_refused_with_a_hint():
    with pytest.raises(PolicyError) as err:
        rule(family="ipv6", type="timestamp-request", action="drop")
    assert "family: 'ipv6', type: 'timestamp-request'" in str(err.value)
    assert "is an ipv4 type; put it in a rule with family: ipv4" in str(err.value)


@pytest.mark.parametrize("raw,message", [
    ({"family": "ipv4", "type": "echo-request", "code": 1, "action": "accept"}, "code 1 is out of range for ipv4 type 8 .echo-request.: use 0-0"),
    ({"family": "ipv4", "type": 3, "code": 16, "action": "accept"}, "use 0-15"),
    ({"family": "ipv6", "type": 1, "code": "frag-needed", "action": "accept"}, "unknown ICMP code 'frag-needed'"),
    ({"family": "ipv4", "type": 256, "action": "accept"}, "out of range: use 0-254"),
    ({"family": "ipv4", "type": 255, "action": "drop"}, "255 is reserved, and iptables reads it as every type"),
    ({"family": "ipv6", "type": 256, "action": "accept"}, "out of range: use 0-255"),
    ({"family": "ipv4", "type": "any", "code": 1, "action": "drop"}, "a code needs a type"),
    ({"family": "ipv4", "type": 8, "action": "accept", "rate": "ten/second"}, "rate 'ten/second' does not parse"),
    ({"family": "ipv4", "type": 8, "action": "accept", "rate": "10/fortnight"}, "rate '10/fortnight' does not parse"),
    ({"family": "ipv4", "type": 8, "action": "accept", "rate": "0/second"}, "does not parse"),
    ({"family": "ipv4", "type": 8, "action": "accept", "rate": "1/s", "burst": 0}, "burst 0 is not a whole number"),
    ({"family": "ipv4", "type": 8, "action": "drop", "rate": "1/s"}, "rate limits apply to accept rules"),
    ({"family": "ipv4", "type": 8, "action": "accept", "burst": 3}, "burst needs a rate"),
    ({"family": "ipv4", "type": 8, "action": "accept", "log_prefix": "x"}, "log_prefix logs dropped packets"),
    ({"family": "ipv4", "type": 8, "action": "drop", "log_prefix": 'a"b'}, "log_prefix .a\"b. is not allowed"),
    ({"family": "ipv4", "type": 8, "action": "drop", "log_prefix": "x" * 30}, "1-29 characters"),
    ({"family": "ipx", "type": 8, "action": "drop"}, "family 'ipx' is not one of"),
    ({"family": "ipv4", "type": 8, "action": "reject"}, "action 'reject' is not one of"),
    ({"family": "ipv4", "type": 8, "action": "drop", "direction": "in"}, "direction 'in' is not one of"),
    ({"family": "ipv4", "action": "drop"}, "type is required"),
    ({"family": "ipv4", "type": 8, "action": "drop", "port": 22}, r"unknown key\(s\) port"),
])
def test_bad_rules(raw, message):
    with pytest.raises(PolicyError, match=message):
        rule_from_dict(raw)


@pytest.mark.parametrize("text,expected", [
    ("10/second", model.RateLimit(10, "second", 5)), ("10/s", model.RateLimit(10, "second", 5)),
    ("30 / min", model.RateLimit(30, "minute", 5)), ("1/hour", model.RateLimit(1, "hour", 5)),
])
def test_rates(text, expected):
    assert model.parse_rate(text) == expected


def test_canonical_order_most_specific_first_and_last_rule_wins():
    policy = model.Policy.build([
        rule(family="ipv4", type="any", action="drop"),
        rule(family="ipv4", type=3, action="drop"),
        rule(family="ipv4", type=3, code=4, action="accept"),
        rule(family="ipv4", type=3, action="accept"),
    ])
    assert [r.text() for r in policy.rules] == [
        "ipv4 input type destination-unreachable code 4 accept",
        "ipv4 input type destination-unreachable accept",
        "ipv4 input type any drop",
    ]


@pytest.mark.parametrize("name", profiles.PROFILE_NAMES)
def test_profiles_are_safe_and_end_with_a_drop(name):
    policy = profiles.profile_policy(name)
    assert model.unsafe_findings(policy) == []
    for family, direction in policy.chains():
        assert policy.chain(family, direction)[-1].icmp_type is None


def test_profile_contents_that_matter():
    host = profiles.profile_policy("rfc4890-host")
    v6 = {r.icmp_type for r in host.chain("ipv6", "input") if r.action == "accept"}
    assert {1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137} <= v6
    router = profiles.profile_policy("rfc4890-router")
    assert {r.icmp_type for r in router.chain("ipv6", "forward") if r.action == "accept"} == {1, 2, 3, 4, 128, 129}
    strict = profiles.profile_policy("strict-host")
    echo = model.effective_action(strict.chain("ipv4", "input"), 8, 0)
    assert echo.rate == model.RateLimit(5, "second", 10)
    assert model.effective_action(strict.chain("ipv4", "input"), 13, 0).action == "drop"
    assert strict.sysctl_map()["accept_redirects"] == 0


def test_unknown_profile():
    with pytest.raises(PolicyError, match="unknown profile 'rfc4890'; use one of: rfc4890-host"):
        profiles.profile_policy("rfc4890")


@pytest.mark.parametrize("raw,needle", [
    ({"family": "ipv4", "type": 3, "code": 4, "action": "drop"}, "Path MTU Discovery"),
    ({"family": "ipv4", "type": 3, "action": "drop"}, "fragmentation needed"),
    ({"family": "ipv6", "type": "packet-too-big", "action": "drop"}, "packet too big"),
    ({"family": "ipv6", "type": "nd-neighbor-solicit", "action": "drop"}, "takes IPv6 down"),
    ({"family": "ipv6", "direction": "output", "type": 136, "action": "drop"}, "type 136"),
    ({"family": "ipv6", "type": "any", "action": "drop"}, "neighbour discovery"),
])
def test_unsafe_policies_are_refused_unless_allowed(raw, needle):
    policy = model.Policy.build([rule_from_dict(raw)])
    with pytest.raises(PolicyError, match="refusing an unsafe ICMP policy") as err:
        model.check_safe(policy, allow_unsafe=False)
    assert needle in str(err.value)
    assert "allow_unsafe: true" in str(err.value)
    model.check_safe(policy, allow_unsafe=True)


def test_a_specific_accept_makes_a_catch_all_drop_safe():
    policy = model.Policy.build([rule(family="ipv4", type="any", action="drop"),
                                 rule(family="ipv4", type=3, code=4, action="accept")])
    model.check_safe(policy, allow_unsafe=False)


def test_nd_in_forward_is_not_guarded():
    policy = model.Policy.build([rule(family="ipv6", direction="forward", type=135, action="drop")])
    model.check_safe(policy, allow_unsafe=False)


def test_sysctl_validation():
    assert sysctl.validate({"icmp_ratelimit": "100", "accept_redirects": False}) == {"icmp_ratelimit": 100, "accept_redirects": 0}
    with pytest.raises(PolicyError, match="unknown ICMP sysctl 'icmp_rate'"):
        sysctl.validate({"icmp_rate": 1})
    with pytest.raises(PolicyError, match="icmp_ratelimit=-1 is out of range"):
        sysctl.validate({"icmp_ratelimit": -1})


def test_sysctls_read_and_write_under_a_root(tmp_path):
    for rel in ("net/ipv4/conf/all/accept_redirects", "net/ipv4/conf/default/accept_redirects", "net/ipv4/icmp_ratelimit"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("1\n")
    (tmp_path / "net/ipv4/conf/default/accept_redirects").write_text("0\n")
    proc = sysctl.Sysctls(str(tmp_path))
    assert proc.read(["accept_redirects", "icmp_ratelimit", "ipv6_icmp_ratelimit"]) == {
        "accept_redirects": None, "icmp_ratelimit": 1, "ipv6_icmp_ratelimit": None}
    proc.write({"accept_redirects": 0})
    assert proc.read(["accept_redirects"]) == {"accept_redirects": 0}


def test_engine_never_imports_ansible():
    root = Path(model.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not (name == "ansible" or name.startswith("ansible.")), (path.name, name)
