# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``netdevops.icmp.policy``: commit-confirm that stays cheap at fleet scale.

1. Plan first. A changing run with ``confirm_timeout > 0`` first runs the module
   synchronously in check mode with the same options. When nothing would change (or
   the input is bad), that result is returned at once: no snapshot, no background job,
   no confirmation. A repeat apply to an unchanged host costs one planning run.
2. Otherwise the module runs in the background through the async wrapper with a fresh
   token and its marker, arms the cookie ``<state_dir>/confirm/<token>.applying`` and
   renames it to ``.applied`` once the new rules are live. Its window is the effective
   one (``effective_window_s``): ``confirm_timeout`` plus twice the planning run's wall time, so
   the window scales with what a round of work with this host costs now (forks, CPU, SSH
   latency), and a busy controller does not roll back a healthy host.
3. One shell command long-polls on the host (up to ``WAIT_SLICE_S``) until the cookie
   is ``.applied`` or the job's results file says the job ended (then it prints the
   result). The controller does not poll once a second and never runs a module to ask.
4. The connection is reset, so what follows goes through a session opened under the new
   rules. One command reads ``confirm_bytes`` random letters (SSH compression cannot
   shrink them): the host must send full-size packets, so a policy that black-holes Path
   MTU Discovery on the way back stalls here. Only when every byte arrived does the next
   command ``rm`` the cookie, which is the confirmation. The two cannot be one command:
   the host cannot know that its bytes arrived, only the controller can.
5. That same command waits on the host for the job to end and prints its results file;
   a last ``rm -f`` removes the file. If the read never completes, the host restores the
   snapshot at its deadline; a stalled read then completes, the ``rm`` finds no cookie,
   and the plugin reports the host's rollback.
"""
from __future__ import annotations

import inspect
import math
import re
import secrets
import shlex
import time
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:
    from ansible.vars.clean import remove_internal_keys
except ImportError:  # ansible-core 2.21+: the parsed result (a UnifiedTaskResult) cleans itself
    remove_internal_keys = None  # type: ignore[assignment]

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import confirm, defaults

display = Display()

CHANGING = ("merged", "replaced", "overridden", "deleted")
ASYNC_MARGIN_S = 60  # the async wrapper's own limit must outlive the host's own bound (host_bound_s)
COLLECT_MARGIN_S = 30  # after that limit, how long the job may take to write its result
WAIT_SLICE_S = 10.0  # one host-side long poll holds its SSH channel at most this long
HOST_POLL_S = 0.25  # the host-side loop's step (a file test, no round trip)
RETRY_FIRST_S = 0.5  # back-off after a failed round trip, doubling ...
RETRY_MAX_S = 4.0  # ... up to this
ALLOWANCE_PLANS = 2.0  # the window allows for this many planning runs' time on top of confirm_timeout
MAX_ALLOWANCE_S = 300.0  # the most the measured cost of a round of work adds to confirm_timeout
NO_SESSION = ("local", "ansible.builtin.local", "netns", "netdevops.icmp.netns")  # nothing to reset
INTERNAL = ("_confirm_token", "_confirm_marker")
# Absolute, or under the remote user's home; no characters the shell would interpret.
REMOTE_PATH_RE = re.compile(r"(?:/|~/)[A-Za-z0-9._/@+-]*")
JOB_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# ansible-core 2.19 added the profile argument; older cores parse with one argument.
PARSE_TAKES_PROFILE = "profile" in inspect.signature(ActionBase._parse_returned_data).parameters
RUNNING = '"started": true'  # only the async wrapper's first results file says this


def remote_path(path: str) -> str:
    """A validated path quoted for ``sh``; a leading ``~/`` stays expandable."""
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)


def effective_window_s(timeout: int, plan_s: float) -> int:
    """The host's confirmation window: ``confirm_timeout`` plus ``ALLOWANCE_PLANS`` times what one round
    of work with this host costs right now, measured as the planning run's wall time (rounded up, at
    most ``MAX_ALLOWANCE_S``).

    Noticing the rules are live, a fresh SSH session, the full-size read and the ``rm`` are a few
    SSH round trips and process starts on both ends, like the planning run. On an idle controller
    that is a second or two; with many forks on few cores, or over slow links, it grows, and the
    window grows with it. At forks 50 on 2 overloaded cores (load average near 40) the slowest
    confirmations took up to 2.4 planning runs, hence 2 on top of ``confirm_timeout``.
    """
    return int(timeout + math.ceil(min(ALLOWANCE_PLANS * max(plan_s, 0.0), MAX_ALLOWANCE_S)))


def host_bound_s(timeout: int, lock_timeout: t.Optional[int] = None) -> float:
    """The longest a healthy changing run can take on the host, from the module's start.

    Waiting for another run's lock (``confirm.lock_wait_s``), then applying (the watchdog
    restores an apply still unfinished after ``confirm.APPLY_LIMIT_S``), then the confirmation
    window, which starts only when the rules are live, plus the watchdog's grace. The async
    wrapper's limit and the controller's wait for the rules must both cover it, or a host that
    waited for its lock is killed or given up on while it is healthy.
    """
    lock_s = confirm.lock_wait_s(timeout) if lock_timeout is None else max(0, lock_timeout)
    return lock_s + confirm.APPLY_LIMIT_S + timeout + confirm.WATCHDOG_GRACE_S


def _lock_option(args: t.Mapping[str, t.Any]) -> t.Optional[int]:
    """``lock_timeout`` when it is a whole number (else the default; the module refuses a bad one)."""
    value = args.get("lock_timeout")
    return _int_option(args, "lock_timeout", 0) if value is not None else None


def _running_fn(job_file: str) -> str:
    """``running``: true while the results file is missing (the async wrapper returns after at most
    2.5 s, possibly before its job wrote the file on a loaded host) or still the wrapper's first
    one. Shell builtins only, so a poll step forks nothing but ``sleep``."""
    return ("j=%s; running() { [ -e \"$j\" ] || return 0; l=; { IFS= read -r l <\"$j\"; } 2>/dev/null; "
            "case $l in *'%s'*) return 0;; esac; return 1; }; " % (remote_path(job_file), RUNNING))


def wait_script(cookie: str, job_file: str, wait_s: float) -> str:
    """Prints ``applied`` once the cookie exists, ``finished`` and the results file once the job
    ended without it, or ``pending`` after ``wait_s``."""
    return ("%sc=%s; i=0; while :; do "
            "if [ -e \"$c\" ]; then echo applied; exit 0; fi; "
            "if ! running; then echo finished; cat \"$j\" 2>/dev/null; exit 0; fi; "
            "if [ $i -ge %d ]; then echo pending; exit 0; fi; i=$((i+1)); sleep %s; done"
            % (_running_fn(job_file), remote_path(cookie), _steps(wait_s), HOST_POLL_S))


def read_script(cookie: str, size: int) -> str:
    """``size`` random letters while the cookie exists; ``gone`` and rc 3 once it does not.

    It first creates ``<token>.reached`` (never through an existing file or link: ``set -C``):
    this new session got through, and the host restarts its window once (``confirm.wait_for_confirmation``).
    """
    return ("if [ ! -e %s ]; then echo gone; exit 3; fi; (set -C; : >%s) 2>/dev/null; "
            "LC_ALL=C tr -dc a-z </dev/urandom | head -c %d" % (remote_path(cookie), remote_path(reached_of(cookie)), size))


def reached_of(cookie: str) -> str:
    """``<token>.applied`` -> ``<token>.reached`` (``confirm.Cookie.reached``)."""
    return cookie[:-len(".applied")] + ".reached" if cookie.endswith(".applied") else cookie + ".reached"


def collect_script(job_file: str, wait_s: float) -> str:
    """Waits up to ``wait_s`` for the job to end; prints ``finished`` and the results file, or ``running``;
    either word with the number of poll steps it waited."""
    return ("%si=0; while running && [ $i -lt %d ]; do i=$((i+1)); sleep %s; done; "
            "if running; then echo running $i; else echo finished $i; cat \"$j\" 2>/dev/null; fi"
            % (_running_fn(job_file), _steps(wait_s), HOST_POLL_S))


def confirm_script(cookie: str, job_file: str, wait_s: float) -> str:
    """Removes the cookie (the confirmation), then collects like ``collect_script``."""
    return ("if rm %s 2>/dev/null; then echo confirmed; else echo not-confirmed; fi; %s"
            % (remote_path(cookie), collect_script(job_file, wait_s)))


def _steps(wait_s: float) -> int:
    return max(0, int(wait_s / HOST_POLL_S))


def _int_option(args: t.Mapping[str, t.Any], name: str, default: int) -> t.Optional[int]:
    """The option as an int, ``None`` when it is not one (the module then says so itself)."""
    value = args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Backoff:
    """Waits between failed round trips: 0.5 s, doubling up to 4 s, never past the deadline."""

    def __init__(self) -> None:
        self.delay_s = RETRY_FIRST_S

    def wait(self, deadline: float) -> None:
        time.sleep(max(0.0, min(self.delay_s, deadline - time.monotonic())))
        self.delay_s = min(self.delay_s * 2, RETRY_MAX_S)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for name in INTERNAL:
            if name in args:
                raise AnsibleActionFail("%s is internal to the policy action plugin; do not set it "
                                        "(use confirm_timeout for commit-confirm)" % name)
        timeout = _int_option(args, "confirm_timeout", defaults.DEFAULT_CONFIRM_TIMEOUT)
        size = _int_option(args, "confirm_bytes", defaults.DEFAULT_CONFIRM_BYTES)
        changing = args.get("rollback") is not None or args.get("state", defaults.DEFAULT_STATE) in CHANGING
        if self._task.check_mode or not changing or timeout is None or timeout <= 0 or size is None:
            result.update(self._execute_module(module_args=dict(args), task_vars=task_vars))
            return result
        state_dir = str(args.get("state_dir") or defaults.DEFAULT_STATE_DIR)
        _check_remote_path("state_dir", state_dir)
        started = time.monotonic()
        planned = self._plan_only(args, task_vars)
        if planned.get("failed") or not planned.get("changed"):
            planned["commit_confirm"] = {"ran": False, "controller_confirmed": False, "confirm_ms": None,
                                         "round_trips": 0, "elapsed_ms": _ms_since(started)}
            result.update(planned)
            return result
        plan_ms = _ms_since(started)
        window = effective_window_s(timeout, plan_ms / 1000.0)
        token = secrets.token_hex(16)
        args.update(_confirm_token=token, _confirm_marker=defaults.confirm_marker(token), confirm_timeout=window)
        run = ConfirmRun(self, "%s/confirm/%s.applied" % (state_dir.rstrip("/"), token), max(0, size))
        final = run.execute(args, task_vars, window)
        module_args = final.get("invocation", {}).get("module_args", {})
        for name in INTERNAL:
            module_args.pop(name, None)
        if "confirm_timeout" in module_args:
            module_args["confirm_timeout"] = timeout  # what the user asked; the window is in commit_confirm
        final["commit_confirm"] = {"ran": True, "controller_confirmed": run.confirmed, "confirm_ms": run.confirm_ms,
                                   "round_trips": run.round_trips, "elapsed_ms": _ms_since(started),
                                   "window_s": window, "plan_ms": plan_ms, "trips": run.trips}
        result.update(final)
        return result

    def _plan_only(self, args: t.Dict[str, t.Any], task_vars: t.Any) -> t.Dict[str, t.Any]:
        """The module in check mode with the same options: the plan, nothing applied."""
        saved = self._task.check_mode
        self._task.check_mode = True
        try:
            return self._execute_module(module_args=dict(args), task_vars=task_vars)
        finally:
            self._task.check_mode = saved

    def _start(self, args: t.Dict[str, t.Any], task_vars: t.Any, timeout: int) -> str:
        """Start the module through the async wrapper; returns the host path of its results file."""
        saved = self._task.async_val
        self._task.async_val = int(host_bound_s(timeout, _lock_option(args)) + ASYNC_MARGIN_S)
        try:
            started = self._execute_module(module_args=dict(args), task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = saved  # the executor must not poll this task itself
        jid = str(started.get("ansible_job_id") or "")
        if started.get("failed") or not JOB_ID_RE.fullmatch(jid):
            raise AnsibleActionFail("could not start the policy module in the background: %s"
                                    % started.get("msg", started))
        job_file = str(started.get("results_file") or "")
        if not REMOTE_PATH_RE.fullmatch(job_file):
            job_file = "%s/%s" % (self.get_shell_option("async_dir", default="~/.ansible_async").rstrip("/"), jid)
        _check_remote_path("the async results file (shell option async_dir)", job_file)
        return job_file

    def _parse_job_result(self, body: str) -> t.Dict[str, t.Any]:
        """The module's result from its results file, parsed as ``_execute_module`` parses output."""
        raw = {"stdout": body, "stderr": "", "rc": 0}
        if PARSE_TAKES_PROFILE:
            parsed: t.Any = self._parse_returned_data(raw, "legacy")  # type: ignore[arg-type,unused-ignore]
        else:
            parsed = self._parse_returned_data(raw)  # type: ignore[call-arg]  # ansible-core < 2.19
        if remove_internal_keys is None:
            parsed.remove_internal_keys()
            parsed = parsed.as_result_dict(for_round_trip=True)
        data: t.Dict[str, t.Any] = dict(parsed)
        data.pop("_ansible_suppress_tmpdir_delete", None)
        if remove_internal_keys is not None:
            remove_internal_keys(data)
        return data


class ConfirmRun:
    """One commit-confirm exchange with a host, after the plan said something changes."""

    def __init__(self, action: ActionModule, cookie: str, size: int) -> None:
        self.action, self.cookie, self.size = action, cookie, size
        self.job_file = ""
        self.applied_seen = time.monotonic()
        self.confirmed = False
        self.round_trips = 0
        self.trips: t.List[t.List[t.Any]] = []  # [what, ms] per round trip: where the time went
        self.cookie_gone = False
        self.confirm_ms: t.Optional[int] = None  # from seeing the rules live to the confirmation's answer

    def execute(self, args: t.Dict[str, t.Any], task_vars: t.Any, timeout: int) -> t.Dict[str, t.Any]:
        self.job_file = self.action._start(args, task_vars, timeout)
        # The host's clock, not ours, decides: wait for the rules as long as a healthy host may take
        # to get there (its lock, its apply), then confirm within the window that starts only then.
        bound = time.monotonic() + host_bound_s(timeout, _lock_option(args))
        applied, body = self._wait_applied(bound)
        if applied:
            body = self._confirm(self.applied_seen + timeout + confirm.WATCHDOG_GRACE_S)
        if body is None:
            body = self._collect(bound + ASYNC_MARGIN_S + COLLECT_MARGIN_S)
        try:
            self._command("rm -f %s" % remote_path(self.job_file), "cleanup")
        except AnsibleConnectionFailure:
            display.warning("could not remove the async results file %s" % self.job_file)
        if not body.strip():
            raise AnsibleActionFail("the policy module's results file %s is missing or empty; its outcome is "
                                    "unknown: run the task again to see the live policy" % self.job_file)
        final = self.action._parse_job_result(body)
        for key in ("ansible_job_id", "finished", "started", "results_file"):
            final.pop(key, None)
        return final

    def _command(self, script: str, what: str) -> t.Dict[str, t.Any]:
        self.round_trips += 1
        started = time.monotonic()
        try:
            return self.action._low_level_execute_command(script, sudoable=True)
        finally:
            self.trips.append([what, _ms_since(started)])

    def _poll(self, script: t.Callable[[float], str], deadline: float, answers: t.Tuple[str, ...],
              what: str) -> t.Tuple[str, str]:
        """Repeat a host-side long poll until its first line is one of ``answers``: (that line, the rest);
        ``("", "")`` at the deadline. ``pending`` and ``running`` mean: ask again at once."""
        backoff = Backoff()
        while time.monotonic() < deadline:
            try:
                out = self._command(script(min(WAIT_SLICE_S, deadline - time.monotonic())), what)
            except AnsibleConnectionFailure as err:
                display.vv("policy: %s, no connection (%s); retrying" % (what, err))
                backoff.wait(deadline)
                continue
            head, _sep, body = (out.get("stdout") or "").partition("\n")
            word = (head.split() or [""])[0]
            if word in answers:
                return word, body
            if word not in ("pending", "running"):
                _unexpected(out, backoff, deadline)
        return "", ""

    def _wait_applied(self, deadline: float) -> t.Tuple[bool, t.Optional[str]]:
        """Long-poll until the new rules are live (``True, None``), or the job ended without
        applying (``False``, its result)."""
        head, body = self._poll(lambda wait_s: wait_script(self.cookie, self.job_file, wait_s), deadline,
                                ("applied", "finished"), "wait")
        if head == "applied":
            self.applied_seen = time.monotonic()
            return True, None
        if head == "finished":
            display.vv("policy: the module ended before the cookie was applied (no change, or it failed)")
            return False, body
        return False, None

    def _confirm(self, deadline: float) -> t.Optional[str]:
        """Over a fresh session: read full-size, then remove the cookie and collect the result."""
        connection = self.action._connection
        if getattr(connection, "transport", None) not in NO_SESSION:
            started = time.monotonic()
            connection.reset()
            self.trips.append(["reset", _ms_since(started)])
        backoff = Backoff()
        while time.monotonic() < deadline:
            try:
                if self.size > 0 and not self._read_full_size():
                    if self.cookie_gone:
                        return None  # the host expired the cookie: collect its rollback
                    backoff.wait(deadline)
                    continue
                out = self._command(confirm_script(self.cookie, self.job_file, WAIT_SLICE_S), "confirm")
            except AnsibleConnectionFailure as err:
                display.vv("policy: no connection for the confirmation (%s); retrying" % err)
                backoff.wait(deadline)
                continue
            lines = (out.get("stdout") or "").split("\n", 2) + ["", ""]
            if lines[0].strip() not in ("confirmed", "not-confirmed"):
                _unexpected(out, backoff, deadline)
                continue
            self.confirmed = lines[0].strip() == "confirmed"
            collected = (lines[1].split() + ["", "0"])[:2]
            if self.confirmed:  # not counting the host's wait for the job after the rm
                waited_ms = int(collected[1]) * HOST_POLL_S * 1000 if collected[1].isdigit() else 0
                self.confirm_ms = max(0, _ms_since(self.applied_seen) - int(waited_ms))
            display.vv("policy: %s %s" % (lines[0].strip(), self.cookie))
            return lines[2] if collected[0] == "finished" else None
        display.vv("policy: no confirmation sent; the host decides (rollback at its deadline)")
        return None

    def _read_full_size(self) -> bool:
        """Every one of ``size`` bytes arrived over the fresh session (sets ``cookie_gone``)."""
        pulled = self._command(read_script(self.cookie, self.size), "read")
        self.cookie_gone = pulled.get("rc") == 3 and (pulled.get("stdout") or "").strip() == "gone"
        if pulled.get("rc") == 0 and len(pulled.get("stdout") or "") >= self.size:
            return True
        display.vv("policy: full-size read incomplete (rc %s); retrying" % pulled.get("rc"))
        return False

    def _collect(self, deadline: float) -> str:
        head, body = self._poll(lambda wait_s: collect_script(self.job_file, wait_s), deadline, ("finished",),
                                "collect")
        if not head:
            raise AnsibleActionFail("the policy module did not finish in time; its results file is %s on the host"
                                    % self.job_file)
        return body


def _check_remote_path(what: str, path: str) -> None:
    if not REMOTE_PATH_RE.fullmatch(path):
        raise AnsibleActionFail("%s %r cannot be used for commit-confirm: it must be an absolute path (or start "
                                "with ~/) of letters, digits and . _ - + @ /; choose such a path" % (what, path))


def _unexpected(out: t.Dict[str, t.Any], backoff: Backoff, deadline: float) -> None:
    display.vv("policy: unexpected answer (rc %s): %s %s; retrying"
               % (out.get("rc"), (out.get("stdout") or "")[:200], (out.get("stderr") or "")[:200]))
    backoff.wait(deadline)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
