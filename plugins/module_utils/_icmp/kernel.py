# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Pure readers of what the kernel hands the transport (no sockets are opened here).

- ancillary data of ``recvmsg``: kernel receive timestamps (``SO_TIMESTAMPNS``), the TTL
  (``IP_RECVTTL`` / ``IPV6_RECVHOPLIMIT``) and error-queue entries (``struct sock_extended_err``
  with the offender's address, from ``IP_RECVERR`` / ``IPV6_RECVERR``);
- the main routing table in /proc: which interface a destination leaves by, for naming a
  local MTU limit.
"""
from __future__ import annotations

import ipaddress
import os
import struct
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c

_TIMESPEC = struct.Struct("@ll")
_INT = struct.Struct("@i")
_EXT_ERR = struct.Struct(c.SOCK_EXTENDED_ERR_FORMAT)
# Ancillary message kinds, as module constants: read once per received packet.
_SOL_SOCKET, _SCM_TIMESTAMPNS = c.SOL_SOCKET, c.SCM_TIMESTAMPNS
_TTL_MESSAGES = frozenset(((c.SOL_IP, c.IP_TTL), (c.IPPROTO_IPV6, c.IPV6_HOPLIMIT)))
_ERROR_MESSAGES = frozenset(((c.SOL_IP, c.IP_RECVERR), (c.IPPROTO_IPV6, c.IPV6_RECVERR)))


class QueueError(t.NamedTuple):
    """One ``struct sock_extended_err`` read from the socket error queue."""

    errno: int
    origin: int  # SO_EE_ORIGIN_*
    icmp_type: int
    code: int
    info: int  # e.g. the MTU of a frag-needed / packet-too-big error
    offender: t.Optional[str]  # address that sent the ICMP error


class Received(t.NamedTuple):
    data: bytes  # ICMP message (raw IPv4: the whole IP packet)
    address: str  # source of the packet; for error-queue entries the original destination
    ttl: t.Optional[int]  # from IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data
    rx_realtime_ns: t.Optional[int]  # SO_TIMESTAMPNS: kernel receive time, CLOCK_REALTIME
    queue_error: t.Optional[QueueError]  # set for entries read from the error queue


class PathPacket(t.NamedTuple):
    data: bytes  # what was read (raw IPv4: the whole IP packet; error queue: the quoted payload)
    address: str  # source of the packet (error queue: the original destination)
    rx_ns: int  # on the run's monotonic clock, from the kernel receive stamp when there is one
    from_tcp_socket: bool  # read from the raw TCP socket (SYN-ACK / RST), not an ICMP one
    queue_error: t.Optional[QueueError]  # set for error-queue entries


def read_ancillary(
    ancillary: t.List[t.Tuple[int, int, bytes]]
) -> t.Tuple[t.Optional[int], t.Optional[int], t.Optional[QueueError]]:
    """(TTL, kernel receive time in CLOCK_REALTIME ns, error-queue entry) from ``recvmsg``."""
    ttl, stamp, queue_error = None, None, None
    for level, kind, payload in ancillary:
        if kind == _SCM_TIMESTAMPNS and level == _SOL_SOCKET:
            seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
            stamp = seconds * 1000000000 + nanoseconds
        elif (level, kind) in _TTL_MESSAGES:
            ttl = _INT.unpack_from(payload)[0]
        elif (level, kind) in _ERROR_MESSAGES:
            queue_error = parse_extended_error(payload)
    return ttl, stamp, queue_error


def parse_extended_error(payload: bytes) -> t.Optional[QueueError]:
    """``struct sock_extended_err`` followed by the offender's ``sockaddr`` (if any)."""
    if len(payload) < _EXT_ERR.size:
        return None
    ee_errno, origin, icmp_type, code, _pad, info, _data = _EXT_ERR.unpack_from(payload)
    offender = None
    rest = payload[_EXT_ERR.size:]
    if len(rest) >= 8:
        sa_family = struct.unpack_from("@H", rest)[0]
        if sa_family == c.AF_INET:
            offender = str(ipaddress.IPv4Address(bytes(rest[4:8])))
        elif sa_family == c.AF_INET6 and len(rest) >= 24:
            offender = str(ipaddress.IPv6Address(bytes(rest[8:24])))
    return QueueError(ee_errno, origin, icmp_type, code, info, offender)


def route_device(family: int, destination: str) -> t.Optional[str]:
    """The interface of the main table's longest-prefix route to ``destination`` (from /proc)."""
    path = "/proc/net/route" if family == 4 else "/proc/net/ipv6_route"
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return None
    return pick_route_device(text, family, destination)


def pick_route_device(table: str, family: int, destination: str) -> t.Optional[str]:
    """Pure: the device of the longest-prefix, lowest-metric usable route in a /proc route table."""
    wanted = int(ipaddress.ip_address(destination))
    best: t.Optional[t.Tuple[int, int, str]] = None  # (prefix length, -metric, device)
    for line in table.splitlines():
        fields = line.split()
        route = _route_entry(fields, family)
        if route is None:
            continue
        network, length, metric, device = route
        bits = 32 if family == 4 else 128
        mask = ((1 << length) - 1) << (bits - length) if length else 0
        if wanted & mask == network & mask and (best is None or (length, -metric) > best[:2]):
            best = (length, -metric, device)
    return best[2] if best else None


def _route_entry(fields: t.List[str], family: int) -> t.Optional[t.Tuple[int, int, int, str]]:
    """(network, prefix length, metric, device) of one /proc route line; None for headers,
    routes that are down and reject routes."""
    try:
        if family == 4 and len(fields) >= 8:
            flags, mask = int(fields[3], 16), int.from_bytes(bytes.fromhex(fields[7]), "little")
            network = int.from_bytes(bytes.fromhex(fields[1]), "little")
            usable = flags & 0x0001 and not flags & 0x0200  # RTF_UP, not RTF_REJECT
            return (network, bin(mask).count("1"), int(fields[6]), fields[0]) if usable else None
        if family == 6 and len(fields) >= 10:
            flags = int(fields[8], 16)
            usable = flags & 0x0001 and not flags & 0x0200
            return (int(fields[0], 16), int(fields[1], 16), int(fields[5], 16), fields[9]) if usable else None
    except ValueError:
        return None
    return None


# Tunnel devices: their own ARPHRD type (IPIP, TUNNEL6, SIT, IPGRE, IP6GRE, NONE for wireguard/tun),
# or Ethernet-type devices whose sysfs uevent names a tunnel DEVTYPE (vxlan, geneve, gretap, ...).
_TUNNEL_ARPHRD = frozenset((768, 769, 776, 778, 823, 65534))
_TUNNEL_DEVTYPES = frozenset(("vxlan", "geneve", "gretap", "ip6gretap", "erspan", "ip6erspan", "wireguard",
                              "bareudp", "ipip", "sit", "gre", "ip6gre", "ip6tnl", "vti", "vti6", "xfrm"))


def is_tunnel(device: t.Optional[str], root: str = "/sys/class/net") -> bool:
    """Whether ``device`` is a tunnel (read from sysfs): only a tunnel lowers a route's MTU by itself;
    on any other device a route MTU below the device's was learnt from a router (perhaps in an earlier run)."""
    if not device or "/" in device or device in (".", ".."):
        return False
    base = os.path.join(root, device)
    try:
        with open(os.path.join(base, "type"), encoding="ascii") as handle:
            kind = int(handle.read().strip())
        if kind in _TUNNEL_ARPHRD:
            return True
        with open(os.path.join(base, "uevent"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        return False
    return any(line.startswith("DEVTYPE=") and line[8:] in _TUNNEL_DEVTYPES for line in lines)
