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
"""
from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import (
    backends, confirm, iptables, netscope, nft, plan, statefiles,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    Policy, PolicyError, check_safe, pmtud_blocked,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.sysctl import SYSCTLS, Sysctls
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandRunner


@dataclass
class Request:
    state: str = "merged"
    want: Policy = field(default_factory=Policy)
    backend: str = "auto"
    table: str = nft.DEFAULT_TABLE
    chain_prefix: str = iptables.DEFAULT_PREFIX
    allow_unsafe: bool = False
    state_dir: str = confirm.DEFAULT_STATE_DIR
    confirm_timeout: float = 0
    token: t.Optional[str] = None
    rollback: t.Optional[str] = None
    history_size: int = 20
    check_mode: bool = False
    lock_timeout: t.Optional[float] = None  # None: confirm.lock_wait_s(confirm_timeout)
    running_config: t.Optional[str] = None


@dataclass
class Seams:
    runner: CommandRunner
    clock: confirm.Clock = field(default_factory=confirm.SystemClock)
    sysctls: Sysctls = field(default_factory=Sysctls)
    which: t.Callable[[str], t.Optional[str]] = backends.shutil.which
    spawn: t.Optional[t.Callable[[confirm.Cookie, float, t.Callable[[], str]], int]] = confirm.spawn_watchdog
    restore_runner: t.Optional[t.Callable[[], CommandRunner]] = None
    netns: netscope.NetnsIdentity = field(default_factory=netscope.NetnsIdentity)


def _empty_result() -> t.Dict[str, t.Any]:
    return {"changed": False, "before": None, "after": None, "commands": [], "snapshot": None,
            "applied": False, "rolled_back": False, "warnings": [], "backend": None,
            "gathered": None, "rendered": None, "parsed": None, "diff": None}


def execute(request: Request, seams: Seams) -> t.Dict[str, t.Any]:
    """Run one request; raises ``PolicyError`` for bad input (nothing changed by then)."""
    result = _empty_result()
    if request.state == "rendered":
        check_safe(request.want, request.allow_unsafe)
        name = "iptables" if request.backend == "iptables" else "nftables"
        result.update(backend=name, rendered=render_offline(request.want, name, request))
        return result
    if request.state == "parsed":
        name = "iptables" if request.backend == "iptables" else "nftables"
        result.update(backend=name, parsed=parse_offline(request.running_config or "", name, request).to_dict())
        return result
    backend = backends.make_backend(request.backend, seams.runner, request.table, request.chain_prefix, seams.which)
    result["backend"] = backend.name
    if request.state == "gathered" and request.rollback is None:  # read-only: no lock (nft and
        # iptables-restore apply atomically, so a concurrent run is seen before or after, never halfway)
        current = seams.sysctls.read(sorted(SYSCTLS))
        result["gathered"] = plan.with_sysctls(backend.read().rules, current).to_dict()
        return result
    if request.check_mode:  # plans only: no lock, nothing written under state_dir
        return _change(request, seams, backend, result, None)
    # One changing run per host at a time, from the read to the end of its confirmation window.
    state_dir = statefiles.ensure_dir(request.state_dir)
    wait_s = confirm.lock_wait_s(request.confirm_timeout) if request.lock_timeout is None else request.lock_timeout
    lock_dir = statefiles.ensure_dir(os.path.join(state_dir, "locks"))
    with statefiles.StateLock(os.path.join(lock_dir, seams.netns.lock_name() + ".lock"), wait_s, seams.clock) as lock:
        return _change(request, seams, backend, result, lock)


def _change(request: Request, seams: Seams, backend: backends.Backend, result: t.Dict[str, t.Any],
            lock: t.Optional[statefiles.StateLock]) -> t.Dict[str, t.Any]:
    live = backend.read()
    current = seams.sysctls.read(sorted(SYSCTLS))
    scope = seams.netns.scope(request.state_dir, create=lock is not None)
    history = confirm.History(os.path.join(request.state_dir, backend.name, scope or "none"), request.history_size,
                              scope=scope or "")
    if request.rollback is not None:
        snap = history.pick(request.rollback, plan.with_sysctls(live.rules, current))
        the_plan = plan.restore_plan(snap.policy, live, current, backend)
    else:
        the_plan = plan.make_plan(request.state, request.want, live, current, backend, request.allow_unsafe)
    result.update(before=the_plan.before.to_dict(), after=the_plan.after.to_dict(), commands=the_plan.commands(),
                  changed=the_plan.changed, warnings=the_plan.warnings,
                  diff={"before": the_plan.diff_before, "after": the_plan.diff_after})
    if not the_plan.changed or lock is None:
        return result
    snap = history.save(backend.name, live.policy is not None, the_plan.before)
    result["snapshot"] = snap.snapshot_id
    result.update(_commit(request, seams, backend, the_plan, snap, result["warnings"], lock))
    return result


def _apply(runner: CommandRunner, backend: backends.Backend, the_plan: plan.Plan, sysctls: Sysctls) -> None:
    backends.apply_steps(runner, the_plan.steps)
    sysctls.write(the_plan.sysctls)


def restore_snapshot(snap_policy: Policy, backend: backends.Backend, sysctls: Sysctls) -> str:
    """Make the host match a snapshot again (used by the module's wait and by the watchdog)."""
    live = backend.read()
    current = sysctls.read(sorted(SYSCTLS))
    the_plan = plan.restore_plan(snap_policy, live, current, backend)
    _apply(backend.runner, backend, the_plan, sysctls)
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
            snap: confirm.Snapshot, warnings: t.List[str], lock: statefiles.StateLock) -> t.Dict[str, t.Any]:
    if not request.token or request.confirm_timeout <= 0:
        _apply(seams.runner, backend, the_plan, seams.sysctls)
        warnings.extend(_forget_path_mtus(the_plan, seams.runner))
        return {"applied": True, "confirm": "disabled"}
    cookie = confirm.Cookie(os.path.join(request.state_dir, "confirm"), request.token, lock.fd)
    cookie.arm()
    if seams.spawn is not None:
        restore_runner = seams.restore_runner or (lambda: seams.runner)

        def watchdog_restore() -> str:
            fresh = backends.make_backend(backend.name, restore_runner(), request.table, request.chain_prefix,
                                          seams.which)
            return restore_snapshot(snap.policy, fresh, seams.sysctls)

        lock.note("pid %d, its commit-confirm watchdog pid %d"
                  % (os.getpid(), seams.spawn(cookie, request.confirm_timeout, watchdog_restore)))
    try:
        _apply(seams.runner, backend, the_plan, seams.sysctls)
    except Exception:
        if cookie.expire():  # a failed apply is rolled back at once, not at the deadline
            try:
                restore_snapshot(snap.policy, backend, seams.sysctls)
            finally:
                cookie.cleanup()
        raise
    warnings.extend(_forget_path_mtus(the_plan, seams.runner))
    if cookie.mark_applied():  # the confirmation window opens now that the rules are live
        outcome = confirm.wait_for_confirmation(cookie, request.confirm_timeout, seams.clock)
    else:
        outcome = confirm.watchdog_took_over(cookie, seams.clock)
    if outcome.confirmed:
        cookie.cleanup()
        return {"applied": True, "confirm": "confirmed", "trace": outcome.trace}
    try:
        if not outcome.rolled_back:
            restore_snapshot(snap.policy, backend, seams.sysctls)
            outcome.trace.append("rolled-back")
    finally:
        cookie.cleanup()
    return {"applied": False, "rolled_back": True, "confirm": "expired", "trace": outcome.trace,
            "msg": "%s: restored snapshot %d (the controller could not confirm over a fresh connection)"
                   % (outcome.message, snap.snapshot_id)}


def render_offline(want: Policy, backend: str, request: Request) -> t.List[str]:
    if backend == "nftables":
        return nft.render_script(want, request.table).splitlines()
    lines: t.List[str] = []
    for family, tool in (("ipv4", "iptables-restore"), ("ipv6", "ip6tables-restore")):
        text = iptables.render_restore(want, family, {}, request.chain_prefix)
        if text:
            lines.append("%s --noflush" % tool)
            lines.extend(text.splitlines())
    return lines


def parse_offline(text: str, backend: str, request: Request) -> Policy:
    if backend == "nftables":
        policy, _unknown = nft.parse_table(text, request.table)
        return policy or Policy()
    rules = []
    for family in FAMILIES:
        policy, _present, _unknown = iptables.parse_save(text, family, request.chain_prefix)
        rules.extend(policy.rules if policy else ())
    if not rules and "-A " not in text and "*filter" not in text:
        raise PolicyError("running_config does not look like iptables-save output (no '*filter' table)")
    return Policy.build(rules)
