# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Equal-cost multipath (ECMP): the topology's ``ecmp`` options and the hash sysctls.

Linux picks the next hop of a multipath route by hashing the flow. With the default
policy (0, L3) the hash covers the addresses only, so every probe of a traceroute
from one host to another takes the same branch; the L4 policy (1) adds the ports,
so flows with other ports spread over the branches, as on real routers.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Node, Route, check_keys

_ECMP_KEYS = ("auto", "hash_policy")
# 0 L3, 1 L4 (5-tuple), 2 L3 or inner L3 of encapsulated packets. 3 (custom fields)
# needs fib_multipath_hash_fields as well, which the lab does not set.
HASH_POLICIES = (0, 1, 2)
DEFAULT_HASH_POLICY = 1
HASH_SYSCTLS = ("net.ipv4.fib_multipath_hash_policy", "net.ipv6.fib_multipath_hash_policy")


@dataclasses.dataclass(frozen=True)
class EcmpOptions:
    auto: bool = False  # automatic routes keep every equal-cost next hop
    hash_policy: int = DEFAULT_HASH_POLICY


def parse_ecmp(value: t.Any) -> EcmpOptions:
    if value is None:
        return EcmpOptions()
    data = check_keys(value, _ECMP_KEYS, "ecmp")
    auto = data.get("auto", False)
    if not isinstance(auto, bool):
        raise TopologyError("ecmp.auto must be true or false, got %r" % (auto,))
    policy = data.get("hash_policy", DEFAULT_HASH_POLICY)
    if isinstance(policy, bool) or policy not in HASH_POLICIES:
        raise TopologyError(
            "ecmp.hash_policy %r is not supported; use 0 (addresses only), 1 (addresses and ports, "
            "the default) or 2 (inner addresses of encapsulated packets)" % (policy,)
        )
    return EcmpOptions(auto, policy)


def with_hash_policy(nodes: t.Sequence[Node], routes: t.Sequence[Route], options: EcmpOptions) -> t.List[Node]:
    """Set the multipath hash on every router, and on hosts that hold a multipath route,
    when the lab has any multipath route; a node's own ``sysctls`` win."""
    holders = {route.node for route in routes if route.multipath}
    if not holders:
        return list(nodes)
    value = str(options.hash_policy)
    changed: t.List[Node] = []
    for node in nodes:
        if node.role != "router" and node.name not in holders:
            changed.append(node)
            continue
        merged = dict(node.sysctls)
        for key in HASH_SYSCTLS:
            merged.setdefault(key, value)
        changed.append(dataclasses.replace(node, sysctls=tuple(sorted(merged.items()))))
    return changed
