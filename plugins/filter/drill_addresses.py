# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_addresses filter (docs in drill_addresses.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import record


def drill_addresses(nodes: t.Any, **fields: t.Any) -> t.List[t.Any]:
    # map('extract', hostvars, 'lab_addresses') hands over a generator, not a list
    if isinstance(nodes, (str, bytes, t.Mapping)) or not isinstance(nodes, t.Iterable):
        raise AnsibleFilterError("netdevops.icmp.drill_addresses: expected a list of lab_addresses, got %r" % (nodes,))
    try:
        addresses = record.flatten_addresses(list(nodes))
    except record.DrillDataError as err:
        raise AnsibleFilterError("netdevops.icmp.drill_addresses: %s" % err) from err
    if not fields:
        return list(addresses)
    return [dict(fields, target=address) for address in addresses]


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_addresses": drill_addresses}
