# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plan_checks filter (docs in plan_checks.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import checks as checks_mod


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


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"plan_checks": plan_checks}
