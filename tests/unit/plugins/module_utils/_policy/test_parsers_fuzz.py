"""The parsers raise only PolicyError, on any input (Hypothesis over both machine formats).

Structurally wrong ``nft -j`` JSON (wrong types at every level), golden captures with one
subtree replaced by arbitrary JSON, arbitrary text, and ``iptables-save`` text with lines
mutated token by token. Any other exception (TypeError, KeyError, StopIteration...) fails.
"""
from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, nft
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

GOLDEN = Path(__file__).parent / "golden"
# POLICY_FUZZ_EXAMPLES=5000 for a longer hunt; the default keeps the unit run short
FUZZ = settings(max_examples=int(os.environ.get("POLICY_FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["nftables", "metainfo", "table", "chain", "rule", "set", "map", "counter", "family", "name", "hook",
         "prio", "policy", "type", "expr", "match", "left", "right", "op", "payload", "protocol", "field",
         "meta", "key", "limit", "rate", "burst", "per", "rate_unit", "inv", "log", "prefix", "accept", "drop",
         "reject", "jump", "handle", "inet", "ip", "ip6", "netdevops_icmp", "input", "forward", "output",
         "filter", "icmp", "icmpv6", "code", "l4proto", "ipv6-icmp", "echo-request", "second", "==", "in"]
SCALARS = (st.none() | st.booleans() | st.integers(-2, 2 ** 65) | st.floats(allow_nan=False)
           | st.text(max_size=6) | st.sampled_from(WORDS))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=4), inner, max_size=4), max_leaves=25)


def _nft_calls(text: str) -> None:
    for call in (nft.read_table, nft.parse_table, nft.foreign_chains, nft.strip_table):
        try:
            call(text)
        except PolicyError:
            pass


def _ipt_calls(text: str) -> None:
    for family in ("ipv4", "ipv6"):
        for call in (iptables.read_chains, iptables.parse_save, iptables.foreign_chains):
            try:
                call(text, family)
            except PolicyError:
                pass
    iptables.strip_ours(text)


@FUZZ
@given(JSON)
def test_nft_arbitrary_json(document):
    _nft_calls(json.dumps(document))
    _nft_calls(json.dumps({"nftables": document}))


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["table", "chain", "rule", "set", "metainfo"]), JSON,
                                min_size=1, max_size=2), max_size=6))
def test_nft_arbitrary_objects(objects):
    objects = [{"table": {"family": "inet", "name": "netdevops_icmp"}}] + objects
    _nft_calls(json.dumps({"nftables": objects}))


def _mutate(value: t.Any, data: st.DataObject) -> t.Any:
    """``value`` with one subtree (chosen by Hypothesis) replaced by arbitrary JSON."""
    children = list(range(len(value))) if isinstance(value, list) else sorted(value) if isinstance(value, dict) else []
    if not children or data.draw(st.integers(0, 4)) == 0:
        return data.draw(JSON)
    where = data.draw(st.sampled_from(children))
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[where] = _mutate(copy[where], data)
    return copy


@FUZZ
@given(st.data(), st.sampled_from(["mixed.nft.json", "foreign.nft.json", "strict-host.nft.json"]))
def test_nft_mutated_golden(data, name):
    document = json.loads((GOLDEN / name).read_text())
    _nft_calls(json.dumps(_mutate(document, data)))


@FUZZ
@given(st.text(max_size=200))
def test_nft_arbitrary_text(text):
    _nft_calls(text)


TOKENS = ["-A", "-I", "-p", "-m", "-j", "!", "--icmp-type", "--icmpv6-type", "--limit", "--limit-burst",
          "--log-prefix", "icmp", "icmp6", "ipv6-icmp", "limit", "ACCEPT", "DROP", "LOG", "REJECT", "INPUT",
          "NETDEVOPS-ICMP-IN", "NETDEVOPS-ICMP-OUT", "NETDEVOPS-ICMP-X", "3/4", "8", "3/99", "300", "5/sec",
          "0/sec", "1/day", "x/min", "7", "-1", '"', "'", '"a b"', "\\", "", "tcp", "--dport", "22"]
LINE = st.lists(st.sampled_from(TOKENS) | st.text(max_size=5), max_size=10).map(" ".join)


@FUZZ
@given(st.lists(LINE | st.sampled_from(["*filter", "COMMIT", ":NETDEVOPS-ICMP-IN - [0:0]", "*nat"]), max_size=12))
def test_iptables_arbitrary_lines(lines):
    _ipt_calls("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n" + "\n".join(lines) + "\nCOMMIT\n")
    _ipt_calls("\n".join(lines))


@FUZZ
@given(st.data(), st.sampled_from(["mixed.iptables-save", "mixed.ip6tables-save", "foreign.iptables-save"]))
def test_iptables_mutated_golden(data, name):
    lines = (GOLDEN / name).read_text().splitlines()
    for _round in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        words = lines[index].split(" ")
        spot = data.draw(st.integers(0, len(words)))
        action = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate", "line"]))
        if action == "replace" and spot < len(words):
            words[spot] = data.draw(st.sampled_from(TOKENS) | st.text(max_size=5))
        elif action == "insert":
            words.insert(spot, data.draw(st.sampled_from(TOKENS) | st.text(max_size=5)))
        elif action == "delete" and spot < len(words):
            del words[spot]
        elif action == "truncate":
            words = words[:spot]
        else:
            lines.insert(index, data.draw(LINE))
            continue
        lines[index] = " ".join(words)
    _ipt_calls("\n".join(lines) + "\n")


@FUZZ
@given(st.text(max_size=300))
def test_iptables_arbitrary_text(text):
    _ipt_calls(text)
