# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module results in the shapes of issues 3 and 4 (ping, traceroute, pmtud) and issue 5 (policy)."""
from __future__ import annotations

import copy
import typing as t


def ping_item(target: str, received: int = 5, sent: int = 5, avg: float = 0.05) -> t.Dict[str, t.Any]:
    loss = 100.0 * (sent - received) / sent
    rtt = None if received == 0 else {"min": avg * 0.8, "avg": avg, "max": avg * 1.5, "mdev": avg / 10}
    return {"target": target, "address": target, "family": "ipv6" if ":" in target else "ipv4", "sent": sent,
            "received": received, "loss_pct": loss, "rtt_ms": rtt or {"min": None, "avg": None, "max": None, "mdev": None},
            "duplicates": 0, "reply_ttl": 63 if received else None, "reachable": received > 0, "errors": []}


def ping_result(*items: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return {"changed": False, "results": list(items),
            "summary": {"targets": len(items), "reachable": sum(1 for i in items if i["reachable"]),
                        "unreachable": sum(1 for i in items if not i["reachable"]), "elapsed_ms": 12.5}}


def trace_result(destination: str, path: t.List[t.Optional[str]], reached: bool = True) -> t.Dict[str, t.Any]:
    hops = [{"ttl": n + 1, "address": a,
             "probes": [{"address": a, "rtt_ms": 0.1 if a else None, "icmp_type": 11, "icmp_code": 0, "mpls": []}]}
            for n, a in enumerate(path)]
    return {"changed": False, "destination": destination, "hops": hops, "path": list(path), "reached": reached,
            "elapsed_ms": 40.0}


def pmtud_result(path_mtu: t.Optional[int], black_hole: bool = False, reported_by: t.Optional[str] = "198.51.100.1"
                 ) -> t.Dict[str, t.Any]:
    return {"changed": False, "path_mtu": path_mtu, "local_mtu": 1500, "reported_by": None if black_hole else reported_by,
            "black_hole": black_hole, "inferred": black_hole, "probes_sent": 9, "elapsed_ms": 30.0}


PLAN = {
    "ping": [{"target": "203.0.113.10", "max_loss_pct": 0, "max_rtt_ms": 50},
             {"target": "203.0.113.20", "max_loss_pct": 20},
             {"target": "192.0.2.99", "expect": "unreachable"}],
    "traceroute": [{"target": "203.0.113.10", "must_traverse": ["198.51.100.0/24"]}],
    "pmtud": [{"target": "203.0.113.10", "min_mtu": 1400}],
}


def results(**over: t.Any) -> t.Dict[str, t.Any]:
    """A healthy run of PLAN; override pieces with keyword arguments."""
    base = {
        "ping": ping_result(ping_item("203.0.113.10"), ping_item("203.0.113.20"), ping_item("192.0.2.99", received=0)),
        "traceroute": [trace_result("203.0.113.10", ["198.51.100.1", "203.0.113.10"])],
        "pmtud": [pmtud_result(1400)],
    }
    base.update(copy.deepcopy(over))
    return base


def rule(family: str, icmp_type: str, action: str = "accept", direction: str = "input", code: t.Optional[int] = None,
         rate: t.Optional[str] = None, burst: t.Optional[int] = None) -> t.Dict[str, t.Any]:
    return {"family": family, "direction": direction, "type": icmp_type, "code": code, "action": action,
            "rate": rate, "burst": burst, "log_prefix": None}


DESIRED = {
    "rules": [rule("ipv4", "echo-reply"), rule("ipv4", "destination-unreachable"),
              rule("ipv4", "echo-request", rate="10/second", burst=20), rule("ipv4", "time-exceeded"),
              rule("ipv4", "any", "drop"), rule("ipv6", "packet-too-big"), rule("ipv6", "echo-request"),
              rule("ipv6", "nd-neighbor-solicit"), rule("ipv6", "any", "drop")],
    "sysctls": {"icmp_ratelimit": 1000, "icmp_echo_ignore_broadcasts": 1},
}


def gathered(**over: t.Any) -> t.Dict[str, t.Any]:
    live = copy.deepcopy(DESIRED)
    live["sysctls"] = dict(live["sysctls"], icmp_ratemask=6168, accept_redirects=1)  # unmanaged keys
    live.update(over)
    return live
