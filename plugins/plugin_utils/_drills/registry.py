# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The one list of drills, and what each needs from the lab topology.

Adding a drill is one entry in ``DRILLS``, one task file ``roles/drill/tasks/drill_<name>.yml``
(steady state, inject, detect, recover, record: see the existing ones) and one guide
``docs/drills/<name>.md``. A need the topology does not meet makes the role refuse the drill
before anything changes, with a message naming what is missing; a new kind of need is one entry
in ``NEEDS`` (a test over the lab facts and the sentence that says how to provide it).
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.bgp import bgp_parts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.ecmp import ecmp_parts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.lan import lan_parts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.overlay import overlay_parts
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills.ra import ra_parts

Lab = t.Mapping[str, t.Any]


@dataclass(frozen=True)
class Need:
    """Something a drill needs from the lab: a test over the lab facts and how to provide it."""

    name: str
    met: t.Callable[[Lab], bool]
    missing: str


@dataclass(frozen=True)
class Drill:
    """One drill: its name, what it needs, the verdict its detection must reach, a summary."""

    name: str
    needs: t.Tuple[str, ...]
    verdict: str
    summary: str

    @property
    def tasks(self) -> str:
        return "drill_%s.yml" % self.name

    @property
    def guide(self) -> str:
        return "docs/drills/%s.md" % self.name


def _has(key: str) -> t.Callable[[Lab], bool]:
    return lambda lab: bool(lab.get(key))


NEEDS: t.Dict[str, Need] = {need.name: need for need in (
    Need("router", _has("router"), "a router between client and server (group lab_routers, or icmp_drill_router)"),
    Need("ipv4", lambda lab: bool(lab.get("client_v4") and lab.get("server_v4")),
         "IPv4 addresses on the client and the server"),
    Need("ipv6", lambda lab: bool(lab.get("client_v6") and lab.get("server_v6")),
         "IPv6 addresses on the client and the server"),
    Need("ssh", _has("ssh_host"),
         "the client managed over SSH across the lab (a host of group lab_ssh for the client: 'sshd: true' and"
         " 'ssh_from: <node across the router>' in the topology, or icmp_drill_ssh_host)"),
    Need("lan_segment", lambda lab: lan_parts(lab) is not None,
         "a LAN segment with IPv4 that has the client, the router and a third node (the rogue, icmp_drill_rogue)"
         " as members ('segments' in the lab topology)"),
    Need("lan_segment_v6", lambda lab: ra_parts(lab) is not None,
         "a LAN segment with IPv6 that has the client, the router and a third node (the rogue, icmp_drill_rogue)"
         " as members, each with an IPv6 address ('segments' in the lab topology)"),
    Need("bgp_pair", lambda lab: bgp_parts(lab) is not None,
         "two BGP routers peering across a path with a lower-MTU hop: 'frr' on two router nodes that name each"
         " other as neighbours, the speaker announcing prefixes, and a router between them with a link of a smaller"
         " MTU than both ends' links (see roles/lab/files/topologies/bgp.yml)"),
    Need("tunnel", lambda lab: overlay_parts(lab) is not None,
         "a VXLAN tunnel with an IPv4 overlay between two lab nodes ('tunnels' in the lab topology, for example"
         " {name: ov1, a: h3, b: r2, vni: 100}; see docs/lab.md)"),
    Need("ecmp", lambda lab: ecmp_parts(lab) is not None,
         "equal-cost paths between the client and a host behind them: a router on the client's path with an IPv4"
         " multipath route to that host's prefix whose next hops are two lab nodes ('ecmp: {auto: true}' in the"
         " topology with two equal-cost branches, or 'routes' with several 'via'; see"
         " roles/lab/files/topologies/ecmp.yml)"),
)}

DRILLS: t.Tuple[Drill, ...] = (
    Drill("pmtud_blackhole", ("router", "ipv4", "ipv6"), "pmtud_black_hole",
          "client drops frag-needed / packet-too-big: pmtud finds the black hole, TCP stalls, ping works"),
    Drill("echo_blocked", ("router", "ipv4"), "echo_filtered",
          "server drops echo requests: ping fails, TCP and the path MTU prove the host up"),
    Drill("rate_limit", ("router", "ipv4"), "icmp_rate_limited",
          "router rate-limits its ICMP errors: traceroute sees a rate-limited hop, not a broken one"),
    Drill("nd_blocked", ("router", "ipv6"), "nd_failed",
          "server drops neighbour discovery: IPv6 fails, IPv4 works, the neighbour entry fails"),
    Drill("asymmetric", ("router", "ipv4"), "asymmetric_filtering",
          "server drops the echo replies it sends: one direction fails, the other works"),
    Drill("policy_cutoff", ("router", "ipv4", "ssh"), "rolled_back_by_host",
          "a push over SSH cuts the controller off; commit-confirm restores the host by itself"),
    Drill("flood", ("router", "ipv4"), "limit_held",
          "the client floods a server whose policy rate-limits echo: the limit holds, others still reach it"),
    Drill("redirect", ("router", "ipv4", "lan_segment"), "redirected",
          "a rogue on the LAN spoofs an ICMP redirect from the gateway: the client loses the server; strict-host stops it"),
    Drill("rogue_ra", ("router", "ipv6", "lan_segment_v6"), "rogue_router",
          "a rogue on the LAN sends router advertisements: the client routes via it; an RA guard or accept_ra 0 stops it"),
    Drill("bgp_pmtud", ("bgp_pair",), "bgp_pmtud_black_hole",
          "a BGP router drops frag-needed: the UPDATEs are black-holed across a lower-MTU hop and the session flaps"),
    Drill("overlay_mtu", ("tunnel",), "overlay_mtu_too_high",
          "a VXLAN overlay's MTU left at the underlay's: pmtud finds the local tunnel limit; the right MTU fixes it"),
    Drill("ecmp_partial", ("ecmp",), "ecmp_partial",
          "one branch of an equal-cost pair drops the flows it carries: some flows work, others fail;"
          " multipath traceroute names the branch"),
)


def registry() -> t.Dict[str, Drill]:
    return {drill.name: drill for drill in DRILLS}


def missing_needs(drill: Drill, lab: Lab) -> t.List[str]:
    """What the lab lacks for this drill, as sentences (empty when it has everything)."""
    return [NEEDS[need].missing for need in drill.needs if not NEEDS[need].met(lab)]


def plan(names: t.Sequence[str], lab: Lab) -> t.Dict[str, t.Any]:
    """The drills to run, in order, and the refusals.

    ``names`` is a list of drill names; the name ``all`` stands for every registered drill the
    topology can run (the others are listed in ``skipped``). A named drill the topology cannot run
    is refused, as is an unknown name: ``refused`` holds one sentence each, and the role runs
    nothing when it is not empty.
    """
    known = registry()
    drills: t.List[Drill] = []
    refused: t.List[str] = []
    skipped: t.List[str] = []
    for name in names:
        if name == "all":
            for drill in DRILLS:
                if drill in drills:
                    continue
                if missing_needs(drill, lab):
                    skipped.append("%s (needs %s)" % (drill.name, "; ".join(missing_needs(drill, lab))))
                else:
                    drills.append(drill)
            continue
        drill = known.get(name)
        if drill is None:
            refused.append("unknown drill %r: known drills are %s, or all" % (name, ", ".join(known)))
        elif missing_needs(drill, lab):
            refused.append("drill %s cannot run on this lab: it needs %s"
                           % (name, "; and ".join(missing_needs(drill, lab))))
        elif drill not in drills:
            drills.append(drill)
    return {
        "lab": dict(lab, lan=lan_parts(lab), ra=ra_parts(lab), bgp=bgp_parts(lab), overlay=overlay_parts(lab),
                    ecmp=ecmp_parts(lab)),
        "drills": [{"name": d.name, "tasks": d.tasks, "verdict": d.verdict, "summary": d.summary} for d in drills],
        "refused": refused,
        "skipped": skipped,
    }
