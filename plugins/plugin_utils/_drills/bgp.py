# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The bgp_pmtud drill's parts and diagnosis: two FRR routers peering across a lower-MTU hop.

``bgp_parts`` casts the speaker (the router that announces the prefixes), its peer and the
addresses each one configured for the other from the lab facts (the inventory's ``lab_frr``);
``bgp_history`` turns samples of ``show bgp summary json`` taken on the peer into the session's
state over time; ``bgp_diagnosis`` combines that history with the pmtud result from the speaker.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import re
import typing as t

Lab = t.Mapping[str, t.Any]
# what reaches a command: the vtysh binary and its --vty_socket directory (from lab_frr.vtysh)
_VTYSH_WORD = re.compile(r"[A-Za-z0-9_./+-]{1,4096}")


class BgpDataError(ValueError):
    """Lab facts or samples that are not what the drill reads."""


def _vtysh_argv(frr: t.Mapping[str, t.Any]) -> t.Optional[t.List[str]]:
    words = str(frr.get("vtysh") or "").split()
    if not words or not all(_VTYSH_WORD.fullmatch(word) for word in words):
        return None
    return words


def _mtus(interfaces: t.Any) -> t.List[int]:
    return [int(interface.get("mtu") or 1500) for interface in interfaces or [] if isinstance(interface, t.Mapping)]


def _lower_mtu_hop(lab: Lab, speaker: str, peer: str) -> t.Optional[int]:
    """The smallest MTU of a lab router between the pair, when it is below both ends' own links."""
    interfaces = lab.get("interfaces") or {}
    ends = _mtus(interfaces.get(speaker)) + _mtus(interfaces.get(peer))
    if not ends:
        return None
    middle = [mtu for node, found in interfaces.items() if node not in (speaker, peer) for mtu in _mtus(found)]
    lowest = min(middle, default=None)
    return lowest if lowest is not None and lowest < min(ends) else None


def _pairs(frr: t.Mapping[str, t.Any]) -> t.Iterator[t.Tuple[str, str, str, str]]:
    """(speaker, peer, the peer's address at the speaker, the speaker's address at the peer)."""
    for speaker, facts in frr.items():
        for neighbor in (facts or {}).get("neighbors") or []:
            peer = neighbor.get("node")
            back = [n for n in (frr.get(peer) or {}).get("neighbors") or [] if n.get("node") == speaker]
            if peer != speaker and back:
                yield str(speaker), str(peer), str(neighbor.get("address")), str(back[0].get("address"))


def bgp_parts(lab: Lab) -> t.Optional[t.Dict[str, t.Any]]:
    """Two BGP routers that peer with each other across a lower-MTU hop, or None when the lab has none.

    The speaker is the router of the pair that announces the most prefixes (it sends the large
    UPDATEs); ``prefixes`` is how many it announces, all of which its peer must receive.
    """
    frr = {node: facts for node, facts in (lab.get("frr") or {}).items() if isinstance(facts, t.Mapping)}
    found = []
    for speaker, peer, peer_address, speaker_address in _pairs(frr):
        hop_mtu = _lower_mtu_hop(lab, speaker, peer)
        speaker_vtysh, peer_vtysh = _vtysh_argv(frr[speaker]), _vtysh_argv(frr[peer])
        if hop_mtu is None or not speaker_vtysh or not peer_vtysh or not int(frr[speaker].get("networks") or 0):
            continue
        try:
            family = "ipv%d" % ipaddress.ip_address(peer_address).version
            ipaddress.ip_address(speaker_address)
        except ValueError:
            continue
        found.append({
            "speaker": speaker, "peer": peer, "peer_address": peer_address, "speaker_address": speaker_address,
            "family": family, "afi": family + "Unicast", "prefixes": int(frr[speaker]["networks"]),
            "hop_mtu": hop_mtu, "speaker_vtysh": speaker_vtysh, "peer_vtysh": peer_vtysh,
        })
    return max(found, key=lambda part: part["prefixes"]) if found else None


def _started(sample: t.Mapping[str, t.Any]) -> t.Optional[datetime.datetime]:
    try:
        return datetime.datetime.strptime(str(sample.get("start")), "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return None


def bgp_history(samples: t.Sequence[t.Any], afi: str, neighbor: str) -> t.List[t.Dict[str, t.Any]]:
    """The session to ``neighbor`` over time, from registered ``show bgp summary json`` command results.

    One entry per sample: seconds since the first sample (``t_s``, from the command's start),
    ``state``, ``connections_dropped`` and ``pfx_rcd``; a sample whose output is not JSON or
    lacks the peer says ``state: unknown``.
    """
    history: t.List[t.Dict[str, t.Any]] = []
    first: t.Optional[datetime.datetime] = None
    for sample in samples:
        if not isinstance(sample, t.Mapping):
            raise BgpDataError("expected registered command results of 'show bgp summary json', got %r" % (sample,))
        when = _started(sample)
        first = first or when
        try:
            summary = json.loads(str(sample.get("stdout") or ""))
        except ValueError:
            summary = {}
        peer = ((summary.get(afi) or {}).get("peers") or {}).get(neighbor) or {} if isinstance(summary, dict) else {}
        history.append({
            "t_s": round((when - first).total_seconds(), 1) if when and first else None,
            "state": str(peer.get("state") or "unknown"),
            "connections_dropped": peer.get("connectionsDropped"),
            "pfx_rcd": peer.get("pfxRcd"),
        })
    return history


def _drops(history: t.Sequence[t.Mapping[str, t.Any]]) -> int:
    counts = [entry["connections_dropped"] for entry in history if isinstance(entry.get("connections_dropped"), int)]
    return counts[-1] - counts[0] if counts else 0


def bgp_diagnosis(pmtud: t.Any, history: t.Sequence[t.Mapping[str, t.Any]], parts: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The verdict from the speaker's pmtud towards its peer and the peer's view of the session.

    ``bgp_pmtud_black_hole`` needs both: pmtud finds the black hole on the peering path, and the
    session dropped while the peer never held every prefix. Either alone gets its own verdict.
    """
    pm = pmtud if isinstance(pmtud, t.Mapping) and not pmtud.get("skipped") else {}
    drops = _drops(history)
    most = max((entry["pfx_rcd"] for entry in history if isinstance(entry.get("pfx_rcd"), int)), default=0)
    expected = int(parts.get("prefixes") or 0)
    states = sorted({str(entry.get("state")) for entry in history})
    seconds = history[-1].get("t_s") if history else None
    session = ("the session %s -> %s dropped %d time(s) in %s s (states seen: %s) and %s received at most %d of %d prefixes"
               % (parts.get("speaker"), parts.get("peer"), drops, seconds, ", ".join(states), parts.get("peer"), most, expected))
    flapped = drops > 0 and most < expected
    if pm.get("black_hole") and flapped:
        return {"verdict": "bgp_pmtud_black_hole", "bgp_history": list(history),
                "diagnosis": "BGP session flapping on a PMTUD black hole: %s; pmtud from %s finds a black hole towards %s"
                             " (packets up to %s bytes pass, larger ones vanish without a fragmentation-needed), so the"
                             " small OPEN and KEEPALIVE get through, the full-size UPDATEs are black-holed and the hold"
                             " timer expires" % (session, parts.get("speaker"), parts.get("peer_address"), pm.get("path_mtu"))}
    if flapped:
        return {"verdict": "bgp_flapping", "bgp_history": list(history),
                "diagnosis": "BGP session flapping: %s; pmtud towards %s finds no black hole (%s), look elsewhere"
                             % (session, parts.get("peer_address"), pm.get("message") or "no result")}
    if pm.get("black_hole"):
        return {"verdict": "pmtud_black_hole", "bgp_history": list(history),
                "diagnosis": "PMTUD black hole towards %s (packets up to %s bytes pass), but %s"
                             % (parts.get("peer_address"), pm.get("path_mtu"), session)}
    return {"verdict": "healthy", "bgp_history": list(history), "diagnosis": "BGP healthy: %s" % session}


def diagnose(pmtud: t.Any, bgp: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``bgp_diagnosis`` over the history of ``bgp['samples']`` for the pair ``bgp['parts']``."""
    parts = bgp.get("parts")
    samples = bgp.get("samples")
    if not isinstance(parts, t.Mapping) or not parts.get("afi") or not parts.get("speaker_address"):
        raise BgpDataError("bgp.parts must be the BGP pair of the drill plan (icmp_drill_lab.bgp), got %r" % (parts,))
    if isinstance(samples, (str, bytes)) or not isinstance(samples, t.Sequence) or not samples:
        raise BgpDataError("bgp.samples must be the registered results of a loop of 'show bgp summary json',"
                           " got %r" % (samples,))
    return bgp_diagnosis(pmtud, bgp_history(samples, str(parts["afi"]), str(parts["speaker_address"])), parts)
