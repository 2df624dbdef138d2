# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``netdevops.icmp.policy``: commit-confirm over a fresh connection.

For a change with ``confirm_timeout > 0`` (not in check mode), the module is run
in the background through the async wrapper with a fresh token. The plugin then
resets the connection (a persistent SSH master would prove nothing), and once a
second tries: read ``confirm_bytes`` random letters from the host once the cookie
``<state_dir>/confirm/<token>.applied`` exists, then ``rm`` the cookie. The cookie
only exists after the module has applied the new rules, so both steps run over a
connection through them: that is the proof of access. The read makes the host
send full-size packets (random, so that SSH compression cannot shrink them); a
policy that black-holes Path MTU Discovery (drops frag-needed or packet-too-big)
lets a tiny ``rm`` through but stalls that read, so it is not confirmed either.
If nothing succeeds, the host restores the snapshot by itself at the deadline; a
stalled read then completes, the ``rm`` finds no cookie, and the plugin reports
the rollback. Finally the plugin collects the
module's result with ``async_status`` and cleans the job up.
"""
from __future__ import annotations

import secrets
import shlex
import time
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

DEFAULT_STATE_DIR = "/var/lib/netdevops_icmp/policy"
CHANGING = ("merged", "replaced", "overridden", "deleted")
ASYNC_MARGIN_S = 60  # the async wrapper's own limit must outlive the host-side deadline
DEFAULT_CONFIRM_BYTES = 65536


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if "_confirm_token" in args:
            raise AnsibleActionFail("_confirm_token is internal to the policy action plugin; do not set it")
        timeout = int(args.get("confirm_timeout", 30) or 0)
        size = int(args.get("confirm_bytes", DEFAULT_CONFIRM_BYTES) or 0)
        changing = args.get("rollback") is not None or args.get("state", "merged") in CHANGING
        if self._play_context.check_mode or not changing or timeout <= 0:
            result.update(self._execute_module(module_args=args, task_vars=task_vars))
            return result
        if self._task.async_val:
            raise AnsibleActionFail("do not set async on netdevops.icmp.policy: with confirm_timeout the "
                                    "plugin runs the module in the background itself")
        token = secrets.token_hex(16)
        args["_confirm_token"] = token
        cookie = "%s/confirm/%s.applied" % (args.get("state_dir") or DEFAULT_STATE_DIR, token)
        job = self._start(args, task_vars, timeout)
        if not self._confirm(cookie, job, task_vars, timeout, size):
            display.vv("policy: no confirmation sent; the host decides (rollback at its deadline)")
        final = self._collect(job, task_vars, timeout + 30)
        if final.get("invocation", {}).get("module_args"):
            final["invocation"]["module_args"].pop("_confirm_token", None)
        result.update(final)
        return result

    def _start(self, args: t.Dict[str, t.Any], task_vars: t.Any, timeout: int) -> t.Dict[str, t.Any]:
        saved = self._task.async_val
        self._task.async_val = timeout + ASYNC_MARGIN_S
        try:
            started = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = saved  # the executor must not poll this task itself
        if started.get("failed") or not started.get("ansible_job_id"):
            raise AnsibleActionFail("could not start the policy module in the background: %s"
                                    % started.get("msg", started))
        return {"jid": started["ansible_job_id"], "_async_dir": self.get_shell_option("async_dir", default="~/.ansible_async")}

    def _status(self, job: t.Dict[str, t.Any], task_vars: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
        try:
            status = self._execute_module(module_name="ansible.builtin.async_status", module_args=dict(job),
                                          task_vars=task_vars, wrap_async=False)
        except AnsibleConnectionFailure:
            return None
        return status if status.get("finished") else None

    def _confirm(self, cookie: str, job: t.Dict[str, t.Any], task_vars: t.Any, timeout: int, size: int) -> bool:
        """Confirm over a fresh connection; stop early when the module already finished."""
        try:
            self._connection.reset()
        except AttributeError:
            display.warning("the connection plugin cannot be reset; the confirmation may reuse an old session")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._attempt(cookie, size):
                    display.vv("policy: confirmed %s" % cookie)
                    return True
                if self._status(job, task_vars) is not None:
                    return False  # finished without a cookie: nothing changed, or it failed early
            except AnsibleConnectionFailure:
                display.vv("policy: no connection yet, retrying")
            time.sleep(1)
        return False

    def _attempt(self, cookie: str, size: int) -> bool:
        """Once the cookie exists, read ``size`` bytes from the host, then remove the cookie."""
        if size > 0:
            pulled = self._low_level_execute_command(
                "test -e %s && LC_ALL=C tr -dc a-z </dev/urandom | head -c %d" % (shlex.quote(cookie), size),
                sudoable=True)
            if pulled.get("rc") != 0 or len(pulled.get("stdout") or "") < size:
                return False
        return self._low_level_execute_command("rm %s" % shlex.quote(cookie), sudoable=True).get("rc") == 0

    def _collect(self, job: t.Dict[str, t.Any], task_vars: t.Any, limit_s: int) -> t.Dict[str, t.Any]:
        deadline = time.monotonic() + limit_s
        status = None
        while time.monotonic() < deadline:
            status = self._status(job, task_vars)
            if status is not None:
                break
            time.sleep(1)
        if status is None:
            raise AnsibleActionFail("the policy module did not finish within %ss; job %s" % (limit_s, job["jid"]))
        try:
            self._execute_module(module_name="ansible.builtin.async_status", module_args=dict(job, mode="cleanup"),
                                 task_vars=task_vars, wrap_async=False)
        except AnsibleConnectionFailure:
            display.warning("could not clean up async job %s" % job["jid"])
        for key in ("ansible_job_id", "finished", "started", "results_file", "stdout", "stderr", "stdout_lines",
                    "stderr_lines"):
            status.pop(key, None)
        return status
