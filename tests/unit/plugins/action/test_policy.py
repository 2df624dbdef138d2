"""The policy action plugin's commit-confirm protocol against a scripted host.

The fake host answers ``_execute_module`` (the module started async, async_status) and
``_low_level_execute_command`` (the full-size read and the confirming ``rm``) the way a
real host does.
"""
from __future__ import annotations

import types
import typing as t

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.netdevops.icmp.plugins.action import policy as policy_action
from ansible_collections.netdevops.icmp.tests.unit.fakes.clock import FakeClock


class FakeConnection:
    def __init__(self) -> None:
        self.resets = 0
        self._shell = types.SimpleNamespace(tmpdir="/tmp/x")

    def reset(self) -> None:
        self.resets += 1


class ScriptedAction(policy_action.ActionModule):
    """The plugin with its two remote calls answered by a script."""

    def __init__(self, args, check_mode=False, rm_results=(), finished_after=0, final=None, pulls=()):
        task = types.SimpleNamespace(args=args, async_val=0, check_mode=check_mode, action="netdevops.icmp.policy",
                                     environment=[])
        super().__init__(task, FakeConnection(), types.SimpleNamespace(check_mode=check_mode), None, None, None)
        self.rm_results = list(rm_results)
        self.pulls = list(pulls)  # bytes each read delivers (default: all it asked for)
        self.finished_after = finished_after
        self.final = final or {"changed": True, "applied": True, "confirm": "confirmed"}
        self.module_calls: t.List[t.Tuple[str, t.Dict[str, t.Any], bool, int]] = []
        self.commands: t.List[str] = []

    def get_shell_option(self, option, default=None):
        return default

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        self.module_calls.append((module_name or "policy", dict(module_args or {}), wrap_async, self._task.async_val))
        if module_name is None and wrap_async:
            return {"ansible_job_id": "j1", "started": 1, "finished": 0}
        if module_name is None:
            return {"changed": False, "gathered": {"rules": []}}
        if module_args.get("mode") == "cleanup":
            return {}
        self.finished_after -= 1
        if self.finished_after >= 0:
            return {"finished": 0}
        return dict(self.final, finished=1, ansible_job_id="j1", stdout="", results_file="/x")

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None, executable=None, encoding_errors="surrogate_then_replace", chdir=None):
        self.commands.append(cmd)
        if cmd.startswith("test -e "):
            size = int(cmd.split("head -c ")[1].split()[0])
            delivered = self.pulls.pop(0) if self.pulls else size
            return {"rc": 0, "stdout": "x" * delivered, "stderr": ""}
        outcome: t.Union[int, Exception] = self.rm_results.pop(0) if self.rm_results else 0
        return _scripted_rc(outcome)


def _scripted_rc(outcome):
    """A scripted result of the cleanup command: an exit code, or an error to raise."""
    if isinstance(outcome, int):
        return {"rc": outcome, "stdout": "", "stderr": ""}
    raise outcome


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(policy_action.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(policy_action.time, "sleep", clock.sleep)
    return clock


def test_check_mode_and_read_only_states_run_the_module_directly():
    for action in (ScriptedAction({"state": "merged"}, check_mode=True), ScriptedAction({"state": "gathered"}),
                   ScriptedAction({"state": "merged", "confirm_timeout": 0})):
        result = action.run(task_vars={})
        assert [call[2] for call in action.module_calls] == [False]
        assert "_confirm_token" not in action.module_calls[0][1]
        assert action.commands == [] and action._connection.resets == 0
        assert "changed" in result


def test_confirms_over_a_reset_connection_once_the_cookie_exists():
    action = ScriptedAction({"state": "overridden", "confirm_timeout": 20, "state_dir": "/srv/pol"},
                            rm_results=[1, AnsibleConnectionFailure("refused"), 0], finished_after=1)
    result = action.run(task_vars={})
    start = action.module_calls[0]
    token = start[1]["_confirm_token"]
    assert start[2] is True and start[3] == 20 + policy_action.ASYNC_MARGIN_S, "started through the async wrapper"
    assert action._task.async_val == 0, "the executor must not poll the task itself"
    assert len(token) == 32 and int(token, 16) >= 0
    assert action._connection.resets == 1
    assert action.commands[-1] == "rm /srv/pol/confirm/%s.applied" % token
    assert len([c for c in action.commands if c.startswith("rm ")]) == 3, "retried after rc 1 and a refused connection"
    pull = "test -e /srv/pol/confirm/%s.applied && LC_ALL=C tr -dc a-z </dev/urandom | head -c 65536" % token
    assert action.commands[-2] == pull, "a full-size read through the new rules before each rm"
    assert [c[0] for c in action.module_calls[1:]] == ["ansible.builtin.async_status"] * 2 + ["ansible.builtin.async_status"]
    assert action.module_calls[-1][1] == {"jid": "j1", "_async_dir": "~/.ansible_async", "mode": "cleanup"}
    assert result["applied"] is True and "ansible_job_id" not in result and "finished" not in result
    assert "results_file" not in result


def test_no_confirmation_lets_the_host_decide(fake_time):
    action = ScriptedAction({"state": "merged", "confirm_timeout": 5},
                            rm_results=[AnsibleConnectionFailure("timeout")] * 100, finished_after=10,
                            final={"failed": True, "rolled_back": True, "applied": False, "msg": "not confirmed"})
    result = action.run(task_vars={})
    assert result["rolled_back"] is True and result["failed"] is True
    assert 5 <= fake_time.monotonic() - 1.0 <= 5 + 30 + 2


def test_internal_and_async_options_are_refused():
    with pytest.raises(AnsibleActionFail, match="_confirm_token is internal"):
        ScriptedAction({"_confirm_token": "x"}).run(task_vars={})


def test_a_stalled_full_size_read_is_not_a_confirmation():
    """A PMTUD black hole lets small commands through but not the read: no rm, the host decides."""
    action = ScriptedAction({"state": "merged", "confirm_timeout": 3}, pulls=[100] * 10, finished_after=4,
                            final={"failed": True, "rolled_back": True, "applied": False, "msg": "not confirmed"})
    result = action.run(task_vars={})
    assert result["rolled_back"] is True
    assert action.commands and not [c for c in action.commands if c.startswith("rm ")]


def test_confirm_bytes_zero_confirms_with_rm_only():
    action = ScriptedAction({"state": "merged", "confirm_timeout": 5, "confirm_bytes": 0}, finished_after=1)
    assert action.run(task_vars={})["applied"] is True
    assert [c.split()[0] for c in action.commands] == ["rm"]
