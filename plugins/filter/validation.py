# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for change validation and drift checks (docs in the YAML files beside this one)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import checks as checks_mod
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import compare as compare_mod
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import drift as drift_mod


def _loop_results(value: t.Any) -> t.List[t.Any]:
    """A registered loop (``{results: [...]}``), a list of results, or nothing."""
    if value is None:
        return []
    if isinstance(value, t.Mapping):
        return [item for item in value.get("results") or [] if not item.get("skipped")]
    return list(value)


def plan_checks(plan: t.Any, ping: t.Any = None, traceroute: t.Any = None, pmtud: t.Any = None) -> t.List[t.Dict[str, t.Any]]:
    if isinstance(ping, t.Mapping) and ping.get("skipped"):
        ping = None
    try:
        return checks_mod.build_checks(plan, ping, _loop_results(traceroute), _loop_results(pmtud))
    except (checks_mod.PlanError, addresses.MissingLibrary) as err:
        raise AnsibleFilterError("netdevops.icmp.plan_checks: %s" % err) from err


def compare_baseline(checks: t.Any, baseline: t.Any, tolerance: t.Any = None, fail_on_preexisting: bool = False,
                     host: str = "") -> t.Dict[str, t.Any]:
    if isinstance(baseline, t.Mapping):
        baseline = baseline.get("checks") or []
    if not isinstance(checks, list) or not isinstance(baseline, list):
        raise AnsibleFilterError("netdevops.icmp.compare_baseline: expected lists of checks (from plan_checks), "
                                 "got %s and %s" % (type(checks).__name__, type(baseline).__name__))
    try:
        return compare_mod.compare_run(checks, baseline, tolerance, bool(fail_on_preexisting), str(host))
    except ValueError as err:
        raise AnsibleFilterError("netdevops.icmp.compare_baseline: %s" % err) from err


# Linux hosts (gathered) and the device/cloud targets of the policy module (parsed running configuration).
DRIFT_BACKENDS = ("nftables", "iptables", "cisco_ios", "aws_security_group", "aws_network_acl")


def policy_drift(gathered: t.Any, desired: t.Any, backend: str = "nftables", other: t.Any = None,
                 plan: t.Any = None, sysctl_keys: t.Any = None) -> t.Dict[str, t.Any]:
    if not isinstance(desired, t.Mapping) or not isinstance(gathered, (t.Mapping, type(None))):
        raise AnsibleFilterError("netdevops.icmp.policy_drift: gathered and desired must be policies "
                                 "({rules, sysctls}), got %r and %r" % (gathered, desired))
    if backend not in DRIFT_BACKENDS:
        raise AnsibleFilterError("netdevops.icmp.policy_drift: backend %r is not one of: %s"
                                 % (backend, ", ".join(DRIFT_BACKENDS)))
    return drift_mod.compare_policy(desired, gathered, backend=backend, other=other, plan=plan,
                                    sysctl_keys=None if sysctl_keys is None else list(sysctl_keys))


def check_target(entry: t.Any) -> str:
    if isinstance(entry, t.Mapping):
        if not entry.get("target"):
            raise AnsibleFilterError("netdevops.icmp.check_target: check %r has no target" % (dict(entry),))
        return str(entry["target"])
    return str(entry)


def check_problems(checks: t.Any, host: str = "") -> t.List[str]:
    lines = []
    for check in checks or []:
        for regression in check.get("regressions") or []:
            lines.append("%s%s %s: %s" % (host + " " if host else "", check["kind"], check["target"], regression["message"]))
        if not check.get("regressions") and check.get("status") != "pass":
            lines.append("%s%s %s: %s" % (host + " " if host else "", check["kind"], check["target"],
                                          "; ".join(check.get("failures") or []) or check.get("status")))
    return lines


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"plan_checks": plan_checks, "compare_baseline": compare_baseline, "policy_drift": policy_drift,
                "check_target": check_target, "check_problems": check_problems}
