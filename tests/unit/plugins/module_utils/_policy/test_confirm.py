"""The commit-confirm state machine and snapshot history, with a fake clock and runner.

Cookies are real files in tmp_path (the protocol is about files); time and commands are fakes.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import confirm, engine, nft, profiles, statefiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, Rule
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.sysctl import Sysctls
from ansible_collections.netdevops.icmp.tests.unit.fakes.clock import FakeClock
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner

GOLDEN = Path(__file__).parent / "golden"
TOKEN = "0123abcd0123abcd"
EMPTY = json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}]})
HOST = profiles.profile_policy("rfc4890-host")
READ = ("nft", "-j", "list", "ruleset")
CHECK = ("nft", "-c", "-f", "-")
APPLY = ("nft", "-f", "-")
LIST = ("nft", "list", "table", "inet", "netdevops_icmp")  # the raw text of our table, for snapshots and restores


class EventClock(FakeClock):
    """A fake clock that runs ``events[t]`` the first time time reaches t seconds after start."""

    def __init__(self, events: t.Dict[float, t.Callable[[], None]]) -> None:
        super().__init__()
        self.start = self.monotonic()
        self.events = dict(events)

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        for at in sorted(self.events):
            if self.monotonic() - self.start >= at:
                self.events.pop(at)()


def cookie(tmp_path):
    return confirm.Cookie(str(tmp_path / "confirm"), TOKEN)


def test_confirmed_before_the_deadline(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    assert c.state() == "applying"
    c.mark_applied()
    clock = EventClock({3: lambda: os.unlink(c.applied)})
    outcome = confirm.wait_for_confirmation(c, 10, clock)
    assert (outcome.confirmed, outcome.rolled_back, outcome.trace) == (True, False, ["waiting", "confirmed"])
    assert 3 <= clock.monotonic() - clock.start < 4


def test_not_confirmed_expires_at_the_deadline_and_claims_the_rollback(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    clock = EventClock({})
    outcome = confirm.wait_for_confirmation(c, 10, clock)
    assert (outcome.confirmed, outcome.rolled_back, outcome.trace) == (False, False, ["waiting", "expired"])
    assert clock.monotonic() - clock.start == pytest.approx(10, abs=0.3)
    assert c.state() == "expired"
    assert not c.expire(), "a second party can never claim the same rollback"


def test_the_controllers_fresh_session_restarts_the_window_once(tmp_path):
    """A busy controller whose new session got through (``.reached``) gets a whole window from then."""
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    clock = EventClock({8: lambda: Path(c.reached).touch(), 15: lambda: os.unlink(c.applied)})
    outcome = confirm.wait_for_confirmation(c, 10, clock)
    assert (outcome.confirmed, outcome.trace) == (True, ["waiting", "reached", "confirmed"])


def test_a_reached_host_still_rolls_back_one_window_after_the_session_arrived(tmp_path):
    """A black-holed full-size read: the session arrived, the rm never does. Bounded: two windows at most."""
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    clock = EventClock({9: lambda: Path(c.reached).touch(), 12: lambda: Path(c.reached).touch()})
    outcome = confirm.wait_for_confirmation(c, 10, clock)
    assert (outcome.confirmed, outcome.trace) == (False, ["waiting", "reached", "expired"])
    assert clock.monotonic() - clock.start == pytest.approx(19, abs=0.5), "restarted once, at 9 s, not at 12 s"
    assert "full-size read did not complete" in outcome.message


def test_the_watchdog_window_restarts_when_the_session_arrives(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    restored = []
    clock = EventClock({1: c.mark_applied, 6: lambda: Path(c.reached).touch()})
    said = confirm.watch(c, 10, lambda: restored.append(clock.monotonic() - clock.start) or "restored", clock)
    assert said == "restored"
    assert restored == [pytest.approx(6 + 10 + confirm.WATCHDOG_GRACE_S, abs=0.5)]
    assert os.listdir(c.directory) == [], "the marker goes with the other cookie files"


def test_watchdog_won_the_race(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()

    def watchdog_fires():
        assert c.expire()
        c.finish("restored")

    outcome = confirm.wait_for_confirmation(c, 10, EventClock({4: watchdog_fires}))
    assert (outcome.confirmed, outcome.rolled_back) == (False, True)
    assert outcome.trace == ["waiting", "expired-by-watchdog", "rolled-back-by-watchdog"]


def test_a_confirm_that_arrives_after_expiry_fails(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    assert c.expire()
    with pytest.raises(FileNotFoundError):  # what the controller's `rm <token>.applied` sees
        os.unlink(c.applied)


def test_bad_tokens_are_refused(tmp_path):
    with pytest.raises(PolicyError, match="token '../x' must be"):
        confirm.Cookie(str(tmp_path), "../x")


# --- the whole host side through engine.execute ---------------------------------------

class Spawned:
    def __init__(self):
        self.calls = []

    def __call__(self, c, timeout_s, restore):
        self.calls.append((c, timeout_s, restore))
        return 4242


def request(tmp_path, **kw):
    values = dict(state="overridden", want=HOST, backend="nftables", state_dir=str(tmp_path / "state"),
                  confirm_timeout=10, token=TOKEN)
    values.update(kw)
    return engine.Request(**values)


class FakeNetns:
    """The namespace identity seam: a fixed key, as if always in the same namespace."""

    def lock_name(self):
        return "netns-test"

    def scope(self, state_dir, create=True):
        return "netns-test"


def seams(tmp_path, runner, clock, spawn=None):
    root = tmp_path / "proc"
    for key in ("net/ipv4/icmp_ratelimit",):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text("1000\n")
    return engine.Seams(runner=runner, clock=clock, sysctls=Sysctls(str(root)), which=lambda n: "/usr/sbin/" + n,
                        spawn=spawn, netns=FakeNetns())


def test_apply_confirmed(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    spawn = Spawned()
    c = cookie(tmp_path / "state")
    clock = EventClock({2: lambda: os.unlink(c.applied)})
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, clock, spawn))
    runner.assert_done()
    assert runner.calls[2] == (APPLY, nft.render_script(HOST))
    assert (result["changed"], result["applied"], result["rolled_back"], result["snapshot"]) == (True, True, False, 1)
    assert result["trace"] == ["waiting", "confirmed"]
    assert len(spawn.calls) == 1 and spawn.calls[0][1] == 10
    assert os.listdir(c.directory) == [], "cookies are cleaned up"
    snap = confirm.History(str(tmp_path / "state" / "nftables" / "netns-test")).load(1)
    assert snap.present is False and snap.policy.rules == ()


def test_apply_not_confirmed_is_rolled_back_by_the_module(tmp_path):
    live_after = (GOLDEN / "rfc4890-host.nft.json").read_text()
    restore = "table inet netdevops_icmp\ndelete table inet netdevops_icmp\n"
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", ""),
                         (READ, 0, live_after, ""), (LIST, 0, nft.render_table(HOST), ""), (CHECK, 0, "", ""),
                         (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({}), Spawned()))
    runner.assert_done()
    assert runner.calls[-1] == (APPLY, restore)
    assert (result["applied"], result["rolled_back"], result["confirm"]) == (False, True, "expired")
    assert result["trace"] == ["waiting", "expired", "rolled-back"]
    assert "not confirmed within 10s: restored snapshot 1" in result["msg"]


def test_the_watchdog_restores_with_a_fresh_backend(tmp_path):
    spawn = Spawned()
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    c = cookie(tmp_path / "state")
    fresh = FakeRunner([(READ, 0, (GOLDEN / "rfc4890-host.nft.json").read_text(), ""),
                        (LIST, 0, nft.render_table(HOST), ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])

    def watchdog_fires():
        _cookie, _timeout, restore = spawn.calls[0]
        assert c.expire()
        c.finish(restore())

    s = seams(tmp_path, runner, EventClock({5: watchdog_fires}), spawn)
    s.restore_runner = lambda: fresh
    result = engine.execute(request(tmp_path), s)
    fresh.assert_done()
    assert result["rolled_back"] and result["trace"][-1] == "rolled-back-by-watchdog"


def test_a_failed_apply_is_restored_at_once(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 1, "", "Error: Could not process rule"),
                         (READ, 0, EMPTY, "")])
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({}), Spawned()))
    runner.assert_done()  # the restore read the live state and found nothing to undo
    assert (result["applied"], result["rolled_back"], result["confirm"]) == (False, True, "failed")
    assert "Could not process rule" in result["msg"] and "snapshot 1 was restored" in result["msg"]
    assert os.listdir(cookie(tmp_path / "state").directory) == []


def test_check_mode_and_no_change_touch_nothing(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, "")])
    result = engine.execute(request(tmp_path, check_mode=True), seams(tmp_path, runner, EventClock({}), Spawned()))
    assert result["changed"] and result["snapshot"] is None and result["commands"][0] == "nft -f -"
    assert not (tmp_path / "state").exists()
    runner = FakeRunner([(READ, 0, (GOLDEN / "rfc4890-host.nft.json").read_text(), "")])
    spawn = Spawned()
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({}), spawn))
    assert not result["changed"] and spawn.calls == [] and result["commands"] == []


def test_without_token_applies_without_confirmation(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    spawn = Spawned()
    result = engine.execute(request(tmp_path, token=None), seams(tmp_path, runner, EventClock({}), spawn))
    assert result["applied"] and result["confirm"] == "disabled" and spawn.calls == []


def test_rollback_previous_restores_the_newest_different_snapshot(tmp_path):
    history = confirm.History(str(tmp_path / "state" / "nftables" / "netns-test"), scope="netns-test")
    history.save("nftables", False, Policy())
    history.save("nftables", True, Policy.build(HOST.rules, {"icmp_ratelimit": 1000}))
    runner = FakeRunner([(READ, 0, (GOLDEN / "rfc4890-host.nft.json").read_text(), ""),
                         (LIST, 0, nft.render_table(HOST), ""), (LIST, 0, nft.render_table(HOST), ""),
                         (CHECK, 0, "", ""), (APPLY, 0, "", "")])  # a snapshot of no table restores by its raw text
    result = engine.execute(request(tmp_path, rollback="previous", token=None), seams(tmp_path, runner, EventClock({}), None))
    assert runner.calls[-1] == (APPLY, "table inet netdevops_icmp\ndelete table inet netdevops_icmp\n")
    assert result["snapshot"] == 3 and result["after"]["rules"] == []
    with pytest.raises(PolicyError, match=r"snapshot 9 cannot be read .*available: \[1, 2, 3\]"):
        engine.execute(request(tmp_path, rollback="9"), seams(tmp_path, FakeRunner([(READ, 0, EMPTY, "")]), EventClock({}), None))


def test_history_keeps_the_newest(tmp_path):
    history = confirm.History(str(tmp_path), keep=3)
    for _attempt in range(5):
        history.save("nftables", True, HOST)
    assert history.ids() == [3, 4, 5]
    assert oct(os.stat(tmp_path / "000005.json").st_mode & 0o777) == "0o600"
    assert history.load(5).policy == HOST
    with pytest.raises(PolicyError, match="no snapshot history"):
        confirm.History(str(tmp_path / "none")).pick("previous", HOST)


FLUSH4 = ("ip", "-4", "route", "flush", "cache")
FLUSH6 = ("ip", "-6", "route", "flush", "cache")


def test_dropping_pmtud_messages_flushes_cached_path_mtus_before_the_confirmation(tmp_path):
    """Else a path MTU learnt under the old policy hides the black hole from a full-size confirm."""
    unsafe = Policy.build([Rule("ipv4", "input", 3, None, "drop"), Rule("ipv6", "input", 2, None, "drop")])
    c = cookie(tmp_path / "state")
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", ""), (FLUSH4, 0, "", ""),
                         (FLUSH6, 0, "", "")])
    seen = []
    clock = EventClock({1: lambda: seen.append(([call[0] for call in runner.calls[-2:]], os.path.exists(c.applied))),
                        2: lambda: os.unlink(c.applied)})
    result = engine.execute(request(tmp_path, want=unsafe, allow_unsafe=True, state="merged"),
                            seams(tmp_path, runner, clock, Spawned()))
    runner.assert_done()
    assert seen == [([FLUSH4, FLUSH6], True)], "flushed before the confirmation window opened"
    assert result["applied"] and result["confirm"] == "confirmed"
    assert any("(ipv4, ipv6): cached path MTUs were flushed" in warning for warning in result["warnings"])


def test_a_failed_flush_is_a_warning_not_a_failure(tmp_path):
    unsafe = Policy.build([Rule("ipv4", "input", 3, 4, "drop")])
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", ""),
                         (FLUSH4, 127, "", "ip: command not found")])
    result = engine.execute(request(tmp_path, want=unsafe, allow_unsafe=True, state="merged", token=None),
                            seams(tmp_path, runner, EventClock({}), Spawned()))
    assert result["applied"]
    assert any("could not flush cached path MTUs" in warning for warning in result["warnings"])


def test_a_policy_that_lets_pmtud_through_leaves_the_route_cache_alone(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path, token=None), seams(tmp_path, runner, EventClock({}), Spawned()))
    runner.assert_done()
    assert result["applied"]
    assert not [warning for warning in result["warnings"] if "path MTU" in warning]


# --- the watchdog's window and the lock ---------------------------------------------------

def test_the_watchdog_window_opens_when_the_cookie_becomes_applied(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    restored = []
    clock = EventClock({50: c.mark_applied})  # a slow apply (or a long wait before it)
    said = confirm.watch(c, 10, lambda: restored.append(clock.monotonic() - clock.start) or "restored", clock)
    assert said == "restored"
    assert restored == [pytest.approx(50 + 10 + confirm.WATCHDOG_GRACE_S, abs=0.5)]
    assert os.listdir(c.directory) == [], "nobody read the message: the watchdog cleaned up by itself"


def test_the_watchdog_rolls_back_a_stuck_apply_and_the_module_learns_it(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    clock = EventClock({})
    restored = []
    said = confirm.watch(c, 10, lambda: restored.append(clock.monotonic() - clock.start) or "restored (2 commands)",
                         clock)
    assert said == "restored (2 commands)"
    assert restored == [pytest.approx(confirm.APPLY_LIMIT_S, abs=0.5)]
    assert not c.mark_applied(), "the apply finished too late: the window never opens"


def test_the_module_reads_the_watchdog_message_for_a_stuck_apply(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    assert c.expire()
    c.finish("restored (3 commands)")
    outcome = confirm.watchdog_took_over(c, EventClock({}))
    assert (outcome.confirmed, outcome.rolled_back) == (False, True)
    assert outcome.message == "the apply took longer than %gs; the watchdog restored the snapshot " \
                              "(restored (3 commands))" % confirm.APPLY_LIMIT_S


@pytest.mark.parametrize("ending, expected", [("confirm", "confirmed"), ("module-expires", "expired")])
def test_the_watchdog_steps_aside_when_the_run_ends_otherwise(tmp_path, ending, expected):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    end = (lambda: os.unlink(c.applied)) if ending == "confirm" else c.expire
    said = confirm.watch(c, 10, lambda: pytest.fail("must not restore"), EventClock({3: end}))
    assert said == expected


def test_a_failing_restore_is_reported_and_the_cookies_still_go(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()

    def broken():
        raise RuntimeError("nft: command not found")

    clock = EventClock({})
    seen = []
    clock.events[16] = lambda: seen.append(c.result())
    assert confirm.watch(c, 10, broken, clock) == "watchdog failed to restore: nft: command not found"
    assert seen == ["watchdog failed to restore: nft: command not found"]
    assert os.listdir(c.directory) == []


def test_tokens_are_checked_with_a_full_match(tmp_path):
    for token in (TOKEN + "\n", "ABCDEF0123", "0123abc", "a" * 65, None):
        with pytest.raises(PolicyError, match="must be 8-64 lowercase hex digits"):
            confirm.Cookie(str(tmp_path), token)


def test_a_reused_token_is_refused(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    with pytest.raises(PolicyError, match=r"cookie .*\.applying already exists"):
        cookie(tmp_path).arm()


def test_the_default_lock_wait_outlasts_a_holders_confirmation_window():
    assert confirm.lock_wait_s(0) == 30 + confirm.LOCK_MARGIN_S
    assert confirm.lock_wait_s(120) == 120 + confirm.LOCK_MARGIN_S


class LockProbe:
    """Wraps a runner; records, at every command, whether another opener could take the lock."""

    def __init__(self, inner, lock_path):
        self.inner, self.lock_path, self.held = inner, lock_path, []

    def run(self, argv, stdin=None, check=True):
        fd = os.open(self.lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held.append(False)
        except BlockingIOError:
            self.held.append(True)
        finally:
            os.close(fd)
        return self.inner.run(argv, stdin, check)


def lock_path(tmp_path):
    return str(tmp_path / "state" / "locks" / "netns-test.lock")


def test_a_changing_run_holds_the_lock_from_the_read_to_the_end(tmp_path):
    runner = LockProbe(FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")]), lock_path(tmp_path))
    spawn = Spawned()
    c = cookie(tmp_path / "state")
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({2: lambda: os.unlink(c.applied)}),
                                                     spawn))
    assert result["confirm"] == "confirmed" and runner.held == [True, True, True]
    assert spawn.calls[0][0].lock_fd >= 0, "the watchdog is handed the lock"
    assert (tmp_path / "state" / "locks" / "netns-test.lock").read_text() == \
        "pid %d, its commit-confirm watchdog pid 4242\n" % os.getpid()
    fd = os.open(lock_path(tmp_path), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at the end
    os.close(fd)


def test_a_run_that_cannot_get_the_lock_reads_and_changes_nothing(tmp_path):
    os.makedirs(os.path.dirname(lock_path(tmp_path)), mode=0o700)
    fd = os.open(lock_path(tmp_path), os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, b"pid 777\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    runner = FakeRunner([])
    try:
        with pytest.raises(PolicyError, match=r"another policy run on this host \(pid 777\) has held .* for more than "
                                              r"5s, so this run changed nothing"):
            engine.execute(request(tmp_path, lock_timeout=5), seams(tmp_path, runner, EventClock({}), Spawned()))
    finally:
        os.close(fd)
    assert runner.calls == []


def test_gathered_and_check_mode_take_no_lock_and_write_nothing(tmp_path):
    runner = FakeRunner([(READ, 0, EMPTY, ""), (READ, 0, EMPTY, "")])
    s = seams(tmp_path, runner, EventClock({}), Spawned())
    assert engine.execute(request(tmp_path, state="gathered"), s)["gathered"]["rules"] == []
    assert engine.execute(request(tmp_path, check_mode=True), s)["changed"]
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("make_bad", ["file", "symlink", "world-writable"])
def test_an_unusable_state_dir_fails_before_anything_is_read_or_written(tmp_path, make_bad):
    state = tmp_path / "state"
    if make_bad == "file":
        state.write_text("")
    elif make_bad == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        os.symlink(tmp_path / "elsewhere", state)
    else:
        state.mkdir()
        state.chmod(0o777)
    runner = FakeRunner([])
    with pytest.raises(PolicyError, match=r"policy state_dir: .*state"):
        engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({}), Spawned()))
    assert runner.calls == []
    assert not (tmp_path / "elsewhere").exists() or os.listdir(tmp_path / "elsewhere") == []


def test_the_watchdog_outcome_removes_every_cookie(tmp_path):
    spawn = Spawned()
    runner = FakeRunner([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    c = cookie(tmp_path / "state")

    def watchdog_fires():
        assert c.expire()
        c.finish("restored (1 commands)")

    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({5: watchdog_fires}), spawn))
    assert result["rolled_back"] and "the watchdog restored the snapshot (restored (1 commands))" in result["msg"]
    assert os.listdir(c.directory) == []


def test_a_stuck_apply_that_the_watchdog_rolled_back_is_reported(tmp_path):
    c = cookie(tmp_path / "state")

    class StuckApply(FakeRunner):
        def run(self, argv, stdin=None, check=True):
            if tuple(argv) == APPLY:  # the watchdog's APPLY_LIMIT_S passes while nft hangs
                assert c.expire()
                c.finish("restored (1 commands)")
            return super().run(argv, stdin, check)

    runner = StuckApply([(READ, 0, EMPTY, ""), (CHECK, 0, "", ""), (APPLY, 0, "", "")])
    result = engine.execute(request(tmp_path), seams(tmp_path, runner, EventClock({}), Spawned()))
    assert (result["applied"], result["rolled_back"]) == (False, True)
    assert result["trace"] == ["expired-by-watchdog", "rolled-back-by-watchdog"]
    assert "the apply took longer than" in result["msg"]
    assert os.listdir(c.directory) == []


def test_the_real_watchdog_keeps_the_lock_until_it_has_restored(tmp_path, monkeypatch):
    """A real double fork: the module's lock descriptor is closed, the watchdog still holds the lock."""
    monkeypatch.setattr(confirm, "WATCHDOG_GRACE_S", 0.0)
    path = str(tmp_path / "host.lock")
    lock = statefiles.StateLock(path, 0, FakeClock()).acquire()
    c = confirm.Cookie(str(tmp_path / "confirm"), TOKEN, lock.fd)
    c.arm()
    marker = tmp_path / "restored"
    pid = confirm.spawn_watchdog(c, 1.0, lambda: (marker.write_text("yes"), "restored (0 commands)")[1])
    lock.release()
    assert pid > 0
    with pytest.raises(PolicyError, match="another policy run"):
        statefiles.StateLock(path, 0, FakeClock()).acquire()
    assert c.mark_applied()
    outcome = confirm.wait_for_confirmation(c, 30, confirm.SystemClock(), poll_s=0.05, done_wait_s=10)
    assert outcome.rolled_back and "restored (0 commands)" in outcome.message
    assert marker.read_text() == "yes"
    c.cleanup()
    statefiles.StateLock(path, 10, confirm.SystemClock()).acquire().release()  # the watchdog is gone


def test_a_check_mode_rollback_before_any_history_writes_nothing(tmp_path):
    class Fresh(FakeNetns):
        def scope(self, state_dir, create=True):
            assert not create, "check mode must not create a namespace marker"
            return None

    s = seams(tmp_path, FakeRunner([(READ, 0, EMPTY, "")]), EventClock({}), None)
    s.netns = Fresh()
    with pytest.raises(PolicyError, match="no snapshot history"):
        engine.execute(request(tmp_path, rollback="previous", check_mode=True), s)
    assert not (tmp_path / "state").exists()


def test_a_watchdog_whose_module_is_dead_cleans_up_at_once(tmp_path):
    c = cookie(tmp_path)
    c.arm()
    c.mark_applied()
    gone = subprocess.Popen(["true"])
    gone.wait()
    c.owner_pid = gone.pid  # the module was killed: nobody will read the message
    clock = EventClock({})
    assert confirm.watch(c, 10, lambda: "restored", clock) == "restored"
    assert clock.monotonic() - clock.start < 10 + confirm.WATCHDOG_GRACE_S + 1
    assert os.listdir(c.directory) == []
