"""Everything in our table / chains that we did not write is reported, and our own rules that
cannot be read are errors naming them. Fixtures: real captures (capture_golden.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import coexist, icmp_types, iptables, model, nft, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.iptables import IptablesParseError
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.nft import NftParseError

GOLDEN = Path(__file__).parent / "golden"
HOST = profiles.profile_policy("rfc4890-host")


def _nft(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def _with(document: dict, *objects: dict) -> str:
    return json.dumps({"nftables": document["nftables"] + list(objects)})


def _rule(chain: str, expr, handle: int = 900, table: str = "netdevops_icmp") -> dict:
    return {"rule": {"family": "inet", "table": table, "chain": chain, "handle": handle, "expr": expr}}


ECHO = {"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "echo-request"}}


def test_nft_capture_with_a_set_a_map_a_counter_a_chain_and_a_tcp_rule():
    own = nft.read_table((GOLDEN / "foreign.nft.json").read_text())
    assert own.policy == model.Policy.build(HOST.rules)  # our rules still read back
    assert own.drift == []
    assert own.foreign[:4] == ['counter "seen"', 'set "blocked"', 'map "ports"',
                               'chain "extra" (we create only the base chains input, forward and output)']
    rules = own.foreign[4:]
    assert len(rules) == 3
    assert rules[0].startswith('rule handle 36 in chain "input": ') and '"@blocked"' in rules[0]
    assert rules[1].startswith('rule handle 37 in chain "input": ') and '"dport"' in rules[1]
    assert rules[2].startswith('rule handle 35 in chain "extra": ')
    policy, unknown = nft.parse_table((GOLDEN / "foreign.nft.json").read_text())
    assert policy == own.policy and unknown == own.foreign  # the compatibility view


def test_nft_our_table_as_written_has_nothing_foreign():
    for name in ("rfc4890-host", "rfc4890-router", "strict-host", "mixed"):
        own = nft.read_table((GOLDEN / (name + ".nft.json")).read_text())
        assert (own.foreign, own.drift) == ([], []), name


@pytest.mark.parametrize("change,needle", [
    ({"prio": 10}, '"prio": 10'),
    ({"policy": "drop"}, '"policy": "drop"'),
    ({"hook": "output"}, '"hook": "output"'),
    ({"type": "route"}, '"type": "route"'),
    ({"dev": "lo"}, '"dev": "lo"'),
])
def test_nft_base_chain_other_than_ours(change, needle):
    document = _nft("rfc4890-host.nft.json")
    for obj in document["nftables"]:
        if "chain" in obj:
            obj["chain"].update(change)
    own = nft.read_table(json.dumps(document))
    assert len(own.foreign) == 1 + len(HOST.rules)  # the chain, and every rule in it is no longer ours
    assert own.foreign[0].startswith("chain input is {") and needle in own.foreign[0]
    assert own.foreign[0].endswith("ours is type filter hook input priority 0 policy accept")


@pytest.mark.parametrize("obj,text", [
    ({"flowtable": {"family": "inet", "table": "netdevops_icmp", "name": "ft", "hook": "ingress"}}, 'flowtable "ft"'),
    ({"quota": {"family": "inet", "table": "netdevops_icmp", "name": "q"}}, 'quota "q"'),
    ({"chain": {"family": "inet", "table": "netdevops_icmp", "name": "input2"}}, 'chain "input2" (we create only'),
    (_rule("input", [ECHO, {"counter": "seen"}, {"accept": None}]), '"counter": "seen"'),
    (_rule("input", [ECHO, {"counter": {"packets": 1, "bytes": 84}}, {"counter": {"packets": 1, "bytes": 84}},
                     {"accept": None}]), '"counter"'),
    (_rule("input", [ECHO, {"log": {"prefix": "x"}}, {"accept": None}]), '"log"'),
    (_rule("input", [ECHO, {"log": None}, {"drop": None}]), '"log": null'),
    (_rule("input", [ECHO, {"reject": None}]), '"reject"'),
    (_rule("input", [ECHO, {"limit": {"rate": 1, "burst": 5, "per": "second", "rate_unit": "mbytes"}},
                     {"accept": None}]), '"mbytes"'),
    (_rule("input", [ECHO, {"limit": {"rate": 1, "burst": 5, "per": "second", "inv": True}}, {"drop": None}]),
     '"inv": true'),
    (_rule("input", [{"match": {"op": "!=", "left": ECHO["match"]["left"], "right": "echo-request"}},
                     {"accept": None}]), '"!="'),
])
def test_nft_every_kind_of_foreign_content_is_reported(obj, text):
    own = nft.read_table(_with(_nft("rfc4890-host.nft.json"), obj))
    assert len(own.foreign) == 1 and text in own.foreign[0]


@pytest.mark.parametrize("expr,problem", [
    ({"match": ECHO["match"]}, "expr is not a list"),
    ([ECHO, "accept"], "an expression is not a one-key object: \"accept\""),
    ([{"match": {"op": "==", "right": 8}}, {"accept": None}], "a match without left and right"),
    ([{"match": [1, 2]}, {"accept": None}], "a match without left and right"),
])
def test_nft_an_unreadable_rule_of_ours_is_an_error_naming_it(expr, problem):
    text = _with(_nft("rfc4890-host.nft.json"), _rule("input", expr, handle=77))
    with pytest.raises(NftParseError) as err:
        nft.read_table(text)
    assert str(err.value).startswith('cannot read rule handle 77 in chain "input" of table inet netdevops_icmp (')
    assert problem in str(err.value) and str(err.value).endswith("fix or delete it")
    # the same rule in someone else's table only makes that rule unjudgeable for the warnings
    other = _with(_nft("rfc4890-host.nft.json"),
                  {"chain": {"family": "inet", "table": "filter", "name": "input", "type": "filter",
                             "hook": "input", "prio": 0, "policy": "drop"}},
                  _rule("input", expr, table="filter"))
    assert nft.read_table(other).foreign == []
    (chain,) = nft.foreign_chains(other)
    assert chain.rules[0].conditional


@pytest.mark.parametrize("text", ['{"nftables": 5}', '[]', '{"nftables": [5]}', '{"nftables": [{"table": 5}]}',
                                  '{"nftables": [{"table": {}, "chain": {}}]}', "", "nope", '{"x": []}'])
def test_nft_wrong_shapes_are_parse_errors(text):
    for call in (nft.read_table, nft.foreign_chains, nft.strip_table):
        with pytest.raises(NftParseError, match="cannot read 'nft -j' output"):
            call(text)


def test_nft_empty_table_of_ours():
    own = nft.read_table('{"nftables": [{"table": {"family": "inet", "name": "netdevops_icmp", "handle": 3}}]}')
    assert own == nft.OwnTable(model.Policy(), [], [])


# --- iptables ------------------------------------------------------------------------------

def _save(*lines: str, base: str = "rfc4890-host.iptables-save") -> str:
    text = (GOLDEN / base).read_text()
    return text.replace("COMMIT\n", "".join(line + "\n" for line in lines) + "COMMIT\n")


def test_iptables_capture_with_a_tcp_rule_and_a_chain_with_our_prefix():
    own = iptables.read_chains((GOLDEN / "foreign.iptables-save").read_text(), "ipv4")
    assert own.policy == model.Policy.build(r for r in HOST.rules if r.family == "ipv4")
    assert own.jumps == {"NETDEVOPS-ICMP-IN": 1} and own.drift == []
    assert own.foreign == [
        "chain NETDEVOPS-ICMP-EXTRA (it has our prefix, but we create only NETDEVOPS-ICMP-IN, NETDEVOPS-ICMP-FWD, "
        "NETDEVOPS-ICMP-OUT)",
        "rule '-A NETDEVOPS-ICMP-EXTRA -j ACCEPT' (it is in a chain with our prefix, and we did not write it)",
        "rule '-A NETDEVOPS-ICMP-IN -p tcp -m tcp --dport 22 -j ACCEPT' (we did not write it)",
    ]
    assert iptables.parse_save((GOLDEN / "foreign.iptables-save").read_text(), "ipv4")[2] == own.foreign


@pytest.mark.parametrize("line,needle", [
    ("-A INPUT -i lo -j NETDEVOPS-ICMP-IN", "jumps to our chain"),
    ("-A FORWARD -j NETDEVOPS-ICMP-IN", "jumps to our chain"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -m comment --comment x -j ACCEPT", "we did not write it"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j REJECT", "we did not write it"),
    ("-A NETDEVOPS-ICMP-IN -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT", "other family"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j LOG --log-prefix \"a'b\"", "we did not write it"),
])
def test_iptables_foreign_lines_about_our_chains(line, needle):
    own = iptables.read_chains(_save(line), "ipv4")
    assert len(own.foreign) == 1 and needle in own.foreign[0]
    assert own.jumps == {"NETDEVOPS-ICMP-IN": 1}


@pytest.mark.parametrize("line,problem", [
    ('-A NETDEVOPS-ICMP-IN -p icmp -j LOG --log-prefix "open', "cannot split it into words"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 3/99 -j ACCEPT", "out of range for ipv4 type 3"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type bogus -j ACCEPT", "unknown ipv4 ICMP type 'bogus'"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m limit --limit fast -j ACCEPT", "--limit 'fast' is not N/sec"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -m limit --limit-burst 3 -j ACCEPT", "--limit-burst '3' without a --limit"),
    ("-A NETDEVOPS-ICMP-IN -p icmp -j", "-j without a value"),
])
def test_iptables_an_unreadable_rule_of_ours_is_an_error_naming_it(line, problem):
    with pytest.raises(IptablesParseError) as err:
        iptables.read_chains(_save(line), "ipv4")
    assert str(err.value).startswith("cannot read rule %r in our chain NETDEVOPS-ICMP-IN: " % line)
    assert problem in str(err.value)
    # in a built-in chain it is not ours: no error, and the warnings skip it as unjudgeable
    jump = "-A INPUT -j NETDEVOPS-ICMP-IN\n"
    other = (GOLDEN / "rfc4890-host.iptables-save").read_text().replace(
        jump, line.replace("NETDEVOPS-ICMP-IN", "INPUT", 1) + "\n" + jump)
    assert iptables.read_chains(other, "ipv4").foreign == []
    (chain,) = iptables.foreign_chains(other, "ipv4")
    assert len(chain.rules) == 1 and chain.rules[0].conditional


def test_iptables_not_text_is_a_parse_error():
    with pytest.raises(IptablesParseError, match="expected text"):
        iptables.read_chains(None, "ipv4")  # type: ignore[arg-type]


def test_iptables_any_type_is_a_rule_we_did_not_write_and_a_drop_of_every_type_elsewhere():
    """iptables prints an IPv4 type-255 match as ``--icmp-type any`` (the kernel's wildcard)."""
    line = "-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type any -j DROP"
    own = iptables.read_chains(_save(line), "ipv4")
    assert own.foreign == ["rule %r (we did not write it)" % line]
    jump = "-A INPUT -j NETDEVOPS-ICMP-IN\n"
    other = (GOLDEN / "rfc4890-host.iptables-save").read_text().replace(
        jump, "-A INPUT -p icmp -m icmp --icmp-type any -j DROP\n" + jump)
    (chain,) = iptables.foreign_chains(other, "ipv4")
    assert chain.rules == (coexist.ForeignRule("ipv4", None, None, "drop", False),)
    assert coexist.warnings_for(HOST, [chain])  # it drops what the policy accepts


def test_nft_code_names_are_read_for_every_type():
    """nft prints ``icmp type 42 icmp code frag-needed``: the names are aliases of numbers there."""
    assert icmp_types.output_code_number("ipv4", 42, "frag-needed") == 4
    assert icmp_types.output_code_number("ipv6", 4, "admin-prohibited") == 1
    with pytest.raises(icmp_types.IcmpValueError, match="out of range for ipv4 type 0"):
        icmp_types.output_code_number("ipv4", 0, "frag-needed")
    with pytest.raises(icmp_types.IcmpValueError, match="unknown ICMP code 'frag-needed' for ipv4 type 42"):
        icmp_types.code_number("ipv4", 42, "frag-needed")  # users still write numbers for other types


def test_nft_table_flags_are_foreign():
    document = _nft("rfc4890-host.nft.json")
    document["nftables"][1]["table"]["flags"] = ["dormant"]
    assert nft.read_table(json.dumps(document)).foreign == ['table attributes {"flags": ["dormant"]}']
