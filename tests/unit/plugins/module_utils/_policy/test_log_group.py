"""Logged drops go to an nflog group; what an older version wrote (kernel log) reads back and is rewritten once.

``legacy-log.*`` in golden/ are captures of the ``mixed`` case rendered by the version before
nflog (``log prefix "P"`` / ``-j LOG --log-prefix``) from the real tools; capture_golden.py
does not regenerate them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, iptables, model, names, nft, offline
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner
from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.golden_cases import cases

GOLDEN = Path(__file__).parent / "golden"
MIXED = cases()["mixed"]
DRIFT = names.LOG_GROUP_DRIFT % 58


def _nft(name: str) -> str:
    return (GOLDEN / (name + ".nft.json")).read_text()


def _save(name: str, tool: str) -> str:
    return (GOLDEN / ("%s.%s-save" % (name, tool))).read_text()


def test_nft_table_of_the_older_renderer_reads_back_as_the_same_rules_with_drift():
    old, new = nft.read_table(_nft("legacy-log")), nft.read_table(_nft("mixed"))
    assert '"log": {"prefix": "icmp-over: "}' in _nft("legacy-log")  # really the kernel-log form
    assert old.policy == new.policy == model.Policy.build(MIXED.rules)
    assert (old.foreign, old.drift) == ([], [DRIFT])
    assert (new.foreign, new.drift) == ([], [])


def test_nft_a_table_logging_to_another_group_is_drift_for_this_group_only():
    text = _nft("mixed").replace('"group": 58', '"group": 7')
    assert nft.read_table(text).drift == [DRIFT]
    assert nft.read_table(text, log_group=7).drift == []
    assert nft.read_table(_nft("mixed"), log_group=7).drift == [names.LOG_GROUP_DRIFT % 7]


def test_nft_backend_rewrites_a_kernel_log_table_once_then_is_in_sync():
    old = backends.NftBackend(FakeRunner([(("nft", "-j", "list", "ruleset"), 0, _nft("legacy-log"), "")]))
    steps = old.steps(old.read(), model.Policy.build(MIXED.rules))
    assert len(steps) == 1 and 'log prefix "icmp-over: " group 58 drop' in steps[0].stdin
    new = backends.NftBackend(FakeRunner([(("nft", "-j", "list", "ruleset"), 0, _nft("mixed"), "")]))
    assert new.steps(new.read(), model.Policy.build(MIXED.rules)) == []


@pytest.mark.parametrize("family,tool", [("ipv4", "iptables"), ("ipv6", "ip6tables")])
def test_iptables_chains_of_the_older_renderer_read_back_with_drift(family, tool):
    old, new = iptables.read_chains(_save("legacy-log", tool), family), iptables.read_chains(_save("mixed", tool), family)
    assert "-j LOG --log-prefix" in _save("legacy-log", tool)
    assert old.policy == new.policy == model.Policy.build(r for r in MIXED.rules if r.family == family)
    assert (old.foreign, old.drift) == ([], [DRIFT])
    assert (new.foreign, new.drift) == ([], [])


def test_iptables_nflog_to_another_group_or_without_a_group_is_drift():
    text = _save("mixed", "iptables")
    assert iptables.read_chains(text.replace("--nflog-group 58", "--nflog-group 7"), "ipv4").drift == [DRIFT]
    assert iptables.read_chains(text.replace(" --nflog-group 58", ""), "ipv4").drift == [DRIFT]
    assert iptables.read_chains(text, "ipv4", log_group=58).drift == []


def test_iptables_backend_rewrites_kernel_log_chains_once_then_is_in_sync():
    def backend(name: str) -> backends.IptablesBackend:
        return backends.IptablesBackend(FakeRunner([(("iptables-save", "-t", "filter"), 0, _save(name, "iptables"), ""),
                                                    (("ip6tables-save", "-t", "filter"), 0, _save(name, "ip6tables"), "")]))
    old = backend("legacy-log")
    steps = old.steps(old.read(), model.Policy.build(MIXED.rules))
    assert [step.argv[0] for step in steps] == ["iptables-restore", "ip6tables-restore"]
    assert all("-j NFLOG --nflog-prefix" in step.stdin and "-j LOG" not in step.stdin for step in steps)
    new = backend("mixed")
    assert new.steps(new.read(), model.Policy.build(MIXED.rules)) == []


def test_offline_render_and_parse_carry_the_group():
    rendered = offline.render(MIXED, "iptables", "t", "NETDEVOPS-ICMP", log_group=900).lines
    assert any(line.endswith('--nflog-prefix "icmp-over: " --nflog-group 900') for line in rendered)
    assert any("group 900 drop" in line for line in offline.render(MIXED, "nftables", "t", "P", log_group=900).lines)
    assert offline.parse(_nft("mixed"), "nftables", nft.DEFAULT_TABLE, "P").policy == model.Policy.build(MIXED.rules)
