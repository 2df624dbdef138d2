"""The engine's safety rules on fake runners: we own only what we wrote, all or nothing, auto never strands.

Commands are a FakeRunner script (the exact order is part of the contract); sysctls are real
files under tmp_path, and a ``Sysctls`` subclass makes the kernel reject chosen writes.
"""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, confirm, engine, nft, plan
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, Rule
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.sysctl import SYSCTLS, Sysctls
from ansible_collections.netdevops.icmp.tests.unit.fakes.clock import FakeClock
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

GOLDEN = Path(__file__).parent / "golden"
READ = ("nft", "-j", "list", "ruleset")
LIST = ("nft", "list", "table", "inet", "netdevops_icmp")
CHECK = ("nft", "-c", "-f", "-")
APPLY = ("nft", "-f", "-")
EMPTY = json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}]})
PING = Rule("ipv4", "input", 8, None, "accept")
TS = Rule("ipv4", "input", 13, None, "drop")
DELETE = "table inet netdevops_icmp\ndelete table inet netdevops_icmp\n"


def ours(*extra: t.Dict[str, t.Any]) -> str:
    """``nft -j list ruleset`` with our table: an input chain accepting echo, plus ``extra`` objects."""
    objects = [
        {"metainfo": {"json_schema_version": 1}},
        {"table": {"family": "inet", "name": "netdevops_icmp", "handle": 1}},
        {"chain": {"family": "inet", "table": "netdevops_icmp", "name": "input", "handle": 1, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "netdevops_icmp", "chain": "input", "handle": 2, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}},
                       "right": "echo-request"}}, {"counter": {"packets": 3, "bytes": 252}}, {"accept": None}]}},
    ]
    return json.dumps({"nftables": objects + list(extra)})


SET = {"set": {"family": "inet", "name": "blocklist", "table": "netdevops_icmp", "type": "ipv4_addr", "handle": 3}}
CUSTOM = {"chain": {"family": "inet", "table": "netdevops_icmp", "name": "custom", "handle": 4}}
PRE = {"chain": {"family": "inet", "table": "netdevops_icmp", "name": "input", "handle": 1, "type": "filter",
                 "hook": "input", "prio": -150, "policy": "drop"}}
TABLE_TEXT = "table inet netdevops_icmp {\n\tset blocklist {\n\t\ttype ipv4_addr\n\t}\n}\n"


class Rejecting(Sysctls):
    """The kernel refuses writes of ``value`` to ``key`` (EINVAL), after earlier paths were written."""

    def __init__(self, root: str, key: str, value: int) -> None:
        super().__init__(root)
        self.key, self.value = key, value

    def write(self, values: t.Mapping[str, int]) -> None:
        for key, value in sorted(values.items()):
            for rel in SYSCTLS[key]:
                if (key, value) == (self.key, self.value) and rel == SYSCTLS[key][-1]:
                    raise OSError(22, "Invalid argument", rel)
                Path(self.root, rel).write_text("%d\n" % value)


def proc(tmp_path: Path, values: t.Mapping[str, str]) -> str:
    root = tmp_path / "proc"
    for rel, text in values.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return str(root)


class FakeNetns:
    """The namespace identity seam: a fixed key, as if always in the same namespace."""

    def lock_name(self) -> str:
        return "netns-test"

    def scope(self, state_dir: str, create: bool = True) -> str:
        return "netns-test"


def seams(tmp_path: Path, runner: FakeRunner, sysctls: t.Optional[Sysctls] = None,
          which: t.Callable[[str], t.Optional[str]] = lambda name: "/usr/sbin/" + name) -> engine.Seams:
    return engine.Seams(runner=runner, clock=FakeClock(), sysctls=sysctls or Sysctls(proc(tmp_path, {})),
                        which=which, spawn=None, netns=FakeNetns())


def request(tmp_path: Path, **kw: t.Any) -> engine.Request:
    values: t.Dict[str, t.Any] = dict(state="merged", want=Policy.build([TS]), backend="nftables",
                                      state_dir=str(tmp_path / "state"))
    values.update(kw)
    return engine.Request(**values)


# --- we own only what we created ------------------------------------------------------------

@pytest.mark.parametrize("extra,named", [(SET, 'set "blocklist"'), (CUSTOM, 'chain "custom"'),
                                         (PRE, 'chain input is {"hook": "input"')])
@pytest.mark.parametrize("state", plan.CHANGING)
@pytest.mark.parametrize("check_mode", [False, True])
def test_foreign_content_in_our_table_is_refused_in_every_changing_state(tmp_path, extra, named, state, check_mode):
    runner = FakeRunner([(READ, 0, ours(extra), "")])
    with pytest.raises(plan.ForeignContent) as caught:
        engine.execute(request(tmp_path, state=state, check_mode=check_mode), seams(tmp_path, runner))
    runner.assert_done()  # read only: nothing validated, written or snapshotted
    message = str(caught.value)
    assert "table inet netdevops_icmp holds content this module did not write: %s" % named in message
    assert "Nothing was changed" in message and "another table" in message and "force: true" in message
    assert not list((tmp_path / "state").glob("nftables/**/*.json"))  # the lock dir may exist; no snapshot


def test_rollback_into_a_table_with_foreign_content_is_refused(tmp_path):
    confirm.History(str(tmp_path / "state" / "nftables" / "netns-test"), scope="netns-test").save(
        "nftables", False, Policy())
    runner = FakeRunner([(READ, 0, ours(SET), "")])
    with pytest.raises(plan.ForeignContent, match='set "blocklist"'):
        engine.execute(request(tmp_path, rollback="previous"), seams(tmp_path, runner))


def test_gathered_lists_foreign_content_next_to_our_rules(tmp_path):
    runner = FakeRunner([(READ, 0, ours(SET, CUSTOM), "")])
    result = engine.execute(request(tmp_path, state="gathered"), seams(tmp_path, runner))
    assert [rule["type"] for rule in result["gathered"]["rules"]] == ["echo-request"]
    assert [(row["rule"], row["packets"], row["bytes"], row["dropped_packets"]) for row in result["hits"]] == [
        ("ipv4 input type echo-request accept", 3, 252, 0)]  # the counter of the same nft listing
    assert [item.split(" (")[0] for item in result["foreign"]] == ['set "blocklist"', 'chain "custom"']
    assert any("also holds content this module did not write" in w for w in result["warnings"])


def test_force_replaces_it_and_the_snapshot_keeps_its_raw_text(tmp_path):
    runner = FakeRunner([(READ, 0, ours(SET), ""), (LIST, 0, TABLE_TEXT, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path, force=True), seams(tmp_path, runner))
    runner.assert_done()
    assert result["applied"] and result["foreign"] == ['set "blocklist"']
    assert any(w.startswith("force: replaced content of table inet netdevops_icmp") for w in result["warnings"])
    assert runner.calls[-1][1] == nft.render_script(Policy.build([PING, TS]))


def test_no_foreign_content_no_warning_and_parsed_reports_it_too(tmp_path):
    runner = FakeRunner([(READ, 0, ours(), ""), (LIST, 0, "table inet netdevops_icmp {}\n", ""),
                         (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path), seams(tmp_path, runner))
    assert result["applied"] and result["foreign"] == [] and result["warnings"] == []
    parsed = engine.execute(request(tmp_path, state="parsed", running_config=ours(SET)), seams(tmp_path, FakeRunner()))
    assert parsed["foreign"] == ['set "blocklist"'] and len(parsed["parsed"]["rules"]) == 1


# --- all or nothing -------------------------------------------------------------------------

REDIRECTS = {"net/ipv4/conf/all/accept_redirects": "1\n", "net/ipv4/conf/default/accept_redirects": "1\n",
             "net/ipv4/icmp_echo_ignore_all": "0\n"}


def test_a_sysctl_the_kernel_rejects_restores_the_ones_written_and_never_touches_the_rules(tmp_path):
    """The issue's example: accept_redirects written, icmp_echo_ignore_all refused."""
    root = proc(tmp_path, REDIRECTS)
    sysctls = Rejecting(root, "icmp_echo_ignore_all", 5)
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (READ, 0, EMPTY, "")])
    want = Policy.build([TS], {"accept_redirects": 0, "icmp_echo_ignore_all": 5})
    result = engine.execute(request(tmp_path, want=want), seams(tmp_path, runner, sysctls))
    runner.assert_done()  # validated, never applied; the restore read the ruleset and found it unchanged
    assert APPLY not in [call[0] for call in runner.calls]
    assert (result["applied"], result["rolled_back"], result["confirm"]) == (False, True, "failed")
    assert "sysctl accept_redirects=0, sysctl icmp_echo_ignore_all=5" in result["msg"]
    assert "Invalid argument" in result["msg"] and "snapshot 1 was restored" in result["msg"]
    assert {rel: Path(root, rel).read_text() for rel in REDIRECTS} == REDIRECTS


def test_a_failed_ruleset_apply_restores_the_sysctls_already_written(tmp_path):
    root = proc(tmp_path, REDIRECTS)
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 1, "", "Error: netlink: Invalid"),
                         (READ, 0, EMPTY, "")])
    want = Policy.build([TS], {"accept_redirects": 0})
    result = engine.execute(request(tmp_path, want=want), seams(tmp_path, runner, Sysctls(root)))
    runner.assert_done()
    assert result["rolled_back"] and "netlink: Invalid" in result["msg"]
    assert Path(root, "net/ipv4/conf/all/accept_redirects").read_text() == "1\n"


def test_a_rejected_script_writes_nothing_and_is_a_plain_error(tmp_path):
    root = proc(tmp_path, REDIRECTS)
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 1, "", "Error: syntax error")])
    with pytest.raises(PolicyError, match="rejected by nft, nothing was changed"):
        engine.execute(request(tmp_path, want=Policy.build([TS], {"accept_redirects": 0})),
                       seams(tmp_path, runner, Sysctls(root)))
    assert Path(root, "net/ipv4/conf/all/accept_redirects").read_text() == "1\n"


def test_the_restore_after_a_failure_brings_back_the_raw_table(tmp_path):
    """A forced change over a set fails: the set comes back byte for byte (from the raw text)."""
    after = ours()  # what the failed transaction left (in reality nft is atomic; the raw restore is the point)
    runner = FakeRunner([(READ, 0, ours(SET), ""), (LIST, 0, TABLE_TEXT, ""), (CHECK, 0, "", ""),
                         (APPLY, 1, "", "Error: Could not process rule"), (READ, 0, after, ""),
                         (LIST, 0, "table inet netdevops_icmp {\n}\n", ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path, force=True), seams(tmp_path, runner))
    runner.assert_done()
    assert result["rolled_back"]
    assert runner.calls[-1] == (APPLY, DELETE + TABLE_TEXT)


def test_a_failed_restore_says_so_and_how_to_recover(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 1, "", "Error: one"),
                         (READ, 1, "", "Error: two")])
    with pytest.raises(PolicyError, match=r"restoring snapshot 1 failed too: .*Error: two.*run rollback: 1"):
        engine.execute(request(tmp_path), seams(tmp_path, runner))


# --- iptables: our raw lines ----------------------------------------------------------------

SAVE = """# Generated by iptables-save
*filter
:INPUT ACCEPT [10:20]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NETDEVOPS-ICMP-IN - [0:0]
:OTHER - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j NETDEVOPS-ICMP-IN
-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A NETDEVOPS-ICMP-IN -p tcp -j OTHER
-A OTHER -j RETURN
COMMIT
"""


def test_iptables_capture_is_our_lines_and_restores_them_exactly():
    lines = backends.our_lines(SAVE, "NETDEVOPS-ICMP")
    assert lines == [":NETDEVOPS-ICMP-IN - [0:0]", "-A INPUT -j NETDEVOPS-ICMP-IN",
                     "-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j ACCEPT",
                     "-A NETDEVOPS-ICMP-IN -p tcp -j OTHER"]
    have = [":NETDEVOPS-ICMP-IN - [0:0]", ":NETDEVOPS-ICMP-OUT - [0:0]", "-A OUTPUT -j NETDEVOPS-ICMP-OUT",
            "-A OUTPUT -j NETDEVOPS-ICMP-OUT", "-A NETDEVOPS-ICMP-OUT -p icmp -j DROP"]
    text = backends._restore_lines(lines, have, "NETDEVOPS-ICMP")
    assert text == ("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n:NETDEVOPS-ICMP-OUT - [0:0]\n"
                    "-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j ACCEPT\n"
                    "-A NETDEVOPS-ICMP-IN -p tcp -j OTHER\n"
                    "-D OUTPUT -j NETDEVOPS-ICMP-OUT\n-D OUTPUT -j NETDEVOPS-ICMP-OUT\n"
                    "-X NETDEVOPS-ICMP-OUT\n-I INPUT 1 -j NETDEVOPS-ICMP-IN\nCOMMIT\n")


def test_iptables_foreign_rule_in_our_chain_is_refused(tmp_path):
    runner = FakeRunner([(("iptables-save", "-t", "filter"), 0, SAVE, ""),
                         (("ip6tables-save", "-t", "filter"), 0, "", "")])
    with pytest.raises(plan.ForeignContent, match="chains NETDEVOPS-ICMP-IN, -FWD and -OUT holds content .*"
                                                  "another chain_prefix"):
        engine.execute(request(tmp_path, backend="iptables"), seams(tmp_path, runner))


# --- backend: auto never strands what the other backend holds ----------------------------

def test_auto_resolving_to_nftables_refuses_while_our_iptables_chains_exist(tmp_path):
    runner = FakeRunner([(("iptables-save", "-t", "filter"), 0, SAVE, ""),
                         (("ip6tables-save", "-t", "filter"), 0, "", "")])
    with pytest.raises(PolicyError, match=r"backend auto resolved to nftables, but our iptables chains exist "
                                          r"\(NETDEVOPS-ICMP-IN\)\. Set backend: iptables .* state: deleted"):
        engine.execute(request(tmp_path, backend="auto"), seams(tmp_path, runner))
    runner = FakeRunner([(("iptables-save", "-t", "filter"), 0, SAVE, ""),
                         (("ip6tables-save", "-t", "filter"), 0, "", ""), (READ, 0, EMPTY, "")])
    gathered = engine.execute(request(tmp_path, backend="auto", state="gathered"), seams(tmp_path, runner))
    assert any("our iptables chains exist" in w for w in gathered["warnings"])


def test_auto_without_nft_refuses_when_this_host_used_nftables(tmp_path):
    confirm.History(str(tmp_path / "state" / "nftables" / "netns-test"), scope="netns-test").save(
        "nftables", False, Policy())

    def no_nft(name: str) -> t.Optional[str]:
        return None if name == "nft" else "/usr/sbin/" + name

    with pytest.raises(PolicyError, match=r"resolved to iptables, but nft is not installed.*table inet "
                                          r"netdevops_icmp may still be live"):
        engine.execute(request(tmp_path, backend="auto"), seams(tmp_path, FakeRunner(), which=no_nft))


def test_auto_on_a_clean_host_reads_the_other_backend_and_goes_on(tmp_path):
    clean = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"
    runner = FakeRunner([(("iptables-save", "-t", "filter"), 0, clean, ""),
                         (("ip6tables-save", "-t", "filter"), 0, clean, ""), (READ, 0, EMPTY, ""),
                         (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    assert engine.execute(request(tmp_path, backend="auto"), seams(tmp_path, runner))["applied"]


# --- overridden and sysctls -----------------------------------------------------------------

def test_overridden_leaves_sysctls_it_is_not_given(tmp_path):
    """Documented: sysctls have no 'unmanaged' state, so overridden sets only those it is given."""
    root = proc(tmp_path, {"net/ipv4/conf/all/accept_redirects": "0\n", "net/ipv4/conf/default/accept_redirects": "0\n",
                           "net/ipv4/icmp_ratelimit": "1000\n"})
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path, state="overridden", want=Policy.build([TS], {"icmp_ratelimit": 500})),
                            seams(tmp_path, runner, Sysctls(root)))
    assert result["after"]["sysctls"] == {"accept_redirects": 0, "icmp_ratelimit": 500}
    assert Path(root, "net/ipv4/conf/all/accept_redirects").read_text() == "0\n"
    assert Path(root, "net/ipv4/icmp_ratelimit").read_text() == "500\n"


# --- the dead-man: a multi-write apply without commit-confirm --------------------------------

V6 = Rule("ipv6", "input", 128, None, "accept")
SAVE_EMPTY = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
IPT = [(("iptables-save", "-t", "filter"), 0, SAVE_EMPTY, ""), (("ip6tables-save", "-t", "filter"), 0, SAVE_EMPTY, ""),
       (("iptables-restore", "--noflush", "--test"), 0, "", ""), (("ip6tables-restore", "--noflush", "--test"), 0, "", ""),
       (("iptables-restore", "--noflush"), 0, "", "")]


def test_a_multi_write_apply_is_guarded_by_the_watchdog_until_it_is_complete(tmp_path):
    armed = []

    def spawn(cookie, timeout_s, restore):
        armed.append((sorted(p.name for p in Path(cookie.directory).iterdir()), timeout_s))
        return 4242

    runner = FakeRunner(IPT + [(("ip6tables-restore", "--noflush"), 0, "", "")])
    s = seams(tmp_path, runner)
    s.spawn = spawn
    result = engine.execute(request(tmp_path, backend="iptables", want=Policy.build([TS, V6]), deadman_s=7), s)
    runner.assert_done()
    assert result["applied"] and result["confirm"] == "disabled"
    assert len(armed) == 1 and armed[0][1] == 7 and armed[0][0][0].endswith(".applying"), armed
    assert list((tmp_path / "state" / "confirm").iterdir()) == [], "disarmed and cleaned up"


def test_killed_between_iptables_and_ip6tables_the_watchdog_restores_both(tmp_path):
    """The second write fails as if the module died there: the dead-man's restore brings back the old chains."""
    spawned = []
    runner = FakeRunner(IPT + [(("ip6tables-restore", "--noflush"), 137, "", "Killed")])
    s = seams(tmp_path, runner)
    s.spawn = lambda cookie, timeout_s, restore: spawned.append((cookie, restore)) or 1
    old4 = SAVE_EMPTY  # the ipv4 chain went live; the watchdog's fresh read sees it and removes it
    new4 = SAVE.replace("-A NETDEVOPS-ICMP-IN -p tcp -j OTHER\n", "")
    fresh = FakeRunner([(("iptables-save", "-t", "filter"), 0, new4, ""),
                        (("ip6tables-save", "-t", "filter"), 0, old4, ""),
                        (("iptables-restore", "--noflush", "--test"), 0, "", ""),
                        (("iptables-restore", "--noflush"), 0, "", "")])
    s.restore_runner = lambda: fresh
    cookie_dir = tmp_path / "state" / "confirm"

    def killed(*_args: t.Any, **_kw: t.Any) -> t.Dict[str, t.Any]:
        cookie, restore = spawned[0]
        assert cookie.expire()  # what the watchdog does at its deadline
        return {"restored": restore()}

    engine_failed = engine._failed_apply
    try:
        engine._failed_apply = killed  # type: ignore[assignment]
        result = engine.execute(request(tmp_path, backend="iptables", want=Policy.build([TS, V6])), s)
    finally:
        engine._failed_apply = engine_failed  # type: ignore[assignment]
    fresh.assert_done()
    assert result["restored"].startswith("restored")
    assert fresh.calls[-1][1] == ("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n-D INPUT -j NETDEVOPS-ICMP-IN\n"
                                  "-X NETDEVOPS-ICMP-IN\nCOMMIT\n")
    assert [p.suffix for p in cookie_dir.iterdir()] == [".expired"]


# --- explicit rollback from a snapshot with raw text (History.save(raw=) of the state branch) --

class RawHistory:
    """Stands for a History whose snapshots carry ``raw`` (the interface the state branch adds)."""

    def __init__(self, snapshot: t.Any) -> None:
        self.snapshot = snapshot

    def pick(self, spec: str, current: Policy) -> t.Any:
        return self.snapshot


def test_rollback_restores_the_raw_text_of_the_snapshot(tmp_path):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class RawSnapshot(confirm.Snapshot):
        raw: t.Dict[str, str] = dataclasses.field(default_factory=dict)

    snap = RawSnapshot(4, "nftables", True, Policy.build([PING]), 0.0, {"nftables": TABLE_TEXT})
    runner = FakeRunner([(READ, 0, ours(), ""), (LIST, 0, "table inet netdevops_icmp {}\n", "")])
    backend = backends.NftBackend(runner)
    live = backend.read()
    the_plan = engine._plan(request(tmp_path, rollback="4"), backend, RawHistory(snap), live, {})  # type: ignore[arg-type]
    runner.assert_done()
    assert [step.stdin for step in the_plan.steps] == [DELETE + TABLE_TEXT]
    old = RawSnapshot(3, "nftables", True, Policy.build([PING]), 0.0)  # taken before raw existed: the model
    runner = FakeRunner([(READ, 0, EMPTY, "")])
    backend = backends.NftBackend(runner)
    the_plan = engine._plan(request(tmp_path, rollback="3"), backend, RawHistory(old), backend.read(), {})  # type: ignore[arg-type]
    assert [step.stdin for step in the_plan.steps] == [nft.render_script(Policy.build([PING]))]


def test_auto_goes_on_when_iptables_cannot_list_its_filter_table(tmp_path):
    runner = FakeRunner([(("iptables-save", "-t", "filter"), 1, "", "iptables-save: unable to initialize table"),
                         (READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    assert engine.execute(request(tmp_path, backend="auto"), seams(tmp_path, runner))["applied"]


def test_a_sysctl_file_that_cannot_be_read_is_refused_before_any_write(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, "")])
    with pytest.raises(PolicyError, match=r"sysctl accept_redirects cannot be read from .*nothing was changed"):
        engine.execute(request(tmp_path, want=Policy.build([TS], {"accept_redirects": 0})), seams(tmp_path, runner))
    assert not list((tmp_path / "state").glob("nftables/**/*.json"))  # the lock dir may exist; no snapshot
