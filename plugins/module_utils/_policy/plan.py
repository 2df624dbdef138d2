# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""want / have / commands for every state: one planning path for check and normal mode.

``resolve`` says what the policy must be after the run; ``make_plan`` turns that
into backend steps and sysctl writes. Nothing here runs a command: the module
reads ``have`` through the backend, plans, and applies the plan unless in check
mode. The diff text comes from the backend's renderer on both sides.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import coexist, nft, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.backends import Backend, Live, Step
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, check_safe

OWNED = {"nftables": ("table inet %s", "table"), "iptables": ("chains %s-IN, -FWD and -OUT", "chain_prefix")}
STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed")
CHANGING = ("merged", "replaced", "overridden", "deleted")


class ForeignContent(PolicyError):
    """Our table/chains hold something this module did not write: refused unless forced."""


def check_owned(live: Live, backend: Backend, force: bool) -> t.List[str]:
    """Refuse to change a table/chains with our name that hold content we did not write.

    Returns the warning for a forced change (the content is replaced; the snapshot
    keeps its raw text, so ``rollback`` brings it back).
    """
    if not live.unknown:
        return []
    label, option = OWNED[backend.name]
    where = label % owned_name(backend)
    found = "; ".join(live.unknown)
    if force:
        return ["force: replaced content of %s that this module did not write (the snapshot keeps its raw "
                "text; rollback restores it): %s" % (where, found)]
    raise ForeignContent(
        "%s holds content this module did not write: %s. Nothing was changed: it is not ours to replace. "
        "Use another %s for this policy, remove or move that content yourself, or set force: true to "
        "replace it (force deletes everything in %s; the snapshot keeps its raw text for rollback)"
        % (where, found, option, where))


def owned_name(backend: Backend) -> str:
    return getattr(backend, "table", None) or getattr(backend, "prefix", "")


def resolve(state: str, want: Policy, have: Policy) -> Policy:
    """The rules the host must end up with (sysctls are handled by ``sysctl_writes``)."""
    if state == "merged":
        return Policy.build(list(have.rules) + list(want.rules))
    if state == "replaced":
        touched = set(want.chains())
        kept = [r for r in have.rules if (r.family, r.direction) not in touched]
        return Policy.build(kept + list(want.rules))
    if state == "overridden":
        return Policy.build(want.rules)
    if state == "deleted":
        if not want.rules:
            return Policy()
        gone = {r.key for r in want.rules}
        return Policy.build(r for r in have.rules if r.key not in gone)
    raise PolicyError("state %r does not change the host; use one of: %s" % (state, ", ".join(CHANGING)))


def sysctl_writes(state: str, want: Policy, current: t.Mapping[str, t.Optional[int]]) -> t.Dict[str, int]:
    """Sysctls to write; ``deleted`` never writes (the earlier values are in the snapshot)."""
    if state == "deleted":
        return {}
    return {key: value for key, value in want.sysctls if not sysctl.holds(key, value, current.get(key))}


@dataclass
class Plan:
    state: str
    before: Policy
    after: Policy
    steps: t.List[Step]
    sysctls: t.Dict[str, int]
    warnings: t.List[str] = field(default_factory=list)
    diff_before: str = ""
    diff_after: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.steps or self.sysctls)

    def commands(self) -> t.List[str]:
        lines: t.List[str] = []
        for step in self.steps:
            lines.extend(step.lines())
        lines.extend("sysctl -w %s=%d" % item for item in sorted(self.sysctls.items()))
        return lines


def with_sysctls(policy: Policy, values: t.Mapping[str, t.Optional[int]]) -> Policy:
    return Policy(policy.rules, tuple(sorted((k, v) for k, v in values.items() if v is not None)))


def make_plan(
    state: str,
    want: Policy,
    live: Live,
    current_sysctls: t.Mapping[str, t.Optional[int]],
    backend: Backend,
    allow_unsafe: bool = False,
    force: bool = False,
) -> Plan:
    forced = check_owned(live, backend, force)
    target = resolve(state, want, live.rules)
    check_safe(target, allow_unsafe)
    writes = sysctl_writes(state, want, current_sysctls)
    after_sysctls = dict(current_sysctls)
    after_sysctls.update(writes)
    before = with_sysctls(live.rules, current_sysctls)
    after = with_sysctls(target, after_sysctls)
    plan = Plan(state, before, after, backend.steps(live, target), writes)
    plan.warnings = forced + coexist.warnings_for(target, live.foreign) + _drift_warnings(live)
    plan.diff_before = _diff_text(backend, before)
    plan.diff_after = _diff_text(backend, after)
    return plan


def restore_plan(snapshot: Policy, live: Live, current_sysctls: t.Mapping[str, t.Optional[int]],
                 backend: Backend, raw: t.Optional[Raw] = None, force: bool = True) -> Plan:
    """Back to a snapshot: its rules exactly, and every sysctl it recorded.

    With ``raw`` (the snapshot's raw text and the live one) the steps restore our
    table/chains byte for byte, foreign content a forced change replaced included.
    """
    forced = check_owned(live, backend, force)
    writes = {k: v for k, v in snapshot.sysctls if not sysctl.holds(k, v, current_sysctls.get(k))}
    after_sysctls = dict(current_sysctls)
    after_sysctls.update(writes)
    before = with_sysctls(live.rules, current_sysctls)
    after = with_sysctls(Policy.build(snapshot.rules), after_sysctls)
    if raw is not None:
        steps = backend.raw_steps(raw.snapshot, live, raw.live)
    else:
        steps = backend.steps(live, Policy.build(snapshot.rules))
    plan = Plan("rollback", before, after, steps, writes, forced)
    plan.diff_before, plan.diff_after = _diff_text(backend, before), _diff_text(backend, after)
    return plan


@dataclass(frozen=True)
class Raw:
    """The raw text of our table/chains in a snapshot and on the host now (``Backend.capture``)."""
    snapshot: t.Mapping[str, str]
    live: t.Mapping[str, str]


def _diff_text(backend: Backend, policy: Policy) -> str:
    text = backend.render_text(policy)
    return text + "".join("sysctl %s = %d\n" % item for item in policy.sysctls)


def _drift_warnings(live: Live) -> t.List[str]:
    """Our own rules edited by hand (reordered or duplicated): said, then rewritten in canonical order.

    Rules without a hit counter are not a reordering (the drift report tells the two apart by these words)."""
    return ["%s in our table/chains: the policy is rewritten %s"
            % (item, "with counters" if item == nft.UNCOUNTED else "in canonical order") for item in live.drift]
