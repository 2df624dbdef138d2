# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_flood_verdict filter (docs in drill_flood_verdict.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import flood, record


def drill_flood_verdict(flood_result: t.Any, before: t.Any, after: t.Any, witness: t.Any, rate: t.Any, burst: t.Any,
                        seconds: t.Any, target: str = "the server", witness_name: str = "elsewhere") -> t.Dict[str, t.Any]:
    try:
        return flood.flood_verdict(flood_result, before, after, witness, rate, burst, seconds,
                                   target=target, witness_name=witness_name)
    except record.DrillDataError as err:
        raise AnsibleFilterError("netdevops.icmp.drill_flood_verdict: %s" % err) from err


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_flood_verdict": drill_flood_verdict}
