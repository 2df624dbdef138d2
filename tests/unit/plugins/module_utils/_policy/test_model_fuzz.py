"""Properties of the model over arbitrary input: only PolicyError for bad input, and every
accepted policy renders to iptables rules that parse back to the same policy."""
from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, model, names, nft, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

FUZZ = settings(max_examples=int(os.environ.get("POLICY_FUZZ_EXAMPLES", "200")), deadline=None)
ANY = st.none() | st.booleans() | st.integers(-5, 2 ** 40) | st.text(max_size=12) | st.lists(st.integers(), max_size=2)
RULE = st.fixed_dictionaries({}, optional={
    "family": st.sampled_from(["ipv4", "ipv6"]) | ANY,
    "direction": st.sampled_from(["input", "forward", "output"]) | ANY,
    "type": st.sampled_from(["any", "echo-request", "packet-too-big", 3, 135, 42, "255"]) | ANY,
    "code": st.none() | st.integers(0, 20) | st.sampled_from(["frag-needed", "admin-prohibited"]) | ANY,
    "action": st.sampled_from(["accept", "drop"]) | ANY,
    "rate": st.none() | st.sampled_from(["10/second", "3/minute", "1/hour", "61/minute", "60/minute"]) | ANY,
    "burst": st.none() | st.integers(1, 10000) | ANY,
    "log_prefix": st.none() | st.text(alphabet="ab: _.\n\"", min_size=1, max_size=30) | ANY,
})

GOOD_RULE = st.fixed_dictionaries({
    "family": st.sampled_from(["ipv4", "ipv6"]),
    "direction": st.sampled_from(["input", "forward", "output"]),
    "type": st.sampled_from(["any", "echo-request", "destination-unreachable", 3, 1, 135, 42, "255"]),
    "action": st.sampled_from(["accept", "drop"]),
}, optional={
    "code": st.integers(0, 4),
    "rate": st.sampled_from(["10/second", "3/minute", "1/hour", "61/minute", "10000/second"]),
    "burst": st.integers(1, 10000),
    "log_prefix": st.text(alphabet="ab: _.=", min_size=1, max_size=29),
})


def _rules(raws):
    rules = []
    for raw in raws:
        try:
            rules.append(model.rule_from_dict(raw))
        except PolicyError:
            continue
    return rules


@FUZZ
@given(RULE | ANY)
def test_rule_from_dict_raises_only_policy_error(raw):
    try:
        model.rule_from_dict(raw)
    except PolicyError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(sysctl.SYSCTLS)) | st.text(max_size=5), ANY) | ANY)
def test_sysctl_validate_raises_only_policy_error(raw):
    try:
        result = sysctl.validate(raw)
    except PolicyError:
        return
    for key, value in result.items():
        lowest, highest = sysctl.value_range(key)
        assert isinstance(value, int) and lowest <= value <= highest


@FUZZ
@given(ANY)
def test_name_checks_raise_only_policy_error(value):
    for check in (names.check_table, names.check_chain_prefix, names.check_log_prefix):
        try:
            assert "\n" not in check(value)
        except PolicyError:
            pass


@FUZZ
@given(st.lists(GOOD_RULE | RULE, max_size=8))
def test_accepted_policies_round_trip_through_the_iptables_format(raws):
    policy = model.Policy.build(_rules(raws))
    for family in ("ipv4", "ipv6"):
        mine = model.Policy.build(r for r in policy.rules if r.family == family)
        chains = sorted({iptables.chain_name(r.direction) for r in mine.rules})
        jumps = ["-A %s -j %s" % (iptables.BUILTIN[d], iptables.chain_name(d))
                 for d in model.DIRECTIONS if iptables.chain_name(d) in chains]
        declared = "".join(":%s - [0:0]\n" % c for c in chains)
        text = "*filter\n" + declared + "".join(j + "\n" for j in jumps) + iptables.render_chains(mine, family)
        text += "COMMIT\n"
        own = iptables.read_chains(text, family)
        assert own.foreign == [] and own.drift == []
        assert own.policy == (mine if chains else None)
    top = {"table inet netdevops_icmp", "delete table inet netdevops_icmp", "table inet netdevops_icmp {", "}"}
    assert all(line in top or line.startswith("\t") for line in nft.render_script(policy).splitlines())
