# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Fleet aggregation for the HTML page: target columns by prefix, hosts by inventory group,
problems grouped by what went wrong. Everything here is one pass over hosts x checks.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report.model import Problem

MAX_TARGET_COLUMNS = 24
# prefix lengths tried in turn (IPv4, IPv6) until the columns fit
_PREFIXES = ((24, 64), (16, 48), (8, 32), (0, 0))
NAMES_COLUMN = "host names"
STATE_ORDER = ("bad", "warn", "ok", "down", "none")
_KIND_ORDER = {"host": 0, "ping": 1, "traceroute": 2, "pmtud": 3, "drill": 4, "drift": 5}  # among equal counts

_PATH = re.compile(r"\(path [^)]*\)")
_ADDRESS = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/\d{1,3})?")
_NUMBER = re.compile(r"(?<![A-Za-z_])\d+(?:\.\d+)?")  # not the 4 of ipv4


def _address(target: str) -> t.Any:
    netaddr = addresses.netaddr()
    try:
        return netaddr.IPAddress(target)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def target_columns(targets: t.Iterable[str], max_columns: int = MAX_TARGET_COLUMNS) -> t.Dict[str, str]:
    """target -> column label. Each target is its own column while they fit; beyond that,
    addresses are grouped by prefix (/24 and /64, then wider) and adjacent prefixes are
    merged with netaddr's ``cidr_merge``; host names share one column."""
    distinct = sorted(set(targets))
    if len(distinct) <= max_columns:
        return {target: target for target in distinct}
    addresses = {target: _address(target) for target in distinct}
    names = any(address is None for address in addresses.values())
    for v4_length, v6_length in _PREFIXES:
        keys = {target: (address.version, int(address) >> (_bits(address) - length), length)
                for target, address in addresses.items() if address is not None
                for length in (v4_length if address.version == 4 else v6_length,)}
        prefixes = set(keys.values())
        last = (v4_length, v6_length) == _PREFIXES[-1]
        if len(prefixes) > 4 * max_columns and not last:
            continue  # far too many: widen before building networks
        labels = _labels(prefixes, merge=False)
        if len(prefixes) + names > max_columns:
            labels = _labels(prefixes, merge=True)  # adjacent prefixes become one column
        if len(set(labels.values())) + names <= max_columns or last:
            return {target: labels[keys[target]] if target in keys else NAMES_COLUMN for target in distinct}
    raise AssertionError("the /0 prefixes always fit")  # pragma: no cover


def _bits(address: t.Any) -> int:
    return 32 if address.version == 4 else 128


def _labels(prefixes: t.Iterable[t.Tuple[int, int, int]], merge: bool) -> t.Dict[t.Tuple[int, int, int], str]:
    netaddr = addresses.netaddr()
    networks = {}
    for version, value, length in prefixes:
        bits = 32 if version == 4 else 128
        networks[(version, value, length)] = netaddr.IPNetwork((value << (bits - length), length), version=version)
    if not merge:
        return {key: str(network) for key, network in networks.items()}
    merged = netaddr.cidr_merge(list(networks.values()))
    return {key: str(next(big for big in merged if network in big)) for key, network in networks.items()}


def host_group(host: str, groups: t.Optional[t.Mapping[str, str]]) -> str:
    return (groups or {}).get(host) or "all"


def problem_label(message: str) -> str:
    """What went wrong without the numbers and addresses, so alike problems group together."""
    text = _PATH.sub("(path ...)", message)
    text = _ADDRESS.sub("<address>", text)
    return _NUMBER.sub("N", text)


def problem_groups(items: t.Iterable[Problem], examples: int, cap: int) -> t.Tuple[t.List[t.Dict[str, t.Any]], int]:
    """Problems grouped by kind and label, most frequent first: (groups up to ``cap``, groups left out)."""
    grouped: t.Dict[t.Tuple[str, str], t.Dict[str, t.Any]] = {}
    for item in items:
        key = (item.kind, problem_label(item.message))
        group = grouped.get(key)
        if group is None:
            group = grouped[key] = {"kind": item.kind, "label": key[1], "count": 0, "hosts": set(), "examples": []}
        group["count"] += 1
        group["hosts"].add(item.host)
        if len(group["examples"]) < examples:
            group["examples"].append(item.line())
    ordered = sorted(grouped.values(), key=lambda g: (-g["count"], _KIND_ORDER.get(g["kind"], 9), g["label"]))
    for group in ordered:
        group["hosts"] = len(group["hosts"])
        group["more"] = group["count"] - len(group["examples"])
    return ordered[:cap], max(0, len(ordered) - cap)


def worst(states: t.Iterable[str]) -> str:
    found = set(states)
    return next((state for state in STATE_ORDER if state in found), "none")


def count_text(counts: t.Mapping[str, int]) -> str:
    return " · ".join("%d %s" % (counts[state], state) for state in STATE_ORDER if counts.get(state))
