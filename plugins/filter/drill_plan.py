# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_plan filter (docs in drill_plan.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import registry


def drill_plan(names: t.Any, lab: t.Any) -> t.Dict[str, t.Any]:
    if isinstance(names, str) or not isinstance(names, t.Sequence) or not all(isinstance(n, str) for n in names):
        raise AnsibleFilterError("netdevops.icmp.drill_plan: icmp_drill_names must be a list of drill names (or [all]), "
                                 "got %r" % (names,))
    if not isinstance(lab, t.Mapping):
        raise AnsibleFilterError("netdevops.icmp.drill_plan: the lab must be the fact icmp_drill_lab (a mapping), got %r" % (lab,))
    return registry.plan(list(names), lab)


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_plan": drill_plan}
