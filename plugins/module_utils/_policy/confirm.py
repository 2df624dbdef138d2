# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The commit-confirm state machine (host side): cookie, the module's wait, the watchdog.

The protocol, in files under ``<state_dir>/confirm/`` named by a per-run token:

1. ``<token>.applying`` is created BEFORE the new rules go live (so a module
   killed halfway is still rolled back);
2. after the apply it is renamed to ``<token>.applied``: the host-side confirmation
   window (``confirm_timeout``) starts now, for the module and for the watchdog,
   so a slow apply or a wait for the lock never eats into it;
3. the controller proves it can still reach the host by deleting
   ``<token>.applied`` over a FRESH connection (``rm`` fails while the file does
   not exist yet, so an early confirm is impossible). Its first command over that
   connection, the full-size read, creates ``<token>.reached``: a new session under
   the new rules got through. The first time the host sees it, the window restarts
   once from that moment, for the module and for the watchdog, so a controller that
   is slow (busy, many forks) but gets through is not rolled back while it reads;
   a policy that stops new sessions never gets there, and one that black-holes the
   full-size read still rolls back, at most two windows after the apply;
4. at the deadline, whoever first renames the cookie to ``<token>.expired`` (the
   module's own wait, or the detached watchdog when the module is gone) restores
   the snapshot. ``rename`` is atomic, so a confirmation and an expiry can never
   both win, and the snapshot is restored at most once. The watchdog also expires a
   cookie that stays ``.applying`` longer than ``APPLY_LIMIT_S`` (a stuck apply).

Every outcome removes the cookie files (confirmed, expired by the module or by the
watchdog, failed apply). The watchdog is a double-forked ``setsid`` process: it
survives the module, the async wrapper and the SSH session, needs nothing from the
controller, and keeps the run's lock (see ``statefiles.StateLock``) until it is done.

Snapshots moved to ``history``, safe files and the lock to ``statefiles``, the
namespace key to ``netscope``; the old names stay importable from here.
"""
from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import statefiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.history import (  # noqa: F401 - re-exported
    History, Snapshot, policy_from_dict,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.statefiles import Clock, SystemClock  # noqa: F401

__all__ = ["APPLY_LIMIT_S", "DEFAULT_STATE_DIR", "LOCK_MARGIN_S", "WATCHDOG_GRACE_S", "Clock", "Cookie", "History",
           "Outcome", "Snapshot", "SystemClock", "lock_wait_s", "policy_from_dict", "spawn_watchdog",
           "wait_for_confirmation", "watch"]

DEFAULT_STATE_DIR = "/var/lib/netdevops_icmp/policy"
DEFAULT_CONFIRM_TIMEOUT_S = 30
_TOKEN_RE = re.compile(r"[a-f0-9]{8,64}")
WATCHDOG_GRACE_S = 5.0  # the watchdog acts this long after the module's own deadline
APPLY_LIMIT_S = 120.0  # a cookie still ``.applying`` after this long: the apply is stuck, restore
LOCK_MARGIN_S = 60.0
CONSUME_WAIT_S = 10.0  # how long the watchdog leaves ``.rolledback`` for the module to read


def lock_wait_s(confirm_timeout: float) -> float:
    """How long a run waits for the lock by default: a holder's confirmation window plus a margin.

    A holder keeps the lock while it applies and waits for its confirmation (its
    ``confirm_timeout``, assumed no longer than ours or the 30 s default) and, if not
    confirmed, while it restores; ``LOCK_MARGIN_S`` covers reading, applying, restoring.
    """
    return max(float(confirm_timeout), DEFAULT_CONFIRM_TIMEOUT_S) + LOCK_MARGIN_S


# --- cookie -------------------------------------------------------------------------------

class Cookie:
    def __init__(self, directory: str, token: str, lock_fd: int = -1) -> None:
        if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise PolicyError("confirmation token %r must be 8-64 lowercase hex digits" % (token,))
        self.directory = directory
        self.lock_fd = lock_fd  # the run's lock: the watchdog keeps it open (see statefiles.StateLock)
        self.owner_pid = 0  # the module's pid, from arm(); the watchdog (forked later) inherits it
        base = os.path.join(directory, token)
        self.applying, self.applied = base + ".applying", base + ".applied"
        self.expired, self.done = base + ".expired", base + ".rolledback"
        self.reached = base + ".reached"  # the controller's fresh session got through (see step 3)

    def arm(self) -> None:
        statefiles.ensure_dir(self.directory)
        self.owner_pid = os.getpid()
        if not statefiles.create_new(self.applying, "%d\n" % os.getpid()):
            raise PolicyError("confirmation cookie %s already exists: a token must never be reused" % self.applying)

    def mark_applied(self) -> bool:
        """The rules are live: open the window. False if the watchdog already expired a stuck apply."""
        try:
            os.rename(self.applying, self.applied)
        except FileNotFoundError:
            return False
        return True

    def state(self) -> str:
        for name, path in (("applied", self.applied), ("applying", self.applying), ("expired", self.expired)):
            if os.path.lexists(path):
                return name
        return "confirmed"

    def expire(self) -> bool:
        """Claim the rollback. False: the controller confirmed first (or someone else expired it)."""
        for path in (self.applied, self.applying):
            try:
                os.rename(path, self.expired)
                return True
            except FileNotFoundError:
                continue
        return False

    def finish(self, message: str) -> None:
        statefiles.create_new(self.done, message + "\n")

    def result(self) -> t.Optional[str]:
        """The watchdog's message once it has restored the snapshot."""
        text = statefiles.read_text(self.done)
        return text.strip() if text is not None else None

    def was_reached(self) -> bool:
        """The controller's fresh session got through: its full-size read started on the host."""
        return os.path.lexists(self.reached)

    def cleanup(self) -> None:
        for path in (self.applying, self.applied, self.expired, self.done, self.reached):
            statefiles.remove(path)


# --- the state machine --------------------------------------------------------------------

@dataclass
class Outcome:
    confirmed: bool
    rolled_back: bool
    trace: t.List[str]
    message: str = ""


def wait_for_confirmation(cookie: Cookie, timeout_s: float, clock: Clock, poll_s: float = 0.25,
                          done_wait_s: float = 30.0) -> Outcome:
    """Right after ``mark_applied``: confirmed, or expired (by us, or by the watchdog that beat us)."""
    trace = ["waiting"]
    deadline = clock.monotonic() + timeout_s
    while clock.monotonic() < deadline:
        state = cookie.state()
        if state == "confirmed":
            trace.append("confirmed")
            return Outcome(True, False, trace)
        if state == "expired":
            break
        if "reached" not in trace and cookie.was_reached():
            trace.append("reached")  # once: the window restarts from the fresh session's arrival
            deadline = clock.monotonic() + timeout_s
        clock.sleep(poll_s)
    why = "not confirmed within %gs" % timeout_s
    if "reached" in trace:
        why += (" after the controller's new session reached the host (its full-size read did not complete: "
                "does the policy block Path MTU Discovery on the way back?)")
    if cookie.expire():
        trace.append("expired")
        return Outcome(False, False, trace, why)
    if cookie.state() == "confirmed":  # the controller won the race at the very last moment
        trace.append("confirmed")
        return Outcome(True, False, trace)
    trace.append("expired-by-watchdog")
    return _watchdog_outcome(cookie, trace, why, clock, poll_s, done_wait_s)


def _watchdog_outcome(cookie: Cookie, trace: t.List[str], why: str, clock: Clock, poll_s: float,
                      done_wait_s: float) -> Outcome:
    limit = clock.monotonic() + done_wait_s
    said = cookie.result()
    while said is None and clock.monotonic() < limit:
        clock.sleep(poll_s)
        said = cookie.result()
    trace.append("rolled-back-by-watchdog")
    return Outcome(False, True, trace, "%s; the watchdog restored the snapshot (%s)"
                   % (why, said or "still restoring after %gs" % done_wait_s))


def watchdog_took_over(cookie: Cookie, clock: Clock, poll_s: float = 0.25, done_wait_s: float = 30.0) -> Outcome:
    """``mark_applied`` failed: the apply outlived ``APPLY_LIMIT_S`` and the watchdog restored the snapshot."""
    return _watchdog_outcome(cookie, ["expired-by-watchdog"], "the apply took longer than %gs" % APPLY_LIMIT_S,
                             clock, poll_s, done_wait_s)


def watch(cookie: Cookie, timeout_s: float, restore: t.Callable[[], str], clock: Clock,
          poll_s: float = 0.2) -> str:
    """The watchdog's loop: the window counts from the moment the cookie becomes ``.applied``.

    Polling sees that moment at most ``poll_s`` late, so this deadline is never earlier
    than the module's own; a cookie that stays ``.applying`` past ``APPLY_LIMIT_S`` is a
    stuck apply and is rolled back too.
    """
    start = clock.monotonic()
    applied_at: t.Optional[float] = None
    reached_at: t.Optional[float] = None
    while True:
        state = cookie.state()
        if state in ("confirmed", "expired"):
            return state  # the controller confirmed, or the module expired it and restores itself
        now = clock.monotonic()
        if state == "applied" and applied_at is None:
            applied_at = now
        if applied_at is not None and reached_at is None and cookie.was_reached():
            reached_at = now  # seen no earlier than the module sees it: never an earlier deadline
        opened = reached_at if reached_at is not None else applied_at
        if opened is not None and now >= opened + timeout_s + WATCHDOG_GRACE_S:
            break
        if applied_at is None and now >= start + APPLY_LIMIT_S:
            break
        if state == "applying" and cookie.owner_pid > 0 and not _alive(cookie.owner_pid):
            break  # the module died halfway through its writes: restore now, not at the stuck-apply limit
        clock.sleep(poll_s)
    if not cookie.expire():
        return "confirmed"
    try:
        said = str(restore())
    except Exception as err:  # noqa: BLE001 - a dead-man process must report, never raise
        said = "watchdog failed to restore: %s" % err
    cookie.finish(said)
    limit = clock.monotonic() + CONSUME_WAIT_S
    while os.path.lexists(cookie.done) and _alive(cookie.owner_pid) and clock.monotonic() < limit:
        clock.sleep(poll_s)  # the module, if alive, reads the message and removes the cookies
    cookie.cleanup()
    return said


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spawn_watchdog(cookie: Cookie, timeout_s: float, restore: t.Callable[[], str]) -> int:
    """Start the detached dead-man process; returns its pid (the parent only waits for the middle child)."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle:
        os.close(write_end)
        pid = int(os.read(read_end, 32) or b"0")
        os.close(read_end)
        os.waitpid(middle, 0)
        return pid
    os.close(read_end)
    os.setsid()
    grandchild = os.fork()
    if grandchild:
        os.write(write_end, str(grandchild).encode())
        os._exit(0)
    os.close(write_end)
    _detach(cookie.lock_fd)
    status = 0
    try:
        watch(cookie, timeout_s, restore, SystemClock())
    except BaseException:  # noqa: BLE001 - nothing to report to: stdio is /dev/null
        status = 1
    os._exit(status)


def _detach(keep_fd: int) -> None:
    """No inherited stdio (the controller must not wait for our pipes); only the run's lock stays open."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    limit = 65536
    if keep_fd >= 3:
        os.closerange(3, keep_fd)
        os.closerange(keep_fd + 1, limit)
    else:
        os.closerange(3, limit)
    os.chdir("/")
