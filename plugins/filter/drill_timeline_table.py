# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_timeline_table filter (docs in drill_timeline_table.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import record


def drill_timeline_table(results: t.Any) -> t.List[str]:
    if not isinstance(results, list) or not all(isinstance(item, t.Mapping) for item in results):
        raise AnsibleFilterError("netdevops.icmp.drill_timeline_table: expected the list icmp_drill_results, got %r" % (results,))
    return record.timeline_table(results)


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_timeline_table": drill_timeline_table}
