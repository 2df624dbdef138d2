"""Round trips on files captured from the real tools (see capture_golden.py).

model -> render -> (real nft / iptables-restore) -> nft -j / iptables-save -> parse == model.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, model, nft
from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.golden_cases import cases

GOLDEN = Path(__file__).parent / "golden"
CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_nft_golden_parses_back_to_the_model(name):
    policy, unknown = nft.parse_table((GOLDEN / (name + ".nft.json")).read_text())
    assert unknown == []
    assert policy == model.Policy.build(CASES[name].rules)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("family,tool", [("ipv4", "iptables"), ("ipv6", "ip6tables")])
def test_iptables_golden_parses_back_to_the_model(name, family, tool):
    text = (GOLDEN / ("%s.%s-save" % (name, tool))).read_text()
    policy, present, unknown = iptables.parse_save(text, family)
    want = model.Policy.build(r for r in CASES[name].rules if r.family == family)
    assert unknown == []
    assert policy == want
    assert present == {iptables.chain_name(d): 1 for d in {r.direction for r in want.rules}}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("family,tool", [("ipv4", "iptables"), ("ipv6", "ip6tables")])
def test_iptables_render_is_byte_identical_to_what_iptables_save_prints(name, family, tool):
    text = (GOLDEN / ("%s.%s-save" % (name, tool))).read_text()
    saved = [line for line in text.splitlines() if line.startswith("-A NETDEVOPS-ICMP")]
    rendered = iptables.render_chains(CASES[name], family).splitlines()
    # iptables-save prints user chains in name order (FWD, IN, OUT); order within a chain is kept
    assert sorted(rendered, key=lambda line: line.split()[1]) == saved


def test_nft_render_of_the_mixed_case():
    text = nft.render_table(CASES["mixed"])
    assert '\t\ticmp type echo-request limit rate 3/minute burst 7 packets counter accept\n' in text
    assert '\t\ticmp type echo-request counter log prefix "icmp-over: " group 58 drop\n' in text
    assert "\t\ticmp type destination-unreachable icmp code 4 counter accept\n" in text
    assert "\t\ticmpv6 type 42 counter drop\n" in text
    assert text.index("chain input") < text.index("chain forward") < text.index("chain output")
    assert nft.render_script(CASES["mixed"]).startswith("table inet netdevops_icmp\ndelete table inet netdevops_icmp\ntable inet netdevops_icmp {\n")


def test_nft_parse_reports_rules_we_did_not_write():
    text = (GOLDEN / "rfc4890-host.nft.json").read_text().replace('"accept": null', '"jump": {"target": "x"}', 1)
    policy, unknown = nft.parse_table(text)
    assert len(unknown) == 1 and "jump" in unknown[0]
    assert len(policy.rules) == len(CASES["rfc4890-host"].rules) - 1


def test_nft_missing_table_and_garbage():
    assert nft.parse_table('{"nftables": [{"metainfo": {}}]}') == (None, [])
    with pytest.raises(model.PolicyError, match="cannot read 'nft -j' output"):
        nft.parse_table("table inet x {")


def test_iptables_parse_reports_edited_rules_and_keeps_foreign_ones_apart():
    text = (GOLDEN / "strict-host.iptables-save").read_text().replace(
        "-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 0 -j ACCEPT",
        "-A NETDEVOPS-ICMP-IN -i lo -p icmp -m icmp --icmp-type 0 -j ACCEPT\n-A INPUT -p tcp -j DROP")
    policy, _present, unknown = iptables.parse_save(text, "ipv4")
    assert len(unknown) == 1
    assert 0 not in {r.icmp_type for r in policy.rules}
    assert "-A INPUT -p tcp -j DROP" in iptables.strip_ours(text)
    assert "NETDEVOPS" not in iptables.strip_ours(text)


def test_iptables_restore_adds_the_jump_only_when_missing_and_removes_empty_chains():
    host = CASES["rfc4890-host"]
    fresh = iptables.render_restore(host, "ipv4", {})
    assert fresh.splitlines()[:2] == ["*filter", ":NETDEVOPS-ICMP-IN - [0:0]"]
    assert "-I INPUT 1 -j NETDEVOPS-ICMP-IN" in fresh and fresh.endswith("COMMIT\n")
    again = iptables.render_restore(host, "ipv4", {"NETDEVOPS-ICMP-IN": 1})
    assert "-I INPUT" not in again and "-D INPUT" not in again
    twice = iptables.render_restore(host, "ipv4", {"NETDEVOPS-ICMP-IN": 2})
    assert twice.count("-D INPUT -j NETDEVOPS-ICMP-IN") == 1
    gone = iptables.render_restore(model.Policy(), "ipv4", {"NETDEVOPS-ICMP-IN": 1, "NETDEVOPS-ICMP-OUT": 1})
    assert gone == ("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n-D INPUT -j NETDEVOPS-ICMP-IN\n-X NETDEVOPS-ICMP-IN\n"
                    ":NETDEVOPS-ICMP-OUT - [0:0]\n-D OUTPUT -j NETDEVOPS-ICMP-OUT\n-X NETDEVOPS-ICMP-OUT\nCOMMIT\n")
    assert iptables.render_restore(model.Policy(), "ipv4", {}) is None
