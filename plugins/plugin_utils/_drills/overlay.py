# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The parts the overlay_mtu drill casts from the lab's tunnels (``lab_tunnels``): the two ends
of a VXLAN with an IPv4 overlay, their overlay addresses and the MTU the underlay fits."""
from __future__ import annotations

import typing as t

Lab = t.Mapping[str, t.Any]


def overlay_parts(lab: Lab) -> t.Optional[t.Dict[str, t.Any]]:
    """The first tunnel whose two ends have IPv4 overlay addresses, or None.

    ``client`` is end ``a`` (it sends), ``server`` end ``b``; ``mtu`` is the MTU the topology gives
    the tunnel (the drill puts it back at the end), ``fitting_mtu`` the one the underlay carries.
    """
    for tunnel in lab.get("tunnels") or []:
        if not isinstance(tunnel, t.Mapping):
            continue
        a, b = tunnel.get("a") or {}, tunnel.get("b") or {}
        if not (a.get("node") and b.get("node") and a.get("ipv4") and b.get("ipv4")):
            continue
        return {
            "tunnel": tunnel.get("name"), "ifname": tunnel.get("ifname"),
            "client": a["node"], "server": b["node"],
            "client_v4": a["ipv4"], "server_v4": b["ipv4"],
            "client_v6": a.get("ipv6"), "server_v6": b.get("ipv6"),
            "mtu": tunnel.get("mtu"), "fitting_mtu": tunnel.get("fitting_mtu"),
            "underlay_mtu": tunnel.get("underlay_mtu"), "underlay_family": tunnel.get("underlay_family"),
            "df": tunnel.get("df"),
        }
    return None


def _tcp_sentence(tcp: t.Any, limited: bool = False) -> str:
    if not isinstance(tcp, t.Mapping) or tcp.get("connected") is None:
        return ""
    if tcp.get("completed") and limited:
        return ("; a full-size TCP transfer from the tunnel end still completed in %s s (its own kernel lowered the "
                "route MTU; hosts behind the tunnel end get no such help)" % tcp.get("elapsed_s"))
    if tcp.get("completed"):
        return "; a full-size TCP transfer across it completed in %s s" % tcp.get("elapsed_s")
    if tcp.get("connected"):
        return "; a full-size TCP transfer across it connected and stalled (%s)" % (tcp.get("error") or "no progress")
    return "; TCP across it did not connect (%s)" % (tcp.get("error") or "no answer")


def diagnose(pmtud: t.Any, tcp: t.Any, parts: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The overlay_mtu verdict from a pmtud run across the tunnel (and a TCP transfer, when given).

    ``overlay_mtu_too_high`` when pmtud finds the tunnel interface the local limit: its MTU is above
    what the underlay carries; ``pmtud_black_hole`` when pmtud finds a black hole instead; else
    ``healthy`` (the overlay MTU fits the path).
    """
    pm = pmtud if isinstance(pmtud, t.Mapping) else {}
    name = parts.get("server_v4") or pm.get("destination") or "the far end"
    tunnel, ifname = parts.get("tunnel"), parts.get("ifname")
    limit = pm.get("local_limit") if isinstance(pm.get("local_limit"), t.Mapping) else None
    tcp_text = _tcp_sentence(tcp)
    if limit is not None and limit.get("interface") == ifname and limit.get("interface_mtu", 0) > limit.get("mtu", 0):
        tcp_text = _tcp_sentence(tcp, limited=True)
        return {"verdict": "overlay_mtu_too_high",
                "diagnosis": "overlay MTU too high on tunnel %s: interface %s has MTU %s but only %s-byte packets "
                             "fit its underlay (MTU %s less the %s-byte VXLAN encapsulation), so larger packets to %s "
                             "are fragmented or dropped at the tunnel%s; set the tunnel's MTU to %s"
                             % (tunnel, ifname, limit.get("interface_mtu"), limit.get("mtu"), parts.get("underlay_mtu"),
                                _overhead(parts), name, tcp_text, limit.get("mtu"))}
    if pm.get("black_hole"):
        return {"verdict": "pmtud_black_hole",
                "diagnosis": "PMTUD black hole towards %s across tunnel %s: packets up to %s bytes pass, larger ones "
                             "vanish without an ICMP error%s" % (name, tunnel, pm.get("path_mtu"), tcp_text)}
    return {"verdict": "healthy",
            "diagnosis": "tunnel %s carries %s-byte packets to %s (path MTU %s)%s"
                         % (tunnel, pm.get("path_mtu"), name, pm.get("path_mtu"), tcp_text)}


def _overhead(parts: t.Mapping[str, t.Any]) -> t.Any:
    try:
        return int(parts["underlay_mtu"]) - int(parts["fitting_mtu"])
    except (KeyError, TypeError, ValueError):
        return "50 or 70"
