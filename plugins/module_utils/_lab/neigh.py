# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Size a lab within the host's neighbour tables (read, never changed).

The ARP and NDP tables are host-wide: one table per family holds the entries of
every namespace, capped by ``/proc/sys/net/ipv{4,6}/neigh/default/gc_thresh3``
(1,024 by default); past it the kernel drops packets with "neighbour table
overflow". Namespaces cannot raise it and the lab must not. A lab needs at
least two entries (one per end) per link and, on a segment, per member talking
to one peer (the controller or a router): ``2 * (members - 1)``. Every extra pair
of members that talk to each other adds two more, which the lab cannot foresee;
hence the refusal at the limit and a warning when the estimate comes close.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import TopologyError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Topology

GC_THRESH3 = "/proc/sys/net/ipv%d/neigh/default/gc_thresh3"
# The first column, "entries", is the table's global count (every namespace), on every line.
CACHE_STATS = {4: "/proc/net/stat/arp_cache", 6: "/proc/net/stat/ndisc_cache"}
WARN_FRACTION = 0.75


@dataclass(frozen=True)
class TableLimit:
    family: int
    gc_thresh3: int
    in_use: t.Optional[int]  # entries now, all namespaces; None when unreadable


def parse_gc_thresh(text: t.Optional[str]) -> t.Optional[int]:
    value = (text or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def parse_cache_entries(text: t.Optional[str]) -> t.Optional[int]:
    """``/proc/net/stat/arp_cache``: a header, then per-CPU lines of hex counters."""
    lines = (text or "").splitlines()
    if len(lines) < 2 or not lines[0].split() or lines[0].split()[0] != "entries":
        return None
    try:
        return int(lines[1].split()[0], 16)
    except (ValueError, IndexError):
        return None


def needed_entries(topo: Topology, family: int) -> int:
    """The entries the lab needs at the least (see the module docstring)."""
    total = 2 * sum(1 for link in topo.links if link.prefix(family) is not None)
    total += 2 * sum(1 for tunnel in topo.tunnels if (tunnel.ipv4 if family == 4 else tunnel.ipv6) is not None)
    for segment in topo.segments:
        if segment.prefix(family) is not None:
            stations = len(segment.members) + (1 if segment.controller is not None else 0)
            total += 2 * (stations - 1)
    return total


def check_budget(topo: Topology, limits: t.Sequence[TableLimit]) -> t.List[str]:
    """Refuse a lab over ``gc_thresh3``; warnings when it comes close. Names the numbers."""
    warnings: t.List[str] = []
    for limit in limits:
        needed = needed_entries(topo, limit.family)
        table = "IPv%d neighbour table" % limit.family
        knob = GC_THRESH3 % limit.family
        if needed > limit.gc_thresh3:
            raise TopologyError(
                "lab %s needs at least %d %s entries (2 per link, 2 per segment member besides one), more "
                "than the host-wide limit %s = %d shared by every namespace; build a smaller lab (fewer "
                "hosts per segment, ipv%d: false where not needed) - the lab never changes that limit"
                % (topo.name, needed, table, knob, limit.gc_thresh3, limit.family)
            )
        in_use = limit.in_use or 0
        if needed and needed + in_use > WARN_FRACTION * limit.gc_thresh3:
            warnings.append(
                "lab %s needs at least %d %s entries and %d are in use now (all namespaces, this lab's own "
                "included if it is up), against the host-wide limit %s = %d; every pair of lab nodes that "
                "talk to each other adds 2 more, and past the limit the kernel drops packets "
                "(neighbour table overflow)" % (topo.name, needed, table, in_use, knob, limit.gc_thresh3)
            )
    return warnings
