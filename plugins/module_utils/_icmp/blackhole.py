# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Where a PMTUD black hole is: the hop after which probes of a size stop coming back.

Once the search knows a size that vanishes (``big``) and one that passes (``small``), one
probe of each size goes out at every TTL at once. A router expires a probe (time exceeded)
before it has to forward it, so the big probe is answered by every hop up to and including
the router whose next link is too small for it; past that hop it vanishes while the small
probe of the same TTL is still answered. That router is where reports stop: it drops the
big packet and its frag-needed / packet-too-big never arrives.
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import HopRef, ProbeEvent, ProbeSpec

if t.TYPE_CHECKING:
    from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import Prober
    from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import Clock

_ANSWERS = ("ttl_exceeded", "reply")


class Located(t.NamedTuple):
    last_full_size_hop: t.Optional[HopRef]  # the last hop that answered a probe of ``big`` bytes
    first_vanishing_hop: t.Optional[HopRef]  # the first hop where ``big`` vanished and ``small`` was answered


def locate(prober: "Prober", clock: "Clock", first_number: int, sizes: t.Tuple[int, int], max_ttl: int,
           timeout_s: float, grace_s: float) -> Located:
    """Probe TTL 1..``max_ttl`` with ``sizes`` (big, small); probe numbers start at ``first_number``."""
    big, small = sizes
    wanted: t.Dict[int, t.Tuple[int, int]] = {}  # probe number -> (ttl, size)
    number = first_number
    for ttl in range(1, max_ttl + 1):
        for size in (big, small):
            wanted[number] = (ttl, size)
            prober.send(ProbeSpec(number=number, ttl=ttl, size=size))
            number += 1
    answers = _collect(prober, clock, wanted, timeout_s, grace_s)
    return _where(answers, big, small, max_ttl)


def _collect(prober: "Prober", clock: "Clock", wanted: t.Dict[int, t.Tuple[int, int]], timeout_s: float,
             grace_s: float) -> t.Dict[t.Tuple[int, int], ProbeEvent]:
    """Answers by (ttl, size) until all came back, or ``grace_s`` after the destination replied."""
    answers: t.Dict[t.Tuple[int, int], ProbeEvent] = {}
    deadline = clock.monotonic_ns() + int(timeout_s * 1e9)
    while len(answers) < len(wanted):
        now = clock.monotonic_ns()
        if now >= deadline:
            break
        for event in prober.poll((deadline - now) / 1e9):
            key = wanted.get(event.number)
            if key is None or event.kind not in _ANSWERS:
                continue
            answers.setdefault(key, event)
            if event.kind == "reply":
                deadline = min(deadline, event.rx_ns + int(grace_s * 1e9))
    return answers


def _where(answers: t.Dict[t.Tuple[int, int], ProbeEvent], big: int, small: int, max_ttl: int) -> Located:
    full = [ttl for ttl in range(1, max_ttl + 1) if (ttl, big) in answers]
    last_full = max(full) if full else None
    for ttl in range(1 + (last_full or 0), max_ttl + 1):
        if (ttl, big) not in answers and (ttl, small) in answers:
            first_vanish = HopRef(ttl, answers[(ttl, small)].address)
            break
    else:
        first_vanish = None
    last = HopRef(last_full, answers[(last_full, big)].address) if last_full is not None else None
    return Located(last, first_vanish)
