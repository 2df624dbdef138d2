# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One policy run on the host: read, plan, snapshot, apply, confirm or roll back.

The module builds a ``Request`` from its options and hands it here with the
seams (runner, clock, sysctl root, watchdog spawner). Integration tests call
``execute`` directly to drive the host side without a controller.

All or nothing: every step is validated before the first write; the writes run
cheapest-to-fail first (sysctls, which the kernel may reject, then the one
atomic ruleset transaction per backend and family); any failure after the first
write restores the snapshot at once (raw text of our table/chains, and the
sysctl files as they were), whatever ``confirm_timeout`` is. An apply of more
than one write (iptables and ip6tables, or sysctls and a ruleset) is also
guarded by the watchdog without commit-confirm: killed between two writes, the
module leaves a cookie behind and the watchdog restores the snapshot.
"""
from __future__ import annotations

import os
import secrets
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import (
    backends, confirm, iptables, names, netscope, nft, offline, plan, statefiles,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    Policy, PolicyError, check_safe, pmtud_blocked,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.sysctl import SYSCTLS, Sysctls
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandRunner


SYSCTL_RAW = "sysctl:"  # raw snapshot keys for the sysctl files a run writes: "sysctl:net/ipv4/..."


@dataclass
class Request:
    state: str = "merged"
    want: Policy = field(default_factory=Policy)
    backend: str = "auto"
    table: str = nft.DEFAULT_TABLE
    chain_prefix: str = iptables.DEFAULT_PREFIX
    log_group: int = names.DEFAULT_LOG_GROUP  # the nflog group logged drops go to
    allow_unsafe: bool = False
    force: bool = False
    state_dir: str = confirm.DEFAULT_STATE_DIR
    confirm_timeout: float = 0
    token: t.Optional[str] = None
    rollback: t.Optional[str] = None
    history_size: int = 20
    check_mode: bool = False
    lock_timeout: t.Optional[float] = None  # None: confirm.lock_wait_s(confirm_timeout)
    running_config: t.Optional[str] = None
    deadman_s: float = 30  # without commit-confirm: how long a multi-write apply may take before the watchdog restores


@dataclass
class Seams:
    runner: CommandRunner
    clock: confirm.Clock = field(default_factory=confirm.SystemClock)
    sysctls: Sysctls = field(default_factory=Sysctls)
    which: t.Callable[[str], t.Optional[str]] = backends.shutil.which
    spawn: t.Optional[t.Callable[[confirm.Cookie, float, t.Callable[[], str]], int]] = confirm.spawn_watchdog
    restore_runner: t.Optional[t.Callable[[], CommandRunner]] = None
    netns: netscope.NetnsIdentity = field(default_factory=netscope.NetnsIdentity)


@dataclass(frozen=True)
class Restore:
    """What a restore brings back: the snapshot, and its raw text when it has one."""
    snapshot: confirm.Snapshot
    raw: t.Mapping[str, str]
    use_raw: bool

    @property
    def rules_raw(self) -> t.Dict[str, str]:
        return {k: v for k, v in self.raw.items() if not k.startswith(SYSCTL_RAW)}

    @property
    def sysctl_raw(self) -> t.Dict[str, str]:
        return {k[len(SYSCTL_RAW):]: v for k, v in self.raw.items() if k.startswith(SYSCTL_RAW)}


def _empty_result() -> t.Dict[str, t.Any]:
    return {"changed": False, "before": None, "after": None, "commands": [], "snapshot": None,
            "applied": False, "rolled_back": False, "warnings": [], "backend": None, "foreign": [],
            "gathered": None, "hits": None, "rendered": None, "parsed": None, "rendered_data": None, "diff": None}


def execute(request: Request, seams: Seams) -> t.Dict[str, t.Any]:
    """Run one request; raises ``PolicyError`` for bad input (nothing changed by then)."""
    result = _empty_result()
    if request.state in ("rendered", "parsed"):
        result.update(_offline(request))
        return result
    if request.backend in offline.DEVICE_BACKENDS:
        raise PolicyError("backend %s renders and parses only (state rendered or parsed), got state %s: push "
                          "rendered_data with the vendor's own module" % (request.backend, request.state))
    backend = backends.make_backend(request.backend, seams.runner, request.table, request.chain_prefix, seams.which,
                                    request.log_group)
    result["backend"] = backend.name
    changing = request.rollback is not None or request.state in plan.CHANGING
    result["warnings"].extend(_guard_auto(request, seams, backend, changing))
    if not changing:  # read-only: no lock (nft and iptables-restore apply atomically, so a concurrent
        # run is seen before or after, never halfway)
        return _gather(backend, seams, result)
    if request.check_mode:  # plans only: no lock, nothing written under state_dir
        return _change(request, seams, backend, result, None)
    # One changing run per host at a time, from the read to the end of its confirmation window.
    state_dir = statefiles.ensure_dir(request.state_dir)
    wait_s = confirm.lock_wait_s(request.confirm_timeout) if request.lock_timeout is None else request.lock_timeout
    lock_dir = statefiles.ensure_dir(os.path.join(state_dir, "locks"))
    with statefiles.StateLock(os.path.join(lock_dir, seams.netns.lock_name() + ".lock"), wait_s, seams.clock) as lock:
        return _change(request, seams, backend, result, lock)


def _gather(backend: backends.Backend, seams: Seams, result: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    live = backend.read()
    result["foreign"] = list(live.unknown)
    result["gathered"] = plan.with_sysctls(live.rules, seams.sysctls.read(sorted(SYSCTLS))).to_dict()
    result["hits"] = backend.hit_rows(live)
    if live.unknown:
        result["warnings"].append("our %s also holds content this module did not write (listed in foreign); "
                                  "gathered shows only the rules it wrote" % _owned(backend))
    return result


def _change(request: Request, seams: Seams, backend: backends.Backend, result: t.Dict[str, t.Any],
            lock: t.Optional[statefiles.StateLock]) -> t.Dict[str, t.Any]:
    live = backend.read()
    result["foreign"] = list(live.unknown)
    current = seams.sysctls.read(sorted(SYSCTLS))
    scope = seams.netns.scope(request.state_dir, create=lock is not None)
    history = confirm.History(os.path.join(request.state_dir, backend.name, scope or "none"), request.history_size,
                              scope=scope or "")
    the_plan = _plan(request, backend, history, live, current)
    result.update(before=the_plan.before.to_dict(), after=the_plan.after.to_dict(), commands=the_plan.commands(),
                  changed=the_plan.changed, diff={"before": the_plan.diff_before, "after": the_plan.diff_after})
    result["warnings"].extend(the_plan.warnings)
    if not the_plan.changed or lock is None:
        return result
    raw = dict(backend.capture(live))
    raw.update(_sysctl_raw(seams.sysctls, the_plan.sysctls))
    snap = history.save(backend.name, live.policy is not None, the_plan.before, raw=raw)
    result["snapshot"] = snap.snapshot_id
    result.update(_commit(request, seams, backend, the_plan, Restore(snap, raw, True), result["warnings"], lock))
    return result


def _offline(request: Request) -> t.Dict[str, t.Any]:
    """``rendered`` / ``parsed``: no host, any backend (``auto`` means nftables here)."""
    name = "nftables" if request.backend == "auto" else request.backend
    if request.state == "rendered":
        check_safe(request.want, request.allow_unsafe)
        out = offline.render(request.want, name, request.table, request.chain_prefix, request.log_group)
        return {"backend": name, "rendered": out.lines, "rendered_data": out.data,
                "after": out.effective.to_dict(), "warnings": out.warnings}
    parsed = offline.parse(request.running_config or "", name, request.table, request.chain_prefix, request.log_group)
    return {"backend": name, "parsed": parsed.policy.to_dict(), "foreign": parsed.foreign, "warnings": parsed.notes}


def _plan(request: Request, backend: backends.Backend, history: confirm.History, live: backends.Live,
          current: t.Mapping[str, t.Optional[int]]) -> plan.Plan:
    if request.rollback is None:
        return plan.make_plan(request.state, request.want, live, current, backend, request.allow_unsafe,
                              request.force)
    plan.check_owned(live, backend, request.force)  # refuse foreign content before reading anything more
    snap = history.pick(request.rollback, plan.with_sysctls(live.rules, current))
    restore = _restore_of(snap)
    raw = plan.Raw(restore.rules_raw, backend.capture(live)) if restore.use_raw else None
    return plan.restore_plan(snap.policy, live, current, backend, raw, request.force)


def _restore_of(snap: confirm.Snapshot) -> Restore:
    """A stored snapshot: restored by its raw text when it has ours, or when our table/chains were absent."""
    has_rules = any(not key.startswith(SYSCTL_RAW) for key in snap.raw)
    return Restore(snap, snap.raw, has_rules or not snap.present)


def _owned(backend: backends.Backend) -> str:
    label, _option = plan.OWNED[backend.name]
    return label % plan.owned_name(backend)


def _guard_auto(request: Request, seams: Seams, backend: backends.Backend, changing: bool) -> t.List[str]:
    """``backend: auto`` must not leave what we wrote with the other backend live and unmanaged."""
    if request.backend != "auto":
        return []
    found = _other_backend_holds(request, seams, backend)
    if not found:
        return []
    other = "iptables" if backend.name == "nftables" else "nftables"
    message = ("backend auto resolved to %s, but %s. Set backend: %s to keep managing it, or remove it first "
               "with backend: %s and state: deleted, then use backend: %s"
               % (backend.name, found, other, other, backend.name))
    if changing:
        raise PolicyError(message + ". Nothing was changed")
    return [message]


def _other_backend_holds(request: Request, seams: Seams, backend: backends.Backend) -> t.Optional[str]:
    if backend.name == "nftables":
        if any(seams.which(binary) is None for binary in backends.IptablesBackend.binaries):
            return None
        try:
            other = backends.IptablesBackend(seams.runner, request.chain_prefix).read()
        except CommandError:
            return None  # iptables cannot list the filter table here, so nothing of ours can live in it
        if other.policy is None:
            return None
        chains = sorted({chain for jumps in other.jumps.values() for chain in jumps})
        return "our iptables chains exist (%s)" % ", ".join(chains)
    # nft is missing, so our table cannot be listed: the history says whether this host used nftables
    directory = os.path.join(request.state_dir, "nftables", seams.netns.scope(request.state_dir, create=False) or "none")
    if not confirm.History(directory).ids():
        return None
    return ("nft is not installed, and this host's policy was managed with nftables before (snapshots in %s): "
            "table inet %s may still be live" % (directory, request.table))


def _sysctl_raw(sysctls: Sysctls, writes: t.Mapping[str, int]) -> t.Dict[str, str]:
    """The text of every sysctl file a run will write, as it is now."""
    raw = {}
    for key in sorted(writes):
        for rel in SYSCTLS[key]:
            path = os.path.join(sysctls.root, rel)
            try:
                raw[SYSCTL_RAW + rel] = _read_text(path)
            except OSError as err:
                raise PolicyError("sysctl %s cannot be read from %s (%s), so it cannot be snapshotted; nothing was "
                                  "changed: leave it out of config.sysctls on this host" % (key, path, err)) from err
    return raw


def _read_text(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _restore_sysctl_files(sysctls: Sysctls, files: t.Mapping[str, str]) -> None:
    """Write back every sysctl file that differs from its snapshot text (files still equal are not touched)."""
    for rel in sorted(files, reverse=True):
        path = os.path.join(sysctls.root, rel)
        if _read_text(path).split() != files[rel].split():
            with open(path, "w") as handle:
                handle.write(files[rel])


def _apply(runner: CommandRunner, the_plan: plan.Plan, sysctls: Sysctls, journal: t.List[str]) -> None:
    """Validate everything, then write: sysctls first (the kernel may reject a value), then the rulesets.

    ``journal`` names each write as it starts, so a failure knows whether anything was written.
    """
    backends.validate_steps(runner, the_plan.steps)
    for key, value in sorted(the_plan.sysctls.items()):
        journal.append("sysctl %s=%d" % (key, value))
        sysctls.write({key: value})
    for step in the_plan.steps:
        journal.append(" ".join(step.argv))
        runner.run(step.argv, stdin=step.stdin)


def restore_snapshot(restore: Restore, backend: backends.Backend, sysctls: Sysctls) -> str:
    """Make the host match a snapshot again (the module's wait, a failed apply, the watchdog)."""
    live = backend.read()
    current = sysctls.read(sorted(SYSCTLS))
    raw = plan.Raw(restore.rules_raw, backend.capture(live)) if restore.use_raw else None
    the_plan = plan.restore_plan(restore.snapshot.policy, live, current, backend, raw, force=True)
    files = restore.sysctl_raw
    the_plan.sysctls = {key: value for key, value in the_plan.sysctls.items()
                        if not any(rel in files for rel in SYSCTLS[key])}
    _apply(backend.runner, the_plan, sysctls, [])
    _restore_sysctl_files(sysctls, files)
    return "restored (%d commands)" % len(the_plan.commands())


def _forget_path_mtus(the_plan: plan.Plan, runner: CommandRunner) -> t.List[str]:
    """A policy that drops frag-needed / packet-too-big: forget the path MTUs learnt under the old
    one (``ip route flush cache``), so the host behaves now as it will once they expire (up to
    10 minutes), and a full-size commit-confirm sees the black hole instead of a cached past."""
    families = pmtud_blocked(the_plan.after)
    if not families:
        return []
    try:
        for family in families:
            runner.run(["ip", "-%s" % family[-1], "route", "flush", "cache"])
    except CommandError as err:
        return ["the policy drops Path MTU Discovery messages; could not flush cached path MTUs: %s" % err]
    return ["the policy drops Path MTU Discovery messages (%s): cached path MTUs were flushed, so paths with a "
            "smaller MTU black-hole full-size packets now rather than when the cache expires" % ", ".join(families)]


def _commit(request: Request, seams: Seams, backend: backends.Backend, the_plan: plan.Plan,
            restore: Restore, warnings: t.List[str], lock: statefiles.StateLock) -> t.Dict[str, t.Any]:
    confirming = bool(request.token) and request.confirm_timeout > 0
    cookie = None
    if confirming:
        cookie = _arm(request, seams, backend.name, restore, t.cast(str, request.token), request.confirm_timeout,
                      lock)
    elif len(the_plan.steps) + len(the_plan.sysctls) > 1 and seams.spawn is not None:
        # a kill between two writes must not leave half a policy: a dead-man restores unless we finish
        cookie = _arm(request, seams, backend.name, restore, secrets.token_hex(16), request.deadman_s, lock)
    journal: t.List[str] = []
    try:
        _apply(seams.runner, the_plan, seams.sysctls, journal)
    except (PolicyError, CommandError, OSError) as err:
        return _failed_apply(seams, backend, restore, cookie, journal, err)
    warnings.extend(_forget_path_mtus(the_plan, seams.runner))
    if cookie is None:
        return {"applied": True, "confirm": "disabled"}
    if not confirming:
        return _disarm(cookie, restore)
    if cookie.mark_applied():  # the confirmation window opens now that the rules are live
        outcome = confirm.wait_for_confirmation(cookie, request.confirm_timeout, seams.clock)
    else:
        outcome = confirm.watchdog_took_over(cookie, seams.clock)
    if outcome.confirmed:
        cookie.cleanup()
        return {"applied": True, "confirm": "confirmed", "trace": outcome.trace}
    try:
        if not outcome.rolled_back:
            restore_snapshot(restore, backend, seams.sysctls)
            outcome.trace.append("rolled-back")
    finally:
        cookie.cleanup()
    return {"applied": False, "rolled_back": True, "confirm": "expired", "trace": outcome.trace,
            "msg": "%s: restored snapshot %d (the controller could not confirm over a fresh connection)"
                   % (outcome.message, restore.snapshot.snapshot_id)}


def _arm(request: Request, seams: Seams, name: str, restore: Restore, token: str, timeout_s: float,
         lock: statefiles.StateLock) -> confirm.Cookie:
    """The cookie exists BEFORE the first write, so a module killed halfway is still rolled back.

    The watchdog inherits the lock's descriptor and keeps the lock until it has seen the outcome."""
    cookie = confirm.Cookie(os.path.join(request.state_dir, "confirm"), token, lock.fd)
    cookie.arm()
    if seams.spawn is not None:
        watchdog = seams.spawn(cookie, timeout_s, _watchdog_restore(request, seams, name, restore))
        lock.note("pid %d, its commit-confirm watchdog pid %d" % (os.getpid(), watchdog))
    return cookie


def _disarm(cookie: confirm.Cookie, restore: Restore) -> t.Dict[str, t.Any]:
    """The whole apply is in: stop the dead-man, unless it already claimed the rollback (a very slow apply)."""
    try:
        os.unlink(cookie.applying)
    except FileNotFoundError:
        return {"applied": False, "rolled_back": True, "confirm": "failed",
                "msg": "the apply took longer than the watchdog allows, so the watchdog restored snapshot %d; "
                       "nothing of the new policy is in place" % restore.snapshot.snapshot_id}
    cookie.cleanup()
    return {"applied": True, "confirm": "disabled"}


def _watchdog_restore(request: Request, seams: Seams, name: str, restore: Restore) -> t.Callable[[], str]:
    """The detached watchdog's restore: a fresh backend over a fresh runner (``restore_runner``)."""
    make_runner = seams.restore_runner or (lambda: seams.runner)

    def watchdog_restore() -> str:
        fresh = backends.make_backend(name, make_runner(), request.table, request.chain_prefix, seams.which,
                                      request.log_group)
        return restore_snapshot(restore, fresh, seams.sysctls)

    return watchdog_restore


def _failed_apply(seams: Seams, backend: backends.Backend, restore: Restore, cookie: t.Optional[confirm.Cookie],
                  journal: t.List[str], err: Exception) -> t.Dict[str, t.Any]:
    """All or nothing: a failure after the first write restores the snapshot now, in every mode."""
    snapshot_id = restore.snapshot.snapshot_id
    if cookie is not None and not cookie.expire():
        raise PolicyError("the apply failed (%s); the watchdog has claimed the rollback and restores snapshot %d"
                          % (err, snapshot_id)) from err
    if not journal:  # the validation refused it: nothing was written
        if cookie is not None:
            cookie.cleanup()
        raise err
    try:
        done = restore_snapshot(restore, backend, seams.sysctls)
    except (PolicyError, CommandError, OSError) as restore_err:
        raise PolicyError(
            "the apply failed after it started writing (%s): %s; restoring snapshot %d failed too: %s. The host "
            "may hold part of the new policy: fix the cause and run rollback: %d"
            % (", ".join(journal), err, snapshot_id, restore_err, snapshot_id)) from restore_err
    finally:
        if cookie is not None:
            cookie.cleanup()
    return {"applied": False, "rolled_back": True, "confirm": "failed",
            "msg": "the apply failed after it started writing (%s), so snapshot %d was restored (%s); nothing of the "
                   "new policy is in place. The error: %s" % (", ".join(journal), snapshot_id, done, err)}
