# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Snapshot history and the commit-confirm state machine (host side).

The protocol, in files under ``<state_dir>/confirm/`` named by a per-run token:

1. ``<token>.applying`` is created BEFORE the new rules go live (so a module
   killed halfway is still rolled back);
2. after the apply it is renamed to ``<token>.applied``;
3. the controller proves it can still reach the host by deleting
   ``<token>.applied`` over a FRESH connection (``rm`` fails while the file does
   not exist yet, so an early confirm is impossible);
4. at the deadline, whoever first renames the cookie to ``<token>.expired`` (the
   module's own wait, or the detached watchdog when the module is gone) restores
   the snapshot. ``rename`` is atomic, so a confirmation and an expiry can never
   both win, and the snapshot is restored at most once.

The watchdog is a double-forked ``setsid`` process: it survives the module, the
async wrapper and the SSH session, and needs nothing from the controller.
"""
from __future__ import annotations

import json
import os
import re
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import sysctl as sysctl_mod
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, rule_from_dict

DEFAULT_STATE_DIR = "/var/lib/netdevops_icmp/policy"
_TOKEN_RE = re.compile(r"^[a-f0-9]{8,64}$")
WATCHDOG_GRACE_S = 5.0


class Clock(t.Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def netns_scope() -> str:
    """Histories are kept per network namespace: labs share one filesystem."""
    try:
        return "netns-%d" % os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return "netns-unknown"


# --- history ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    backend: str
    present: bool
    policy: Policy
    created: float

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"id": self.snapshot_id, "backend": self.backend, "present": self.present,
                "created": self.created, "policy": self.policy.to_dict()}


def policy_from_dict(data: t.Mapping[str, t.Any]) -> Policy:
    rules = [rule_from_dict(raw, "snapshot rule %d" % index) for index, raw in enumerate(data.get("rules", []))]
    return Policy.build(rules, sysctl_mod.validate(data.get("sysctls")))


class History:
    def __init__(self, directory: str, keep: int = 20, wall: t.Callable[[], float] = time.time) -> None:
        self.directory, self.keep, self.wall = directory, keep, wall

    def ids(self) -> t.List[int]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def save(self, backend: str, present: bool, policy: Policy) -> Snapshot:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        ids = self.ids()
        snap = Snapshot((ids[-1] + 1) if ids else 1, backend, present, policy, self.wall())
        path = os.path.join(self.directory, "%06d.json" % snap.snapshot_id)
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(snap.to_dict(), handle, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        for old in ids[: max(0, len(ids) + 1 - self.keep)]:
            os.unlink(os.path.join(self.directory, "%06d.json" % old))
        return snap

    def load(self, snapshot_id: int) -> Snapshot:
        path = os.path.join(self.directory, "%06d.json" % snapshot_id)
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as err:
            raise PolicyError("snapshot %d cannot be read from %s (%s); available: %s"
                              % (snapshot_id, path, err, self.ids() or "none")) from err
        return Snapshot(int(data["id"]), data["backend"], bool(data["present"]),
                        policy_from_dict(data["policy"]), float(data["created"]))

    def pick(self, spec: str, current: Policy) -> Snapshot:
        """``previous``: the newest snapshot that differs from ``current``; or a snapshot id."""
        ids = self.ids()
        if not ids:
            raise PolicyError("no snapshot history in %s: nothing to roll back to" % self.directory)
        if str(spec) == "previous":
            for snapshot_id in reversed(ids):
                snap = self.load(snapshot_id)
                if snap.policy != current:
                    return snap
            return self.load(ids[-1])
        if not str(spec).isdigit():
            raise PolicyError("rollback %r must be 'previous' or a snapshot id (%s)" % (spec, ids))
        return self.load(int(spec))


# --- cookie -------------------------------------------------------------------------------

class Cookie:
    def __init__(self, directory: str, token: str) -> None:
        if not _TOKEN_RE.match(token):
            raise PolicyError("confirmation token %r must be 8-64 lowercase hex digits" % token)
        self.directory = directory
        base = os.path.join(directory, token)
        self.applying, self.applied = base + ".applying", base + ".applied"
        self.expired, self.done = base + ".expired", base + ".rolledback"

    def arm(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        with open(self.applying, "w") as handle:
            handle.write("%d\n" % os.getpid())

    def mark_applied(self) -> None:
        os.rename(self.applying, self.applied)

    def state(self) -> str:
        for name, path in (("applied", self.applied), ("applying", self.applying), ("expired", self.expired)):
            if os.path.exists(path):
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
        with open(self.done, "w") as handle:
            handle.write(message + "\n")

    def cleanup(self) -> None:
        for path in (self.applying, self.applied, self.expired, self.done):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


# --- the state machine --------------------------------------------------------------------

@dataclass
class Outcome:
    confirmed: bool
    rolled_back: bool
    trace: t.List[str]
    message: str = ""


def wait_for_confirmation(cookie: Cookie, timeout_s: float, clock: Clock, poll_s: float = 0.25,
                          done_wait_s: float = 30.0) -> Outcome:
    """After ``mark_applied``: confirmed, or expired (by us, or by the watchdog that beat us)."""
    trace = ["waiting"]
    deadline = clock.monotonic() + timeout_s
    while clock.monotonic() < deadline:
        state = cookie.state()
        if state == "confirmed":
            trace.append("confirmed")
            return Outcome(True, False, trace)
        if state == "expired":
            break
        clock.sleep(poll_s)
    if cookie.expire():
        trace.append("expired")
        return Outcome(False, False, trace, "not confirmed within %gs" % timeout_s)
    if cookie.state() == "confirmed":  # the controller won the race at the very last moment
        trace.append("confirmed")
        return Outcome(True, False, trace)
    trace.append("expired-by-watchdog")
    limit = clock.monotonic() + done_wait_s
    while not os.path.exists(cookie.done) and clock.monotonic() < limit:
        clock.sleep(poll_s)
    trace.append("rolled-back-by-watchdog")
    return Outcome(False, True, trace, "not confirmed within %gs; the watchdog restored the snapshot" % timeout_s)


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
    _detach()
    status = 0
    try:
        deadline = time.monotonic() + timeout_s + WATCHDOG_GRACE_S
        while time.monotonic() < deadline:
            if cookie.state() in ("confirmed", "expired"):
                os._exit(0)
            time.sleep(0.2)
        if cookie.expire():
            cookie.finish(restore())
    except BaseException as err:  # noqa: BLE001 - a dead-man process must report, never raise
        try:
            cookie.finish("watchdog failed: %s" % err)
        finally:
            status = 1
    os._exit(status)


def _detach() -> None:
    """No inherited stdio: the controller must not wait for our pipes to close."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 1024)
    os.chdir("/")
