# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compare_baseline filter (docs in compare_baseline.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import compare as compare_mod


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


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"compare_baseline": compare_baseline}
