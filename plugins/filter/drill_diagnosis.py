# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_diagnosis filter (docs in drill_diagnosis.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import bgp as bgp_drill
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import cutoff as cutoff_drill
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import ecmp as ecmp_drill
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import overlay as overlay_drill
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import ra as ra_drill
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import capture


def _ping_entry(ping: t.Any) -> t.Optional[t.Mapping[str, t.Any]]:
    """One target's entry from a ping result (the module result or one of its results)."""
    if not isinstance(ping, t.Mapping) or ping.get("skipped"):
        return None
    if "results" in ping and isinstance(ping["results"], list):
        return ping["results"][0] if ping["results"] else None
    return ping


def _tcp_alive(tcp: t.Any) -> t.Optional[bool]:
    """True when TCP proves the host up: connected, or actively refused (a RST comes from a live host)."""
    if not isinstance(tcp, t.Mapping) or tcp.get("skipped"):
        return None
    if tcp.get("connected"):
        return True
    return "refused" in str(tcp.get("error") or "").lower()


def _hop_name(hop: t.Mapping[str, t.Any]) -> str:
    address = hop.get("address")
    return "%s (%s)" % (hop.get("ttl"), address) if address else "%s (no answer)" % hop.get("ttl")


def _rate_limited_hops(trace: t.Any) -> t.List[str]:
    if not isinstance(trace, t.Mapping):
        return []
    return [_hop_name(hop) for hop in trace.get("hops") or [] if hop.get("status") in ("rate_limited", "filtered")]


def _broken_hops(trace: t.Any) -> t.List[t.Any]:
    if not isinstance(trace, t.Mapping):
        return []
    return [hop.get("ttl") for hop in trace.get("hops") or [] if hop.get("status") in ("silent", "partial")]


def _redirected(route: t.Any, gateway: t.Any) -> t.Optional[str]:
    """The next hop a route lookup (one entry of ``ip -j route get``) uses instead of ``gateway``."""
    if not isinstance(route, t.Mapping) or not gateway:
        return None
    via = route.get("gateway")
    return str(via) if via and str(via) != str(gateway) else None


def drill_diagnosis(ping: t.Any, tcp: t.Any = None, pmtud: t.Any = None, traceroute: t.Any = None,
                    neighbour: t.Any = None, target: str = "", reverse: t.Any = None, route: t.Any = None,
                    gateway: t.Any = None, bgp: t.Any = None, tunnel: t.Any = None,
                    ecmp: t.Any = None, ra: t.Any = None, cutoff: t.Any = None) -> t.Dict[str, t.Any]:
    """The verdict, with ``capture`` (the report's section) and ``evidence`` when a probe ran with ``capture``."""
    if isinstance(cutoff, t.Mapping):
        try:
            return cutoff_drill.diagnose(cutoff)
        except cutoff_drill.CutoffDataError as err:
            raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: %s" % err) from err
    if isinstance(ecmp, t.Mapping):
        try:
            return ecmp_drill.diagnose(ecmp)
        except ecmp_drill.EcmpDataError as err:
            raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: %s" % err) from err
    if isinstance(ra, t.Mapping):
        try:
            return ra_drill.diagnose(_ping_entry(ping), traceroute, ra)
        except ra_drill.RaDataError as err:
            raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: %s" % err) from err
    if isinstance(tunnel, t.Mapping):
        verdict: t.Dict[str, t.Any] = overlay_drill.diagnose(pmtud, tcp, tunnel)
    else:
        verdict = _verdict(ping, tcp, pmtud, traceroute, neighbour, target, reverse, route, gateway, bgp)
    captures = [result.get("capture") for result in (ping, pmtud, traceroute, reverse)
                if isinstance(result, t.Mapping) and isinstance(result.get("capture"), t.Mapping)]
    if captures:
        try:
            section = capture.section(captures)
        except capture.CaptureInputError as err:
            raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: %s" % err) from err
        verdict.update(capture=section, evidence=t.cast(t.Dict[str, t.Any], section)["evidence"])
    return verdict


def _verdict(ping: t.Any, tcp: t.Any, pmtud: t.Any, traceroute: t.Any, neighbour: t.Any, target: str,
             reverse: t.Any, route: t.Any, gateway: t.Any, bgp: t.Any) -> t.Dict[str, t.Any]:
    """Combine probe results into one verdict and a sentence a person can act on.

    Verdicts: ``redirected``, ``pmtud_black_hole``, ``nd_failed``, ``asymmetric_filtering``, ``echo_filtered``,
    ``host_down``, ``icmp_rate_limited``, ``broken_hop``, ``healthy``. ``reverse`` is the ping
    result of the same pair in the other direction (from the target back to us); ``route`` the
    host's route lookup for the target and ``gateway`` the next hop it should use. ``bgp`` is
    ``{samples: <registered loop of 'show bgp summary json' on the peer>, parts: <the plan's lab.bgp>}`` for the
    bgp_pmtud drill: then the verdict is
    ``bgp_pmtud_black_hole``, ``bgp_flapping``, ``pmtud_black_hole`` or ``healthy`` and the result also holds
    ``bgp_history``.
    """
    if ping is not None and not isinstance(ping, t.Mapping):
        raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: ping must be a ping result (a mapping), got %r" % (ping,))
    if isinstance(bgp, t.Mapping):
        try:
            return bgp_drill.diagnose(pmtud, bgp)
        except bgp_drill.BgpDataError as err:
            raise AnsibleFilterError("netdevops.icmp.drill_diagnosis: %s" % err) from err
    entry = _ping_entry(ping)
    name = target or (entry or {}).get("address") or (pmtud or {}).get("destination") or "the target"
    echo_ok = None if entry is None else bool(entry.get("reachable"))
    tcp_up = _tcp_alive(tcp)
    pm = pmtud if isinstance(pmtud, t.Mapping) and not pmtud.get("skipped") else None
    via = _redirected(route, gateway)
    if via is not None:
        return {"verdict": "redirected",
                "diagnosis": "traffic to %s redirected: the route lookup says via %s, not the gateway %s (a next hop "
                             "learnt from an ICMP redirect)%s" % (name, via, gateway, "; echo fails" if echo_ok is False else "")}
    if pm is not None and pm.get("black_hole"):
        return {"verdict": "pmtud_black_hole",
                "diagnosis": "PMTUD black hole towards %s: packets up to %s bytes pass, larger ones vanish without "
                             "an ICMP fragmentation-needed / packet-too-big; small packets (ping) still work"
                             % (name, pm.get("path_mtu"))}
    neigh = str(neighbour or "").upper()
    if echo_ok is False and neigh in ("FAILED", "INCOMPLETE"):
        return {"verdict": "nd_failed",
                "diagnosis": "IPv6 neighbour discovery failing towards %s: the neighbour entry is %s, so nothing "
                             "is delivered (not a routing or echo problem)" % (name, neigh)}
    back = _ping_entry(reverse)
    if echo_ok is False and back is not None and back.get("reachable"):
        return {"verdict": "asymmetric_filtering",
                "diagnosis": "ICMP filtered in one direction only: echo towards %s fails while echo from %s back "
                             "to us works, so the host is up and routed; a filter drops our requests on the way in "
                             "or its replies on the way out" % (name, name)}
    if echo_ok is False and (tcp_up or (pm is not None and pm.get("path_mtu"))):
        proof = []
        if tcp_up:
            proof.append("TCP answers")
        if pm is not None and pm.get("path_mtu"):
            proof.append("the path MTU (%s) is measurable" % pm.get("path_mtu"))
        return {"verdict": "echo_filtered",
                "diagnosis": "ICMP echo filtered towards %s: %s, so the host is up; echo requests or replies are "
                             "dropped by a filter" % (name, " and ".join(proof))}
    if echo_ok is False:
        return {"verdict": "host_down",
                "diagnosis": "host down or unreachable: %s answers neither ICMP echo nor TCP" % name}
    limited = _rate_limited_hops(traceroute)
    if limited:
        return {"verdict": "icmp_rate_limited",
                "diagnosis": "ICMP rate limiting at hop(s) %s: probes there go unanswered while later hops answer, "
                             "so the path forwards; not a broken hop" % ", ".join(limited)}
    if isinstance(traceroute, t.Mapping) and not traceroute.get("reached", True):
        return {"verdict": "broken_hop",
                "diagnosis": "path to %s broken after hop(s) %s" % (name, ", ".join(str(h) for h in _broken_hops(traceroute)))}
    return {"verdict": "healthy", "diagnosis": "%s answers echo%s" % (name, " and TCP" if tcp_up else "")}


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_diagnosis": drill_diagnosis}
