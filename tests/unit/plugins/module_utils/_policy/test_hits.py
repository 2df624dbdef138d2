"""Per-rule hit counters: rendered on every nft rule, read back per model rule, never drift."""
from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, hits, iptables, model, nft, plan
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import rule_from_dict
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

GOLDEN = Path(__file__).parent / "golden"
ECHO_DROP = rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "drop", "log_prefix": "echo "})
TS_ACCEPT = rule_from_dict({"family": "ipv4", "type": "timestamp-request", "action": "accept"})
V6_LIMIT = rule_from_dict({"family": "ipv6", "type": 128, "action": "accept", "rate": "2/second", "log_prefix": "e6 "})
POLICY = model.Policy.build([ECHO_DROP, TS_ACCEPT, V6_LIMIT])


def _with_counters(text: str, values: dict) -> str:
    """``nft -j`` text with the counter of rule handle N set to ``values[N]`` (packets, bytes)."""
    document = json.loads(text)
    for obj in document["nftables"]:
        rule = obj.get("rule")
        if rule is None or rule.get("handle") not in values:
            continue
        for expr in rule["expr"]:
            if "counter" in expr:
                packets, octets = values[rule["handle"]]
                expr["counter"] = {"packets": packets, "bytes": octets}
    return json.dumps(document)


def _nft_json(policy: model.Policy) -> str:
    """What ``nft -j`` prints for our rendered table, built from the rendered rules' expressions."""
    rules = []
    for handle, rule in enumerate(policy.rules, 10):
        protocol = "icmp" if rule.family == "ipv4" else "icmpv6"
        match = {"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": "type"}},
                           "right": rule.icmp_type}}
        drop = [match, {"counter": {"packets": 0, "bytes": 0}}]
        drop += [{"log": {"prefix": rule.log_prefix, "group": 58}}] if rule.log_prefix else []
        drop += [{"drop": None}]
        if rule.rate is not None:
            limit = {"limit": {"rate": rule.rate.rate, "per": rule.rate.per, "burst": rule.rate.burst}}
            rules.append((handle, [match, limit, {"counter": {"packets": 0, "bytes": 0}}, {"accept": None}]))
            rules.append((handle + 100, drop))
        elif rule.action == "drop":
            rules.append((handle, drop))
        else:
            rules.append((handle, [match, {"counter": {"packets": 0, "bytes": 0}}, {"accept": None}]))
    items = [{"table": {"family": "inet", "name": "netdevops_icmp", "handle": 1}},
             {"chain": {"family": "inet", "table": "netdevops_icmp", "name": "input", "handle": 2, "type": "filter",
                        "hook": "input", "prio": 0, "policy": "accept"}}]
    items += [{"rule": {"family": "inet", "table": "netdevops_icmp", "chain": "input", "handle": h, "expr": e}}
              for h, e in rules]
    return json.dumps({"nftables": items})


def test_every_rendered_nft_rule_carries_a_counter_before_its_log_and_verdict():
    text = nft.render_table(POLICY)
    rule_lines = [line.strip() for line in text.splitlines() if line.startswith("\t\t") and "hook" not in line]
    assert rule_lines == [
        'icmp type echo-request counter log prefix "echo " group 58 drop',
        "icmp type timestamp-request counter accept",
        "icmpv6 type echo-request limit rate 2/second burst 5 packets counter accept",
        'icmpv6 type echo-request counter log prefix "e6 " group 58 drop',
    ]


def test_golden_captures_of_the_real_nft_hold_a_counter_in_every_rule_and_read_back_without_drift():
    for name in ("rfc4890-host", "rfc4890-router", "strict-host", "mixed"):
        text = (GOLDEN / (name + ".nft.json")).read_text()
        own = nft.read_table(text)
        rules = [o["rule"] for o in json.loads(text)["nftables"] if "rule" in o]
        assert rules and all(any("counter" in e for e in r["expr"]) for r in rules), name
        assert own.drift == [] and own.foreign == [], name
        assert set(own.hits) == {r.key for r in own.policy.rules}, name


def test_nft_counters_are_summed_per_model_rule_and_never_change_the_policy():
    base = _nft_json(POLICY)
    counted = _with_counters(base, {10: (10, 840), 11: (3, 120), 12: (7, 728), 112: (4, 416)})
    zero, busy = nft.read_table(base), nft.read_table(counted)
    assert busy.policy == zero.policy == POLICY and busy.drift == [] and busy.foreign == []
    rows = {row["rule"]: row for row in hits.rows(busy.policy, busy.hits)}
    assert rows[ECHO_DROP.text()]["packets"] == 10 and rows[ECHO_DROP.text()]["dropped_packets"] == 10
    assert rows[ECHO_DROP.text()]["bytes"] == 840
    assert (rows[TS_ACCEPT.text()]["packets"], rows[TS_ACCEPT.text()]["dropped_packets"]) == (3, 0)
    # the rate-limited accept: 7 accepted + 4 over the rate
    assert (rows[V6_LIMIT.text()]["packets"], rows[V6_LIMIT.text()]["dropped_packets"]) == (11, 4)
    assert rows[V6_LIMIT.text()]["bytes"] == 728 + 416


def test_an_identical_apply_with_busy_counters_plans_nothing():
    counted = _with_counters(_nft_json(POLICY), {10: (99, 9999), 12: (5, 500)})
    backend = backends.NftBackend(FakeRunner([(("nft", "-j", "list", "ruleset"), 0, counted, "")]))
    result = plan.make_plan("overridden", POLICY, backend.read(), {}, backend, allow_unsafe=True)
    assert not result.changed and result.steps == []


def test_an_nft_rule_of_ours_without_a_counter_is_drift_and_rewritten():
    document = json.loads(_nft_json(POLICY))
    for obj in document["nftables"]:
        if obj.get("rule", {}).get("handle") == 11:
            obj["rule"]["expr"] = [e for e in obj["rule"]["expr"] if "counter" not in e]
    live = backends.NftBackend(FakeRunner([(("nft", "-j", "list", "ruleset"), 0, json.dumps(document), "")])).read()
    assert live.policy == POLICY and live.unknown == []
    assert live.drift == ["rules without a hit counter (written by an older version)"]
    backend = backends.NftBackend(FakeRunner())
    steps = backend.steps(live, POLICY)
    warnings = plan.make_plan("overridden", POLICY, live, {}, backend, allow_unsafe=True).warnings
    assert warnings == ["rules without a hit counter (written by an older version) in our table/chains: the policy "
                        "is rewritten with counters"]  # not "canonical order": the drift report must not say reordered
    assert [s.argv for s in steps] == [("nft", "-f", "-")] and "timestamp-request counter accept" in steps[0].stdin
    rows = {row["rule"]: row for row in hits.rows(live.policy, nft.read_table(json.dumps(document)).hits)}
    assert rows[TS_ACCEPT.text()]["packets"] is None  # no counter: null, never a made-up 0


def test_an_odd_counter_is_foreign_not_a_crash():
    for counter in ({"packets": -1, "bytes": 0}, {"packets": "1", "bytes": 0}, {"packets": 1}, [1, 2], True):
        document = json.loads(_nft_json(model.Policy.build([TS_ACCEPT])))
        document["nftables"][2]["rule"]["expr"][1] = {"counter": counter}
        own = nft.read_table(json.dumps(document))
        assert own.policy == model.Policy() and len(own.foreign) == 1, counter


def _save_with_counters(policy: model.Policy, family: str, counts: list) -> str:
    """``iptables-save -c`` text of our chains, counters given per rendered line in order."""
    lines = iptables.render_chains(policy, family).splitlines()
    assert len(lines) == len(counts)
    body = ["[%d:%d] %s" % (p, b, line) for (p, b), line in zip(counts, lines)]
    return "*filter\n:INPUT ACCEPT [5:300]\n:NETDEVOPS-ICMP-IN - [0:0]\n[7:500] -A INPUT -j NETDEVOPS-ICMP-IN\n" \
           + "\n".join(body) + "\nCOMMIT\n"


def test_iptables_save_counters_are_read_per_model_rule_log_lines_once():
    v4 = model.Policy.build([ECHO_DROP, TS_ACCEPT])
    # LOG + DROP of the echo drop (the LOG sees the same packets), then the timestamp accept
    text = _save_with_counters(v4, "ipv4", [(10, 840), (10, 840), (2, 80)])
    own = iptables.read_chains(text, "ipv4")
    plain = iptables.read_chains(text.replace("[10:840] ", "").replace("[2:80] ", "").replace("[7:500] ", ""), "ipv4")
    assert own.policy == plain.policy == v4 and own.jumps == plain.jumps == {"NETDEVOPS-ICMP-IN": 1}
    assert own.foreign == [] and own.drift == []
    rows = {row["rule"]: row for row in hits.rows(own.policy, own.hits)}
    assert (rows[ECHO_DROP.text()]["packets"], rows[ECHO_DROP.text()]["dropped_bytes"]) == (10, 840)
    assert (rows[TS_ACCEPT.text()]["packets"], rows[TS_ACCEPT.text()]["dropped_packets"]) == (2, 0)


def test_iptables_rate_limited_accept_counts_accepted_and_overflow():
    v6 = model.Policy.build([V6_LIMIT])
    text = _save_with_counters(v6, "ipv6", [(7, 700), (4, 400), (4, 400)]).replace("INPUT -j", "INPUT -j", 1)
    own = iptables.read_chains(text, "ipv6")
    row = hits.rows(own.policy, own.hits)[0]
    assert (row["packets"], row["bytes"], row["dropped_packets"], row["dropped_bytes"]) == (11, 1100, 4, 400)


def test_iptables_backend_gathers_hits_with_save_c_for_both_families():
    v4 = _save_with_counters(model.Policy.build([ECHO_DROP]), "ipv4", [(3, 252), (3, 252)])
    runner = FakeRunner([(("iptables-save", "-c", "-t", "filter"), 0, v4, ""),
                         (("ip6tables-save", "-c", "-t", "filter"), 0, "*filter\nCOMMIT\n", "")])
    backend = backends.IptablesBackend(runner)
    rows = backend.hit_rows(backends.Live(None))
    assert [(r["rule"], r["packets"], r["dropped_packets"]) for r in rows] == [(ECHO_DROP.text(), 3, 3)]
    assert rows[0]["type"] == "echo-request" and rows[0]["log_prefix"] == "echo "


def test_deltas_over_an_interval_and_a_reset_is_null():
    first = hits.rows(POLICY, {ECHO_DROP.key: hits.Hits(10, 840, 10, 840), TS_ACCEPT.key: hits.Hits(5, 200, 0, 0)})
    second = hits.rows(POLICY, {ECHO_DROP.key: hits.Hits(30, 2520, 30, 2520), TS_ACCEPT.key: hits.Hits(1, 40, 0, 0)})
    out = {row["rule"]: row for row in hits.deltas(first, second, 2.0)}
    assert out[ECHO_DROP.text()]["packets"] == 20 and out[ECHO_DROP.text()]["packets_per_s"] == 10.0
    assert out[TS_ACCEPT.text()]["packets"] is None  # went down: the policy was rewritten in between
    assert out[V6_LIMIT.text()]["packets"] is None  # never counted


def test_snapshots_of_our_nft_table_leave_counter_values_out_so_a_rollback_to_the_same_rules_changes_nothing():
    busy = "table inet netdevops_icmp {\n\tchain input {\n\t\ticmp type echo-request counter packets 12 bytes 1008 drop\n"
    idle = busy.replace("packets 12 bytes 1008", "packets 0 bytes 0")
    assert nft.without_counts(busy) == nft.without_counts(idle) == busy.replace(" packets 12 bytes 1008", "")
    runner = FakeRunner([(("nft", "list", "table", "inet", "netdevops_icmp"), 0, busy, "")])
    backend = backends.NftBackend(runner)
    raw = backend.capture(backends.Live(POLICY))
    assert backend.raw_steps({"nftables": nft.without_counts(idle)}, backends.Live(POLICY), raw) == []


def test_iptables_counts_of_a_rule_with_several_prefixes_are_summed_over_its_lines():
    rule = rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "drop",
                           "source": ["192.0.2.0/25", "198.51.100.7"]})
    v4 = model.Policy.build([rule])
    text = _save_with_counters(v4, "ipv4", [(3, 252), (4, 336)])
    own = iptables.read_chains(text, "ipv4")
    assert own.policy == v4 and own.foreign == [] and own.drift == []
    row = hits.rows(own.policy, own.hits)[0]
    assert (row["packets"], row["bytes"], row["dropped_packets"]) == (7, 588, 7)
