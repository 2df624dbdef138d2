# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The check_target filter (docs in check_target.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError


def check_target(entry: t.Any) -> str:
    if isinstance(entry, t.Mapping):
        if not entry.get("target"):
            raise AnsibleFilterError("netdevops.icmp.check_target: check %r has no target" % (dict(entry),))
        return str(entry["target"])
    return str(entry)


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"check_target": check_target}
