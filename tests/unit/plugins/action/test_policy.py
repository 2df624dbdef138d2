"""The policy action plugin's commit-confirm protocol against a simulated host.

The plugin's shell commands run for real (``sh -c``) against a temporary directory that
stands in for the host: the cookie and the async results file are real files. A thread
plays the background module: it arms the cookie, applies after a moment, waits for the
confirmation (the cookie removed) and writes its result the way the async wrapper does,
or expires the cookie and writes a rollback. Faults (refused connections, short reads)
are injected per command kind.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import types
import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.netdevops.icmp.plugins.action import policy as policy_action
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import confirm, defaults


class FakeConnection:
    transport = "ssh"

    def __init__(self) -> None:
        self.resets = 0
        self._shell = types.SimpleNamespace(tmpdir=None)

    def reset(self) -> None:
        self.resets += 1


class BackgroundModule(threading.Thread):
    """The module under the async wrapper: cookie protocol and results file, in real files."""

    def __init__(self, cookie_dir: Path, token: str, job_file: Path, apply_after_s: float, timeout_s: float,
                 cookie: bool = True, start_late_s: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.base = cookie_dir / token
        self.job_file, self.apply_after_s, self.timeout_s, self.cookie = job_file, apply_after_s, timeout_s, cookie
        self.start_late_s = start_late_s  # a loaded host: the wrapper returned before its job wrote the file
        if not start_late_s:
            self._write({"started": True, "finished": False, "ansible_job_id": "j42"})
        if cookie:
            cookie_dir.mkdir(parents=True, exist_ok=True)
            Path(str(self.base) + ".applying").write_text("1\n")

    def _write(self, data: t.Dict[str, t.Any]) -> None:
        tmp = Path(str(self.job_file) + ".tmp")
        tmp.write_text(json.dumps(data))
        os.rename(tmp, self.job_file)

    def run(self) -> None:
        if self.start_late_s:
            time.sleep(self.start_late_s)
            self._write({"started": True, "finished": False, "ansible_job_id": "j42"})
        time.sleep(self.apply_after_s)
        if not self.cookie:
            self._write({"changed": False, "applied": False, "msg": "nothing to do"})
            return
        applied = Path(str(self.base) + ".applied")
        os.rename(str(self.base) + ".applying", applied)
        deadline = time.monotonic() + self.timeout_s
        while applied.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.reached = Path(str(self.base) + ".reached").exists()
        Path(str(self.base) + ".reached").unlink(missing_ok=True)  # as Cookie.cleanup does
        try:
            os.rename(applied, str(self.base) + ".expired")
        except FileNotFoundError:
            self._write({"changed": True, "applied": True, "rolled_back": False, "confirm": "confirmed",
                         "invocation": {"module_args": {"_confirm_token": "x", "_confirm_marker": "y",
                                                        "confirm_timeout": 99}},
                         "warnings": ["a warning from the host"]})
            return
        os.unlink(str(self.base) + ".expired")
        self._write({"changed": True, "failed": True, "applied": False, "rolled_back": True, "confirm": "expired",
                     "msg": "not confirmed within %gs: restored snapshot 3" % self.timeout_s})


class SimulatedAction(policy_action.ActionModule):
    """The plugin with ``_execute_module`` answered here and its shell commands run on a temp 'host'."""

    def __init__(self, tmp_path: Path, args: t.Dict[str, t.Any], check_mode: bool = False,
                 plan: t.Optional[t.Dict[str, t.Any]] = None, apply_after_s: float = 0.05,
                 host_timeout_s: float = 1.0, cookie: bool = True, start_late_s: float = 0.0,
                 faults: t.Optional[t.Dict[str, t.List[t.Any]]] = None) -> None:
        task = types.SimpleNamespace(args=args, async_val=0, check_mode=check_mode, diff=False,
                                     action="netdevops.icmp.policy", environment=[])
        super().__init__(task, FakeConnection(), types.SimpleNamespace(check_mode=check_mode), None, None, None)
        self.host = tmp_path
        self.plan = plan if plan is not None else {"changed": True, "commands": ["nft -f -"]}
        self.apply_after_s, self.host_timeout_s, self.cookie = apply_after_s, host_timeout_s, cookie
        self.start_late_s = start_late_s
        self.faults = faults or {}
        self.module_calls: t.List[t.Dict[str, t.Any]] = []
        self.commands: t.List[t.Tuple[str, str]] = []
        self.module: t.Optional[BackgroundModule] = None

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        self.module_calls.append({"args": dict(module_args), "check_mode": self._task.check_mode,
                                  "async": wrap_async, "async_val": self._task.async_val})
        if not wrap_async:
            return dict(self.plan) if self._task.check_mode else {"changed": False, "ran": "directly"}
        job_file = self.host / "async" / "j42"
        job_file.parent.mkdir(exist_ok=True)
        self.module = BackgroundModule(Path(module_args["state_dir"]) / "confirm", module_args["_confirm_token"],
                                       job_file, self.apply_after_s, self.host_timeout_s, self.cookie,
                                       self.start_late_s)
        self.module.start()
        return {"ansible_job_id": "j42", "started": True, "finished": False, "results_file": str(job_file)}

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None, executable=None,
                                   encoding_errors="surrogate_then_replace", chdir=None):
        kind = _kind(cmd)
        self.commands.append((kind, cmd))
        fault = self.faults.get(kind, [])
        if fault:
            outcome = fault.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            if callable(outcome):
                return outcome(self._run_sh(cmd))
            if isinstance(outcome, dict):
                return outcome
        return self._run_sh(cmd)

    def _run_sh(self, cmd: str) -> t.Dict[str, t.Any]:
        proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30, check=False,
                              env={"HOME": str(self.host), "PATH": os.environ["PATH"]})
        return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    def kinds(self) -> t.List[str]:
        return [kind for kind, _cmd in self.commands]


def _kind(cmd: str) -> str:
    for marker, kind in (("echo applied", "wait"), ("echo gone", "read"), ("if rm", "confirm"),
                         ("echo running", "collect"), ("rm -f", "cleanup")):
        if marker in cmd:
            return kind
    raise AssertionError("unexpected command %r" % cmd)


@pytest.fixture(autouse=True)
def quick_host(monkeypatch):
    """Short host-side waits, so a 'pending' long poll costs a fraction of a second."""
    monkeypatch.setattr(policy_action, "WAIT_SLICE_S", 0.4)
    monkeypatch.setattr(policy_action, "RETRY_FIRST_S", 0.01)
    monkeypatch.setattr(policy_action, "RETRY_MAX_S", 0.04)


def _args(tmp_path: Path, **extra: t.Any) -> t.Dict[str, t.Any]:
    return dict({"state": "overridden", "config": {"profile": "rfc4890-host"}, "confirm_timeout": 5,
                 "state_dir": str(tmp_path / "state")}, **extra)


def test_check_mode_read_only_states_and_no_timeout_run_the_module_directly(tmp_path):
    for action in (SimulatedAction(tmp_path, {"state": "merged"}, check_mode=True),
                   SimulatedAction(tmp_path, {"state": "gathered"}),
                   SimulatedAction(tmp_path, {"state": "merged", "confirm_timeout": 0}),
                   SimulatedAction(tmp_path, {"state": "merged", "confirm_timeout": "soon"})):
        result = action.run(task_vars={})
        assert [call["async"] for call in action.module_calls] == [False]
        assert not set(policy_action.INTERNAL) & set(action.module_calls[0]["args"])
        assert action.commands == [] and action._connection.resets == 0
        assert "changed" in result and "commit_confirm" not in result


def test_an_empty_plan_returns_at_once_without_async_or_confirm(tmp_path):
    plan = {"changed": False, "commands": [], "snapshot": None, "before": {"rules": []}}
    action = SimulatedAction(tmp_path, _args(tmp_path), plan=plan)
    result = action.run(task_vars={})
    assert [(call["check_mode"], call["async"]) for call in action.module_calls] == [(True, False)]
    assert action._task.check_mode is False, "check mode is only borrowed for the plan"
    assert action.commands == [] and action._connection.resets == 0 and action.module is None
    assert result["changed"] is False and result["snapshot"] is None
    assert result["commit_confirm"]["ran"] is False and result["commit_confirm"]["round_trips"] == 0


def test_bad_input_fails_in_the_plan_and_starts_nothing(tmp_path):
    action = SimulatedAction(tmp_path, _args(tmp_path), plan={"failed": True, "msg": "burst 0 must be 1-10000"})
    result = action.run(task_vars={})
    assert result["failed"] is True and result["msg"] == "burst 0 must be 1-10000"
    assert len(action.module_calls) == 1 and action.commands == [] and action.module is None


def test_a_change_is_confirmed_in_four_round_trips(tmp_path):
    action = SimulatedAction(tmp_path, _args(tmp_path))
    result = action.run(task_vars={})
    plan_call, start = action.module_calls
    assert plan_call["check_mode"] is True and "_confirm_token" not in plan_call["args"]
    token = start["args"]["_confirm_token"]
    assert start["async"] is True and start["check_mode"] is False
    assert start["async_val"] == int(policy_action.host_bound_s(start["args"]["confirm_timeout"])
                                     + policy_action.ASYNC_MARGIN_S) and action._task.async_val == 0
    assert defaults.TOKEN_RE.fullmatch(token) and start["args"]["_confirm_marker"] == defaults.confirm_marker(token)
    assert action.kinds() == ["wait", "read", "confirm", "cleanup"], "one long poll, no module run per poll"
    assert action.module is not None and action.module.reached, "the read told the host its session got through"
    assert action._connection.resets == 1
    read, confirm = action.commands[1][1], action.commands[2][1]
    assert "head -c 65536" in read and "%s/state/confirm/%s.applied" % (tmp_path, token) in read
    assert "(set -C; : >%s/state/confirm/%s.reached)" % (tmp_path, token) in read
    assert [kind for kind, _ms in result["commit_confirm"]["trips"]] == ["wait", "reset", "read", "confirm", "cleanup"]
    assert confirm.startswith("if rm %s/state/confirm/%s.applied " % (tmp_path, token))
    assert result["applied"] is True and result["confirm"] == "confirmed" and result["changed"] is True
    # ansible-core 2.21 keeps warnings as WarningSummary objects (event.msg); older cores as strings
    warnings = [getattr(getattr(w, "event", None), "msg", w) for w in result["warnings"]]
    assert warnings == ["a warning from the host"], "the results file is parsed like module output"
    assert result["invocation"]["module_args"] == {"confirm_timeout": 5}, "token, marker and window stay internal"
    assert result["commit_confirm"]["ran"] is True and result["commit_confirm"]["controller_confirmed"] is True
    assert result["commit_confirm"]["round_trips"] == 4 and 0 <= result["commit_confirm"]["confirm_ms"] < 5000
    assert not (tmp_path / "async" / "j42").exists(), "the results file is cleaned up"
    assert not list((tmp_path / "state" / "confirm").iterdir())


def test_a_results_file_not_written_yet_means_starting_not_finished(tmp_path):
    """Under load the async wrapper returns before its job wrote the results file: keep waiting."""
    action = SimulatedAction(tmp_path, _args(tmp_path), start_late_s=0.6)
    result = action.run(task_vars={})
    assert result["confirm"] == "confirmed" and result["commit_confirm"]["controller_confirmed"] is True
    assert action.kinds()[-3:] == ["read", "confirm", "cleanup"] and action.kinds().count("wait") >= 2


def test_the_window_grows_with_what_the_planning_run_cost(tmp_path):
    """A slow planning run (a busy controller, many forks, a slow link) widens the host's window."""
    for name in ("fast", "slow"):
        (tmp_path / name).mkdir()
    fast = SimulatedAction(tmp_path / "fast", _args(tmp_path / "fast"))
    assert fast.run(task_vars={})["commit_confirm"]["window_s"] in (5, 6, 7)
    slow = SimulatedAction(tmp_path / "slow", _args(tmp_path / "slow"))
    planned = slow._plan_only

    def slow_plan(args, task_vars):
        time.sleep(1.2)
        return planned(args, task_vars)

    slow._plan_only = slow_plan  # type: ignore[method-assign]
    result = slow.run(task_vars={})
    start = slow.module_calls[-1]
    window = result["commit_confirm"]["window_s"]
    assert start["args"]["confirm_timeout"] == window and window in (8, 9), "5 + 2 x (1.2 s and a little), rounded up"
    assert start["async_val"] == int(policy_action.host_bound_s(window) + policy_action.ASYNC_MARGIN_S)
    assert result["invocation"]["module_args"]["confirm_timeout"] == 5, "the user's value, not the window"
    assert policy_action.effective_window_s(30, 0.2) == 31 and policy_action.effective_window_s(30, 1e6) == 330
    assert policy_action.effective_window_s(30, 20.0) == 70


def test_the_waits_cover_the_hosts_lock_wait_apply_and_window():
    """A healthy host may wait for another run's lock and apply slowly before its window opens."""
    for timeout in (5, 30, 300):
        bound = policy_action.host_bound_s(timeout)
        assert bound >= confirm.lock_wait_s(timeout) + confirm.APPLY_LIMIT_S + timeout
    # A run told to wait longer for the lock (lock_timeout) is waited for that much longer.
    assert policy_action.host_bound_s(30, 600) - policy_action.host_bound_s(30, 0) == 600
    assert policy_action.host_bound_s(30, None) == policy_action.host_bound_s(30, int(confirm.lock_wait_s(30)))


def test_lock_timeout_reaches_the_async_limit(tmp_path):
    args = _args(tmp_path)
    args["lock_timeout"] = 900
    action = SimulatedAction(tmp_path, args)
    action.run(task_vars={})
    start = action.module_calls[-1]
    assert start["args"]["lock_timeout"] == 900
    assert start["async_val"] == int(policy_action.host_bound_s(start["args"]["confirm_timeout"], 900)
                                     + policy_action.ASYNC_MARGIN_S)


def test_the_reset_happens_once_the_rules_are_live(tmp_path):
    """The wait spans several long polls; the fresh session is opened only after them."""
    action = SimulatedAction(tmp_path, _args(tmp_path), apply_after_s=1.0)
    resets: t.Dict[str, t.List[int]] = {"wait": [], "confirm": []}
    original = action._low_level_execute_command

    def spy(cmd, **kwargs):
        resets.setdefault(_kind(cmd), []).append(action._connection.resets)
        return original(cmd, **kwargs)

    action._low_level_execute_command = spy  # type: ignore[method-assign]
    assert action.run(task_vars={})["confirm"] == "confirmed"
    assert len(resets["wait"]) >= 2 and set(resets["wait"]) == {0}
    assert resets["read"] == [1] and resets["confirm"] == [1]
    assert action.kinds()[-3:] == ["read", "confirm", "cleanup"]


def test_a_stalled_full_size_read_is_not_a_confirmation(tmp_path):
    """A PMTUD black hole lets small commands through but not the read: no rm, the host rolls back."""
    def stalled(answer: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """Of the full-size read only 100 bytes arrive (the rest is black-holed)."""
        if answer["rc"] == 0:
            answer["stdout"] = answer["stdout"][:100]
        return answer

    action = SimulatedAction(tmp_path, _args(tmp_path), host_timeout_s=0.5, faults={"read": [stalled] * 1000})
    result = action.run(task_vars={})
    assert "confirm" not in action.kinds()
    assert result["rolled_back"] is True and result["failed"] is True and result["applied"] is False
    assert result["commit_confirm"]["controller_confirmed"] is False and result["commit_confirm"]["confirm_ms"] is None
    assert action.kinds()[-2:] == ["collect", "cleanup"] and action.kinds().count("read") >= 2


def test_refused_connections_are_retried_with_back_off(tmp_path, monkeypatch):
    sleeps: t.List[float] = []
    real_wait = policy_action.Backoff.wait

    def recording_wait(backoff: policy_action.Backoff, deadline: float) -> None:
        sleeps.append(backoff.delay_s)
        real_wait(backoff, deadline)

    monkeypatch.setattr(policy_action.Backoff, "wait", recording_wait)
    refused = AnsibleConnectionFailure("ssh: connect to host h1 port 22: Connection refused")
    action = SimulatedAction(tmp_path, _args(tmp_path), faults={"read": [refused] * 3})
    result = action.run(task_vars={})
    assert result["confirm"] == "confirmed"
    assert action.kinds() == ["wait", "read", "read", "read", "read", "confirm", "cleanup"]
    assert sleeps == pytest.approx([0.01, 0.02, 0.04])


def test_a_job_that_ends_without_applying_is_collected_from_the_wait(tmp_path):
    """Another run made the change between plan and apply: the module ends at once, no cookie."""
    action = SimulatedAction(tmp_path, _args(tmp_path), cookie=False)
    result = action.run(task_vars={})
    assert action.kinds() == ["wait", "cleanup"] and action._connection.resets == 0
    assert result["changed"] is False and result["msg"] == "nothing to do"


def test_confirm_bytes_zero_confirms_with_the_rm_only(tmp_path):
    action = SimulatedAction(tmp_path, _args(tmp_path, confirm_bytes=0))
    assert action.run(task_vars={})["confirm"] == "confirmed"
    assert action.kinds() == ["wait", "confirm", "cleanup"]
    assert not [cmd for _kind, cmd in action.commands if "urandom" in cmd]


def test_internal_options_async_and_unsafe_paths_are_refused(tmp_path):
    for name in ("_confirm_token", "_confirm_marker"):
        with pytest.raises(AnsibleActionFail, match="%s is internal" % name):
            SimulatedAction(tmp_path, _args(tmp_path, **{name: "ab" * 16})).run(task_vars={})
    action = SimulatedAction(tmp_path, _args(tmp_path))
    action._task.async_val = 100
    with pytest.raises(AnsibleActionFail, match="does not support async|async is not supported"):
        action.run(task_vars={})
    action = SimulatedAction(tmp_path, _args(tmp_path, state_dir="/srv/x; reboot"))
    with pytest.raises(AnsibleActionFail, match=r"state_dir '/srv/x; reboot' cannot be used"):
        action.run(task_vars={})
    assert action.module_calls == [] and action.commands == []


def test_a_missing_results_file_is_an_error_not_a_guess(tmp_path):
    vanished = {"rc": 0, "stdout": "finished\n", "stderr": ""}
    action = SimulatedAction(tmp_path, _args(tmp_path), faults={"wait": [vanished]})
    with pytest.raises(AnsibleActionFail, match="results file .* is missing or empty"):
        action.run(task_vars={})


@pytest.mark.parametrize("path, expected", [
    ("/var/lib/x", "/var/lib/x"), ("~/.ansible_async/j1", "~/.ansible_async/j1"),
    ("/srv/a b", "'/srv/a b'")])
def test_remote_paths_are_quoted_and_home_stays_expandable(tmp_path, path, expected):
    assert policy_action.remote_path(path) == expected
    (tmp_path / "job").write_text('{"changed": false}')
    script = policy_action.collect_script("~/job", 0)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True,
                          env={"HOME": str(tmp_path), "PATH": os.environ["PATH"]})
    assert proc.stdout == 'finished 0\n{"changed": false}'


def test_the_paths_pattern_is_a_full_match():
    for bad in ("/x\n", "/x\nrm -rf /", "relative/dir", "~user/x", "/x y", "/$(id)", "/x;y"):
        assert not policy_action.REMOTE_PATH_RE.fullmatch(bad), bad
    for good in ("/var/lib/netdevops_icmp/policy", "~/state", "/tmp/pytest-of-root/p-1/test_x0/state/h1"):
        assert policy_action.REMOTE_PATH_RE.fullmatch(good), good
