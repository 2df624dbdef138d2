# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The live state of a lab, parsed from machine output (``ip -j``, ``sysctl -n``).

Parsers are pure functions over text so they are tested with recorded output.
"""
from __future__ import annotations

import ipaddress
import json
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError


@dataclass(frozen=True)
class Interface:
    name: str
    mtu: int
    up: bool
    addresses: t.FrozenSet[str]  # "address/prefixlen", global scope only
    master: t.Optional[str] = None  # the bridge a port is enslaved to


@dataclass(frozen=True)
class LiveRoute:
    family: int
    destination: str  # normalised prefix
    via: t.Optional[str]  # the first next hop of a multipath route
    dev: t.Optional[str]
    protocol: str
    nexthops: t.Tuple[t.Tuple[t.Optional[str], t.Optional[str]], ...] = ()  # (via, dev) of every next hop

    def all_nexthops(self) -> t.Tuple[t.Tuple[t.Optional[str], t.Optional[str]], ...]:
        return self.nexthops or ((self.via, self.dev),)


@dataclass
class NamespaceState:
    name: str
    interfaces: t.Dict[str, Interface] = field(default_factory=dict)
    routes: t.List[LiveRoute] = field(default_factory=list)
    sysctls: t.Dict[str, t.Optional[str]] = field(default_factory=dict)
    pids: t.List[int] = field(default_factory=list)
    # VXLAN interfaces: name -> (vni, local, remote, port, df), see ``parse_vxlan``.
    vxlan: t.Dict[str, t.Tuple[t.Any, ...]] = field(default_factory=dict)


# The key of the init namespace in ``LiveState.detail`` (where the controller's veth is).
ROOT = ""


@dataclass
class LiveState:
    """What exists now: every namespace name on the machine, details of the lab's own
    (and of the init namespace, key ``ROOT``, when the lab has a controller veth)."""

    netns: t.List[str] = field(default_factory=list)
    detail: t.Dict[str, NamespaceState] = field(default_factory=dict)
    files: t.Dict[str, t.Optional[str]] = field(default_factory=dict)


def _load_json(text: str, what: str) -> t.Any:
    if not text.strip():
        return []
    try:
        return json.loads(text)
    except ValueError as err:
        raise LabError("cannot parse the JSON output of %s (%s): %r" % (what, err, text[:200])) from err


def parse_netns_list(text: str) -> t.List[str]:
    """``ip -j netns list`` -> names (empty output when there are none)."""
    return [str(entry["name"]) for entry in _load_json(text, "ip -j netns list")]


def parse_addr_show(text: str) -> t.Dict[str, Interface]:
    """``ip -j addr show`` -> interfaces with MTU, admin state and global addresses."""
    interfaces: t.Dict[str, Interface] = {}
    for entry in _load_json(text, "ip -j addr show"):
        addresses = frozenset(
            "%s/%s" % (info["local"], info["prefixlen"])
            for info in entry.get("addr_info", [])
            if info.get("scope") == "global" and "local" in info
        )
        name = str(entry["ifname"])
        master = entry.get("master")
        interfaces[name] = Interface(
            name, int(entry.get("mtu", 0)), "UP" in entry.get("flags", []), addresses,
            str(master) if master else None,
        )
    return interfaces


def normalise_destination(dst: str, family: int) -> str:
    if dst == "default":
        return "0.0.0.0/0" if family == 4 else "::/0"
    return str(ipaddress.ip_network(dst, strict=False))


def parse_routes(text: str, family: int) -> t.List[LiveRoute]:
    """``ip -j -4|-6 route show`` (main table) -> routes."""
    routes: t.List[LiveRoute] = []
    for entry in _load_json(text, "ip -j route show"):
        dst = entry.get("dst")
        if not dst or entry.get("type", "unicast") != "unicast":
            continue
        try:
            destination = normalise_destination(str(dst), family)
        except ValueError:
            continue  # not a prefix we could have written
        # A multipath route has no gateway of its own, only "nexthops".
        hops = tuple((hop.get("gateway"), hop.get("dev")) for hop in entry.get("nexthops") or ())
        if not hops:
            hops = ((entry.get("gateway"), entry.get("dev")),)
        routes.append(LiveRoute(
            family, destination, hops[0][0], hops[0][1], str(entry.get("protocol", "boot")), hops,
        ))
    return routes


def parse_sysctl_values(keys: t.Sequence[str], text: str) -> t.Dict[str, t.Optional[str]]:
    """``sysctl -n k1 k2 ...`` prints one value per line, in order; whitespace is normalised."""
    lines = text.splitlines()
    if len(lines) != len(keys):
        return {key: None for key in keys}
    return {key: " ".join(line.split()) for key, line in zip(keys, lines)}


def parse_pids(text: str) -> t.List[int]:
    """``ip netns pids NS`` -> process ids."""
    return [int(word) for word in text.split() if word.isdigit()]


def parse_link_names(text: str) -> t.List[str]:
    """``ip -j link show`` -> interface names."""
    return [str(entry["ifname"]) for entry in _load_json(text, "ip -j link show")]


def parse_vxlan(text: str) -> t.Dict[str, t.Tuple[t.Any, ...]]:
    """``ip -j -d link show type vxlan`` -> name -> (vni, local, remote, port, df)."""
    found: t.Dict[str, t.Tuple[t.Any, ...]] = {}
    for entry in _load_json(text, "ip -j -d link show type vxlan"):
        data = (entry.get("linkinfo") or {}).get("info_data") or {}
        found[str(entry["ifname"])] = (
            data.get("id"),
            data.get("local", data.get("local6")),
            data.get("remote", data.get("remote6")),
            data.get("port"),
            data.get("df", "unset"),
        )
    return found
