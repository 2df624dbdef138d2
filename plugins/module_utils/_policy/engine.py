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

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import backends, confirm, iptables, nft, offline, plan
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
    running_config: t.Optional[str] = None


@dataclass
class Seams:
    runner: CommandRunner
    clock: confirm.Clock = field(default_factory=confirm.SystemClock)
    sysctls: Sysctls = field(default_factory=Sysctls)
    which: t.Callable[[str], t.Optional[str]] = backends.shutil.which
    spawn: t.Optional[t.Callable[[confirm.Cookie, float, t.Callable[[], str]], int]] = confirm.spawn_watchdog
    restore_runner: t.Optional[t.Callable[[], CommandRunner]] = None
    scope: t.Callable[[], str] = confirm.netns_scope


def _empty_result() -> t.Dict[str, t.Any]:
    return {"changed": False, "before": None, "after": None, "commands": [], "snapshot": None,
            "applied": False, "rolled_back": False, "warnings": [], "backend": None,
            "gathered": None, "rendered": None, "parsed": None, "rendered_data": None, "diff": None}


def execute(request: Request, seams: Seams) -> t.Dict[str, t.Any]:
    """Run one request; raises ``PolicyError`` for bad input (nothing changed by then)."""
    result = _empty_result()
    if request.state in ("rendered", "parsed"):
        result.update(_offline(request))
        return result
    if request.backend in offline.DEVICE_BACKENDS:
        raise PolicyError("backend %s renders and parses only (state rendered or parsed), got state %s: push "
                          "rendered_data with the vendor's own module" % (request.backend, request.state))
    backend = backends.make_backend(request.backend, seams.runner, request.table, request.chain_prefix, seams.which)
    result["backend"] = backend.name
    live = backend.read()
    current = seams.sysctls.read(sorted(SYSCTLS))
    if request.state == "gathered" and request.rollback is None:
        result["gathered"] = plan.with_sysctls(live.rules, current).to_dict()
        return result
    history = confirm.History(os.path.join(request.state_dir, backend.name, seams.scope()), request.history_size)
    if request.rollback is not None:
        snap = history.pick(request.rollback, plan.with_sysctls(live.rules, current))
        the_plan = plan.restore_plan(snap.policy, live, current, backend)
    else:
        the_plan = plan.make_plan(request.state, request.want, live, current, backend, request.allow_unsafe)
    result.update(before=the_plan.before.to_dict(), after=the_plan.after.to_dict(), commands=the_plan.commands(),
                  changed=the_plan.changed, warnings=the_plan.warnings,
                  diff={"before": the_plan.diff_before, "after": the_plan.diff_after})
    if not the_plan.changed or request.check_mode:
        return result
    snap = history.save(backend.name, live.policy is not None, the_plan.before)
    result["snapshot"] = snap.snapshot_id
    result.update(_commit(request, seams, backend, the_plan, snap, result["warnings"]))
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
            snap: confirm.Snapshot, warnings: t.List[str]) -> t.Dict[str, t.Any]:
    if not request.token or request.confirm_timeout <= 0:
        _apply(seams.runner, backend, the_plan, seams.sysctls)
        warnings.extend(_forget_path_mtus(the_plan, seams.runner))
        return {"applied": True, "confirm": "disabled"}
    cookie = confirm.Cookie(os.path.join(request.state_dir, "confirm"), request.token)
    cookie.arm()
    if seams.spawn is not None:
        restore_runner = seams.restore_runner or (lambda: seams.runner)

        def watchdog_restore() -> str:
            fresh = backends.make_backend(backend.name, restore_runner(), request.table, request.chain_prefix,
                                          seams.which)
            return restore_snapshot(snap.policy, fresh, seams.sysctls)

        seams.spawn(cookie, request.confirm_timeout, watchdog_restore)
    try:
        _apply(seams.runner, backend, the_plan, seams.sysctls)
    except Exception:
        if cookie.expire():  # a failed apply is rolled back at once, not at the deadline
            restore_snapshot(snap.policy, backend, seams.sysctls)
            cookie.cleanup()
        raise
    warnings.extend(_forget_path_mtus(the_plan, seams.runner))
    cookie.mark_applied()
    outcome = confirm.wait_for_confirmation(cookie, request.confirm_timeout, seams.clock)
    if outcome.confirmed:
        cookie.cleanup()
        return {"applied": True, "confirm": "confirmed", "trace": outcome.trace}
    if not outcome.rolled_back:
        restore_snapshot(snap.policy, backend, seams.sysctls)
        outcome.trace.append("rolled-back")
    cookie.cleanup()
    return {"applied": False, "rolled_back": True, "confirm": "expired", "trace": outcome.trace,
            "msg": "%s: restored snapshot %d (the controller could not confirm over a fresh connection)"
                   % (outcome.message, snap.snapshot_id)}


def _offline(request: Request) -> t.Dict[str, t.Any]:
    """``rendered`` / ``parsed``: no host, any backend (``auto`` means nftables here)."""
    name = "nftables" if request.backend == "auto" else request.backend
    if request.state == "rendered":
        check_safe(request.want, request.allow_unsafe)
        out = offline.render(request.want, name, request.table, request.chain_prefix)
        return {"backend": name, "rendered": out.lines, "rendered_data": out.data,
                "after": out.effective.to_dict(), "warnings": out.warnings}
    policy, notes = offline.parse(request.running_config or "", name, request.table, request.chain_prefix)
    return {"backend": name, "parsed": policy.to_dict(), "warnings": notes}
