# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy_drift filter (docs in policy_drift.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import drift as drift_mod

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


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"policy_drift": policy_drift}
