# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The flood drill's verdict: did the server's echo rate limit hold against a flood?"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.record import DrillDataError


def _first_entry(ping: t.Any, what: str) -> t.Mapping[str, t.Any]:
    """The one target's entry of a netdevops.icmp.ping result."""
    entries = ping.get("results") if isinstance(ping, t.Mapping) else None
    if not entries or not isinstance(entries[0], t.Mapping) or "sent" not in entries[0]:
        raise DrillDataError("%s must be the registered result of netdevops.icmp.ping for one target, got %r" % (what, ping))
    return entries[0]


def _echo_requests_in(stats: t.Any, what: str) -> int:
    """Echo requests the kernel's ICMP layer received, from a netdevops.icmp.stats result."""
    try:
        return int(stats["counters"]["ipv4"]["in_by_type"].get("echo-request") or 0)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise DrillDataError("%s must be the registered result of netdevops.icmp.stats, got %r" % (what, stats)) from err


def _count(value: t.Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise DrillDataError("%s must be a number, got %r" % (what, value)) from err
    if number < 0:
        raise DrillDataError("%s must not be negative, got %r" % (what, value))
    return number


def flood_verdict(flood: t.Any, before: t.Any, after: t.Any, witness: t.Any, rate: t.Any, burst: t.Any,
                  seconds: t.Any, target: str = "the server", witness_name: str = "elsewhere") -> t.Dict[str, t.Any]:
    """Verdict ``limit_held``, ``limit_broken`` or ``flood_too_small``, a diagnosis and the numbers.

    The limit (``rate`` per second, ``burst``) may admit at most rate x (seconds + 1) + burst echo
    requests during a flood of ``seconds`` (one second of slack for the edges); it held when the
    flood sent more than that, the server's ICMP layer saw no more than that, and a ping from
    another node (``witness``) right after still got answers.
    """
    sent_entry, witness_entry = _first_entry(flood, "flood"), _first_entry(witness, "witness")
    sent, answered = int(sent_entry.get("sent") or 0), int(sent_entry.get("received") or 0)
    admitted = _echo_requests_in(after, "after") - _echo_requests_in(before, "before")
    per_second, bucket = _count(rate, "rate"), _count(burst, "burst")
    allowed = int(per_second * (_count(seconds, "seconds") + 1) + bucket)
    reachable = bool(witness_entry.get("reachable"))
    numbers = "%d of %d flood requests reached ICMP (at most %d allowed by %g/second burst %g), %d answered" % (
        admitted, sent, allowed, per_second, bucket, answered)
    passes = "passes" if reachable else "FAILS"
    if sent <= allowed:
        verdict = "flood_too_small"
        head = "echo rate limit on %s not tested: the flood sent only %d requests, no more than the limit " \
               "admits (%d)" % (target, sent, allowed)
    elif admitted > allowed:
        verdict = "limit_broken"
        head = "echo rate limit on %s broken: %d requests got through, more than the %d it allows" % (target, admitted, allowed)
    elif not reachable:
        verdict, head = "limit_broken", "echo rate limit on %s held the flood back but starved others" % target
    else:
        verdict, head = "limit_held", "echo rate limit on %s held" % target
    return {
        "verdict": verdict,
        "diagnosis": "%s: %s; reachability from %s %s" % (head, numbers, witness_name, passes),
        "details": {"flood_sent": sent, "flood_answered": answered, "admitted_by_policy": admitted,
                    "allowed_at_most": allowed, "reachable_from_witness": reachable},
    }
