# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Capture options, checked before anything is opened or written."""
from __future__ import annotations

import ipaddress
import math
import os
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import bpf

MAX_DURATION_S = 3600.0
MAX_COUNT = 10_000_000
MIN_SNAPLEN, MAX_SNAPLEN = 64, 262144
MIN_PCAP_BYTES, MAX_PCAP_BYTES = 4096, 4 * 1024 ** 3
_INTERFACE_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
FAMILIES = {"any": (4, 6), "ipv4": (4,), "ipv6": (6,)}


class OptionError(ValueError):
    """A capture option is out of range; the message names it, quotes it and says what is allowed."""


@dataclass(frozen=True)
class CaptureOptions:
    interface: t.Optional[str] = None
    duration_s: float = 10.0
    count: t.Optional[int] = None
    hosts: t.Tuple[str, ...] = ()
    family: str = "any"
    snaplen: int = 65535
    pcap_path: t.Optional[str] = None
    pcap_max_bytes: int = 64 * 1024 * 1024
    top: int = 10
    families: t.Tuple[int, ...] = field(default=(4, 6))

    def describe(self) -> t.Dict[str, t.Any]:
        """What would be captured (check mode, and the result's ``filter``)."""
        return {"interface": self.interface or "all", "families": ["ipv%d" % f for f in self.families],
                "hosts": list(self.hosts), "duration_s": self.duration_s, "count": self.count,
                "snaplen": self.snaplen, "pcap_path": self.pcap_path,
                "pcap_max_bytes": self.pcap_max_bytes if self.pcap_path else None,
                "bpf_instructions": len(bpf.program(self.hosts, self.families, self.snaplen))}


def _number(name: str, value: t.Any, low: float, high: float, whole: bool = False) -> t.Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        raise OptionError("%s=%r must be a %s" % (name, value, "whole number" if whole else "number"))
    if not math.isfinite(value) or not low <= value <= high:
        raise OptionError("%s=%r is out of range: use %s to %s" % (name, value, low, high))
    return value


def build(params: t.Mapping[str, t.Any]) -> CaptureOptions:
    interface = params.get("interface")
    if interface is not None and not _INTERFACE_RE.fullmatch(str(interface)):
        raise OptionError("interface=%r is not an interface name (1-15 of letters, digits and _.:@-)" % (interface,))
    family = params.get("family") or "any"
    if family not in FAMILIES:
        raise OptionError("family=%r must be one of: %s" % (family, ", ".join(FAMILIES)))
    hosts = _hosts(params.get("hosts") or [], FAMILIES[family])
    count = params.get("count")
    if count is not None:
        _number("count", count, 1, MAX_COUNT, whole=True)
    pcap_path = params.get("pcap_path")
    if pcap_path is not None:
        pcap_path = _pcap_path(pcap_path)
    return CaptureOptions(
        interface=interface, duration_s=float(_number("duration", params.get("duration", 10.0), 0.01, MAX_DURATION_S)),
        count=count, hosts=hosts, family=family,
        snaplen=_number("snaplen", params.get("snaplen", 65535), MIN_SNAPLEN, MAX_SNAPLEN, whole=True),
        pcap_path=pcap_path,
        pcap_max_bytes=_number("pcap_max_bytes", params.get("pcap_max_bytes", 64 * 1024 * 1024), MIN_PCAP_BYTES,
                               MAX_PCAP_BYTES, whole=True),
        top=_number("top", params.get("top", 10), 1, 1000, whole=True),
        families=FAMILIES[family])


def _hosts(raw: t.Sequence[t.Any], families: t.Sequence[int]) -> t.Tuple[str, ...]:
    if len(raw) > bpf.MAX_HOSTS:
        raise OptionError("hosts lists %d addresses; the filter takes at most %d" % (len(raw), bpf.MAX_HOSTS))
    hosts = []
    for value in raw:
        if not isinstance(value, str):
            raise OptionError("hosts element %r is not a string: give literal IPv4 or IPv6 addresses" % (value,))
        try:
            address = ipaddress.ip_address(value)
        except ValueError as err:
            raise OptionError("hosts element %r is not an IPv4 or IPv6 address (names are not resolved)"
                              % (value,)) from err
        if address.version not in families:
            raise OptionError("hosts element %r is IPv%d but family selects %s"
                              % (value, address.version, "/".join("IPv%d" % f for f in families)))
        hosts.append(str(address))
    return tuple(hosts)


def _pcap_path(value: t.Any) -> str:
    path = str(value)
    if not path or "\0" in path or not os.path.isabs(path):
        raise OptionError("pcap_path=%r must be an absolute path to a new file" % (value,))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise OptionError("pcap_path=%r: the directory %r does not exist; create it first" % (path, directory))
    if os.path.lexists(path):
        raise OptionError("pcap_path=%r already exists; choose a new file name (it is never overwritten)" % path)
    return path
