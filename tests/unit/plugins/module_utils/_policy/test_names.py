"""Names that reach nft / iptables-restore scripts: full-match checks, also inside the renderers."""
from __future__ import annotations

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, model, names, nft, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError

HOST = profiles.profile_policy("rfc4890-host")
LOGGED = model.Policy.build([model.Rule("ipv4", "input", 8, None, "drop", None, "ok")])
INJECT_TABLE = "z\nflush ruleset\ntable inet z"


def test_model_re_exports_the_one_error_type():
    assert model.PolicyError is names.PolicyError
    assert issubclass(nft.NftParseError, PolicyError) and issubclass(iptables.IptablesParseError, PolicyError)


@pytest.mark.parametrize("value", ["netdevops_icmp", "filter", "a", "t-1_x", "A" * 64])
def test_good_tables(value):
    assert names.check_table(value) == value


@pytest.mark.parametrize("value", [
    INJECT_TABLE, "filter\n", "\nfilter", "fil ter", "x;flush ruleset", "x}", 'x"', "1abc", "_x", "",
    "A" * 65, "tab\tle", "x.y", "x/y", None, 5, "ﬁlter",
])
def test_bad_tables_are_refused_quoting_the_value(value):
    with pytest.raises(PolicyError) as err:
        names.check_table(value)
    assert repr(value) in str(err.value)
    assert "a letter, then letters, digits" in str(err.value)


@pytest.mark.parametrize("value", ["NETDEVOPS-ICMP", "X", "my_chains", "P" * 24])
def test_good_chain_prefixes(value):
    assert names.check_chain_prefix(value) == value
    assert len(iptables.chain_name("forward", value)) <= 28


@pytest.mark.parametrize("value", [
    "NETDEVOPS-ICMP\n-A INPUT -j DROP", "X\n", "X ", "-X", "X!", "P" * 25, "", None, "a:b",
])
def test_bad_chain_prefixes_are_refused(value):
    with pytest.raises(PolicyError, match=r"chain_prefix .* is not allowed: use 1-24 characters") as err:
        names.check_chain_prefix(value)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("value", ["icmp-over: ", "x", "a" * 29, "drop=1 +v6."])
def test_good_log_prefixes(value):
    assert names.check_log_prefix(value) == value


@pytest.mark.parametrize("value", ["x\n", "a\nb", 'a"b', "a\\b", "", "a" * 30, "ä", "a\tb", "a'b"])
def test_bad_log_prefixes(value):
    with pytest.raises(PolicyError, match="log_prefix .* is not allowed: use 1-29 characters") as err:
        names.check_log_prefix(value)
    assert repr(value) in str(err.value)


def test_log_prefix_with_a_trailing_newline_is_refused_in_a_rule():
    with pytest.raises(PolicyError, match=r"log_prefix 'x\\n' is not allowed"):
        model.rule_from_dict({"family": "ipv4", "type": 8, "action": "drop", "log_prefix": "x\n"})


@pytest.mark.parametrize("call", [
    lambda: nft.render_script(HOST, INJECT_TABLE),
    lambda: nft.render_table(HOST, INJECT_TABLE),
    lambda: nft.render_script(model.Policy(), INJECT_TABLE),  # the empty policy still names the table
    lambda: nft.parse_table('{"nftables": []}', INJECT_TABLE),
    lambda: nft.foreign_chains('{"nftables": []}', INJECT_TABLE),
    lambda: nft.strip_table('{"nftables": []}', INJECT_TABLE),
])
def test_nft_renderers_and_parsers_refuse_an_unchecked_table(call):
    with pytest.raises(PolicyError, match="table 'z\\\\nflush ruleset"):
        call()


@pytest.mark.parametrize("call", [
    lambda prefix: iptables.render_restore(HOST, "ipv4", {}, prefix),
    lambda prefix: iptables.render_chains(HOST, "ipv4", prefix),
    lambda prefix: iptables.parse_save("*filter\nCOMMIT\n", "ipv4", prefix),
    lambda prefix: iptables.foreign_chains("*filter\nCOMMIT\n", "ipv4", prefix),
    lambda prefix: iptables.strip_ours("*filter\nCOMMIT\n", prefix),
    lambda prefix: iptables.chain_name("input", prefix),
])
@pytest.mark.parametrize("prefix", ["X\n-A INPUT -j DROP", "X\n"])
def test_iptables_renderers_and_parsers_refuse_an_unchecked_prefix(call, prefix):
    with pytest.raises(PolicyError, match="chain_prefix"):
        call(prefix)


def test_renderers_check_a_log_prefix_that_bypassed_the_model():
    bad = model.Policy.build([model.Rule("ipv4", "input", 8, None, "drop", None, 'x"\nflush ruleset\n')])
    with pytest.raises(PolicyError, match="log_prefix"):
        nft.render_script(bad)
    with pytest.raises(PolicyError, match="log_prefix"):
        iptables.render_restore(bad, "ipv4", {})
    with pytest.raises(PolicyError, match="chain"):
        iptables.render_rule(LOGGED.rules[0], "INPUT\n-F")
    assert 'log prefix "ok" group 58 drop' in nft.render_script(LOGGED)


@pytest.mark.parametrize("group", [0, 65536, -1, True, "58", "58\nflush ruleset", None, 5.0])
def test_a_log_group_outside_1_to_65535_is_refused_by_name_and_by_every_renderer(group):
    with pytest.raises(PolicyError, match=r"log_group .* whole number from 1 to 65535"):
        names.check_log_group(group)
    with pytest.raises(PolicyError, match="log_group"):
        nft.render_script(LOGGED, log_group=group)
    with pytest.raises(PolicyError, match="log_group"):
        iptables.render_restore(LOGGED, "ipv4", {}, log_group=group)


@pytest.mark.parametrize("group", [1, 58, 65535])
def test_a_log_group_reaches_both_scripts_as_a_bare_number(group):
    assert names.check_log_group(group) == group
    assert 'log prefix "ok" group %d drop' % group in nft.render_script(LOGGED, log_group=group)
    assert '-j NFLOG --nflog-prefix "ok" --nflog-group %d\n' % group in iptables.render_restore(
        LOGGED, "ipv4", {}, log_group=group)
