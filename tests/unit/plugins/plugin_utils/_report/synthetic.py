# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic fleets for the report size and growth tests and benchmarks/bench_reports.py.

Hosts are built through the real plan_checks path (``checks.build_checks``) from module
results in the modules' shapes, so the report is what a fleet run writes. Nothing here
sends a packet: the addresses are strings from the documentation ranges.
"""
from __future__ import annotations

import datetime
import functools
import json
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import checks, drift, model
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.fixtures import (
    DESIRED, gathered, ping_item, ping_result, pmtud_result, rule, trace_result)

WHEN = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.timezone.utc)
IN_SYNC = gathered()
DRIFTED = gathered(rules=[r for r in DESIRED["rules"] if r["type"] != "echo-request"] + [rule("ipv4", "timestamp-request")])
PEERS = ["198.51.100.%d" % (10 + n) for n in range(10)] + ["203.0.113.%d" % (10 + n) for n in range(10)]


def own_targets(index: int, count: int) -> t.List[str]:
    """Targets no other host has (the issue's 1.8 GB case): one IPv6 /64 per host."""
    return ["2001:db8:%x:%x::%x" % (index // 256, index % 256, n + 1) for n in range(count)]


def host_result(index: int, targets: t.Sequence[str], broken: bool) -> t.Dict[str, t.Any]:
    """One host's ``icmp_validate_result``: pings, one trace and one PMTUD; ``broken`` hosts lose a
    target, see a lower path MTU and have drifted."""
    items = [ping_item(target, received=0 if broken and n == 0 else 5, avg=0.05 + (index % 7) / 100.0)
             for n, target in enumerate(targets)]
    plan = {"ping": [{"target": target, "max_loss_pct": 0, "max_rtt_ms": 50} for target in targets],
            "traceroute": [{"target": targets[-1], "must_traverse": ["198.51.100.1-198.51.100.9"]}],
            "pmtud": [{"target": targets[-1], "min_mtu": 1400}]}
    host_checks = checks.build_checks(plan, ping_result(*items),
                                      [trace_result(targets[-1], ["198.51.100.1", targets[-1]])],
                                      [pmtud_result(1280 if broken else 1500)])
    return {"checks": host_checks, "drift": drift.compare_policy(DESIRED, DRIFTED if broken else IN_SYNC),
            "capture": capture_result(targets[0], 5, 0 if broken else 5)}


def capture_result(target: str, requests: int, replies: int) -> t.Dict[str, t.Any]:
    """What the ping's capture option returns for the first target (the others add the same shape)."""
    return {"packets": requests + replies, "by_direction": {"in": replies, "out": requests},
            "kernel": {"packets": requests + replies, "drops": 0}, "interfaces_seen": ["eth0"],
            "by_type": [{"family": "ipv6" if ":" in target else "ipv4", "type": kind, "code": 0, "name": name,
                         "direction": direction, "packets": count}
                        for kind, name, direction, count in ((0, "echo_reply", "in", replies),
                                                             (8, "echo_request", "out", requests)) if count],
            "top_sources": [{"address": "192.0.2.10", "packets": requests}] + (
                [{"address": target, "packets": replies}] if replies else []),
            "evidence": ["%d echo requests to %s left eth0, %s" % (
                requests, target, "%d echo replies arrived" % replies if replies else "no reply arrived")]}


def _placeholders(count: int) -> t.List[str]:
    """Fixed-width IPv6 stand-ins for a host's own targets: none is a prefix of another."""
    return ["2001:db8:ffff:0:0:0:0:%04x" % (n + 1) for n in range(count)]


@functools.lru_cache(maxsize=None)
def _prototype(targets: t.Tuple[str, ...], rtt_step: int, broken: bool) -> str:
    return json.dumps(host_result(rtt_step, list(targets), broken))


def fleet(hosts: int, targets: int = 20, own: bool = False, broken_every: int = 20) -> t.Dict[str, t.Dict[str, t.Any]]:
    """``hosts`` host results; every ``broken_every``-th host has problems.

    Each distinct kind of host is built once through ``host_result`` and then cloned through
    JSON (own targets substituted for fixed-width stand-ins), so every host has objects of its
    own, as the results Ansible hands over do; ``test_clones_equal_direct_builds`` holds it."""
    out = {}
    stand_ins = _placeholders(targets) if own else PEERS[:targets]
    for index in range(hosts):
        text = _prototype(tuple(stand_ins), index % 7, index % broken_every == 0)
        if own:
            for stand_in, target in zip(stand_ins, own_targets(index, targets)):
                text = text.replace(stand_in, target)
        out["host%05d" % index] = json.loads(text)
    return out


def groups_of(names: t.Iterable[str], count: int = 10) -> t.Dict[str, str]:
    """Inventory groups: ten sites of three hosts in turn."""
    return {name: "site%02d" % (int(name[4:]) // 3 % count) for name in names}


def fleet_report(hosts: int, targets: int = 20, own: bool = False, broken_every: int = 20) -> t.Dict[str, t.Any]:
    return model.build_report(fleet(hosts, targets, own, broken_every), kind="drift_check", run_id="42",
                              generated_at=WHEN)
