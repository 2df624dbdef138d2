# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_record filter (docs in drill_record.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import record


def drill_record(name: t.Any, times: t.Any, verdict: t.Any = None, details: t.Any = None,
                 error: t.Any = None) -> t.Dict[str, t.Any]:
    if not isinstance(name, str) or not isinstance(times, t.Mapping):
        raise AnsibleFilterError("netdevops.icmp.drill_record: give the drill name and times={t0, injected, detected, "
                                 "recovered}, got %r and %r" % (name, times))
    try:
        return record.record(name, times, verdict=verdict, details=details, error=error)
    except record.DrillDataError as err:
        raise AnsibleFilterError("netdevops.icmp.drill_record: %s" % err) from err


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_record": drill_record}
