"""Planning for every state, with the exact command plan, on a fake runner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, iptables, model, nft, plan, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError, rule_from_dict
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

GOLDEN = Path(__file__).parent / "golden"
HOST = profiles.profile_policy("rfc4890-host")
EMPTY_RULESET = json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}]})
PING = rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "drop"})
TS = rule_from_dict({"family": "ipv4", "type": "timestamp-request", "action": "drop", "log_prefix": "ts "})
V6_OUT = rule_from_dict({"family": "ipv6", "direction": "output", "type": 128, "action": "accept", "rate": "1/second"})


def nft_live(text):
    runner = FakeRunner([(("nft", "-j", "list", "ruleset"), 0, text, "")])
    backend = backends.NftBackend(runner)
    return backend, backend.read()


def plan_for(state, want, text=None, sysctls=None, allow_unsafe=False):
    backend, live = nft_live(text or (GOLDEN / "rfc4890-host.nft.json").read_text())
    return plan.make_plan(state, want, live, sysctls or {}, backend, allow_unsafe)


def test_merged_adds_and_replaces_by_key():
    result = plan_for("merged", model.Policy.build([PING, TS]))
    assert result.after.rules == model.Policy.build(list(HOST.rules) + [PING, TS]).rules
    assert [s.argv for s in result.steps] == [("nft", "-f", "-")]
    assert result.steps[0].check_argv == ("nft", "-c", "-f", "-")
    assert result.steps[0].stdin == nft.render_script(result.after)
    assert "\t\ticmp type echo-request counter drop\n" in result.diff_after
    assert "\t\ticmp type echo-request counter accept\n" in result.diff_before
    assert result.commands()[0] == "nft -f -"


def test_merged_with_what_is_there_changes_nothing():
    result = plan_for("merged", model.Policy.build(HOST.rules[:3]))
    assert not result.changed and result.steps == [] and result.commands() == []


def test_replaced_only_touches_the_chains_given():
    result = plan_for("replaced", model.Policy.build([PING]))
    assert result.after.chain("ipv4", "input") == (PING,)
    assert result.after.chain("ipv6", "input") == HOST.chain("ipv6", "input")


def test_overridden_is_exactly_want():
    result = plan_for("overridden", model.Policy.build([V6_OUT]))
    assert result.after.rules == (V6_OUT,)
    assert result.steps[0].stdin == (
        "table inet netdevops_icmp\ndelete table inet netdevops_icmp\ntable inet netdevops_icmp {\n"
        "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
        "\t\ticmpv6 type echo-request limit rate 1/second burst 5 packets counter accept\n"
        "\t\ticmpv6 type echo-request counter drop\n\t}\n}\n")


def test_deleted_named_rules_and_everything():
    named = plan_for("deleted", model.Policy.build([HOST.rules[0]]))
    assert named.after.rules == HOST.rules[1:]
    everything = plan_for("deleted", model.Policy())
    assert everything.after.rules == ()
    assert everything.steps[0].stdin == "table inet netdevops_icmp\ndelete table inet netdevops_icmp\n"
    nothing = plan_for("deleted", model.Policy(), text=EMPTY_RULESET)
    assert not nothing.changed


def test_first_apply_on_an_empty_host():
    result = plan_for("merged", HOST, text=EMPTY_RULESET)
    assert result.before.rules == () and result.after.rules == HOST.rules
    assert result.diff_before == ""


def test_unsafe_result_is_refused_in_every_changing_state():
    bad = model.Policy.build([rule_from_dict({"family": "ipv6", "type": "packet-too-big", "action": "drop"})])
    for state in ("merged", "replaced", "overridden"):
        with pytest.raises(PolicyError, match="refusing an unsafe ICMP policy"):
            plan_for(state, bad)
    assert plan_for("merged", bad, allow_unsafe=True).changed


def test_sysctls_are_planned_like_rules():
    want = model.Policy.build(HOST.rules, {"icmp_ratelimit": 100, "accept_redirects": 0})
    result = plan_for("merged", want, sysctls={"icmp_ratelimit": 1000, "accept_redirects": 0})
    assert result.sysctls == {"icmp_ratelimit": 100}
    assert result.steps == [] and result.changed
    assert result.commands() == ["sysctl -w icmp_ratelimit=100"]
    assert "sysctl icmp_ratelimit = 1000\n" in result.diff_before
    assert "sysctl icmp_ratelimit = 100\n" in result.diff_after
    assert plan_for("deleted", want, sysctls={"icmp_ratelimit": 1000}).sysctls == {}


def test_non_changing_states_cannot_be_planned():
    with pytest.raises(PolicyError, match="does not change the host"):
        plan.resolve("gathered", HOST, HOST)


def test_foreign_drop_of_packet_too_big_is_warned_about():
    data = json.loads((GOLDEN / "rfc4890-host.nft.json").read_text())
    data["nftables"] += [
        {"table": {"family": "ip6", "name": "edge", "handle": 9}},
        {"chain": {"family": "ip6", "table": "edge", "name": "in", "type": "filter", "hook": "input",
                   "prio": 0, "policy": "accept"}},
        {"rule": {"family": "ip6", "table": "edge", "chain": "in", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
                       "right": "packet-too-big"}}, {"drop": None}]}},
        {"rule": {"family": "ip6", "table": "edge", "chain": "in", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
            {"drop": None}]}},
    ]
    result = plan_for("merged", HOST, text=json.dumps(data))
    assert result.warnings == [
        "nftables table ip6 edge chain in (not managed by this module) drops ipv6 ICMP type packet-too-big "
        "that the policy accepts (ipv6 input type packet-too-big accept); fix that chain or the policy"]


def test_foreign_policy_drop_before_our_iptables_jump_is_warned_about():
    text = (GOLDEN / "rfc4890-host.iptables-save").read_text().replace(":INPUT ACCEPT", ":INPUT DROP").replace(
        "-A INPUT -j NETDEVOPS-ICMP-IN", "-A INPUT -p icmp -m icmp --icmp-type 3/4 -j DROP\n-A INPUT -j NETDEVOPS-ICMP-IN")
    chains = iptables.foreign_chains(text, "ipv4")
    from ansible_collections.netdevops.icmp.plugins.module_utils._policy import coexist
    warnings = coexist.warnings_for(HOST, chains)
    assert warnings == [
        "iptables filter chain INPUT (not managed by this module) drops ipv4 ICMP type destination-unreachable code 4 "
        "that the policy accepts (ipv4 input type destination-unreachable accept); fix that chain or the policy"]
    # the same foreign rules AFTER our jump cannot drop what we accept
    after = text.replace("-A INPUT -p icmp -m icmp --icmp-type 3/4 -j DROP\n-A INPUT -j NETDEVOPS-ICMP-IN",
                         "-A INPUT -j NETDEVOPS-ICMP-IN\n-A INPUT -p icmp -m icmp --icmp-type 3/4 -j DROP")
    assert coexist.warnings_for(HOST, iptables.foreign_chains(after, "ipv4")) == []


def _ipt_runner(v4_text, v6_text):
    return FakeRunner([(("iptables-save", "-t", "filter"), 0, v4_text, ""),
                       (("ip6tables-save", "-t", "filter"), 0, v6_text, "")])


def test_iptables_plan_per_family_and_idempotence():
    empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    backend = backends.IptablesBackend(_ipt_runner(empty, empty))
    live = backend.read()
    result = plan.make_plan("merged", HOST, live, {}, backend)
    assert [s.argv for s in result.steps] == [("iptables-restore", "--noflush"), ("ip6tables-restore", "--noflush")]
    assert [s.check_argv for s in result.steps] == [
        ("iptables-restore", "--noflush", "--test"), ("ip6tables-restore", "--noflush", "--test")]
    assert result.steps[0].stdin == iptables.render_restore(HOST, "ipv4", {})

    def golden_backend():
        return backends.IptablesBackend(_ipt_runner((GOLDEN / "rfc4890-host.iptables-save").read_text(),
                                                    (GOLDEN / "rfc4890-host.ip6tables-save").read_text()))
    backend = golden_backend()
    assert not plan.make_plan("merged", HOST, backend.read(), {}, backend).changed
    backend = golden_backend()
    only_v4 = plan.make_plan("merged", model.Policy.build([PING]), backend.read(), {}, backend)
    assert [s.argv[0] for s in only_v4.steps] == ["iptables-restore"]


def test_missing_binaries_name_the_debian_package():
    with pytest.raises(PolicyError, match=r"nft was not found on the host: install the Debian package 'nftables' \(apt-get install nftables\)"):
        backends.make_backend("nftables", FakeRunner(), "t", "P", which=lambda name: None)
    with pytest.raises(PolicyError, match="install the Debian package 'iptables'"):
        backends.make_backend("auto", FakeRunner(), "t", "P", which=lambda name: None)
    assert backends.make_backend("auto", FakeRunner(), "t", "P", which=lambda name: "/usr/sbin/" + name).name == "nftables"


def test_a_rejected_script_changes_nothing():
    step = backends.Step(("nft", "-f", "-"), "bad", ("nft", "-c", "-f", "-"))
    runner = FakeRunner([(("nft", "-c", "-f", "-"), 1, "", "Error: syntax error")])
    with pytest.raises(PolicyError, match="rejected by nft, nothing was changed.*syntax error"):
        backends.apply_steps(runner, [step])
    runner.assert_done()
