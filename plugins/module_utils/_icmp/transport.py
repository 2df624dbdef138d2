# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The only file of the engine that touches ``socket``: ICMP sockets and their options.

One ``IcmpSocket`` per address family and mode serves every target of a run. Raw
sockets (CAP_NET_RAW) see every ICMP packet on the host, so they get a kernel filter
that lets only echo replies and errors through; unprivileged datagram sockets
(``net.ipv4.ping_group_range``) are demultiplexed by the kernel on the identifier,
which the kernel chooses (it is the socket's local "port": ``getsockname()[1]``).
"""
from __future__ import annotations

import errno
import os
import select
import socket
import struct
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import (
    PING_GROUP_RANGE_PATH,
    FamilyUnavailableError,
    SocketPermissionError,
    TransportError,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import ProbeOptions

_TIMESPEC = struct.Struct("@ll")
_INT = struct.Struct("@i")
_EXT_ERR = struct.Struct(c.SOCK_EXTENDED_ERR_FORMAT)
_ANCILLARY_LEN = 512
_new_tuple = tuple.__new__
# Ancillary message kinds, as module constants: read once per received packet.
_SOL_SOCKET, _SCM_TIMESTAMPNS = c.SOL_SOCKET, c.SCM_TIMESTAMPNS
_TTL_MESSAGES = frozenset(((c.SOL_IP, c.IP_TTL), (c.IPPROTO_IPV6, c.IPV6_HOPLIMIT)))
_ERROR_MESSAGES = frozenset(((c.SOL_IP, c.IP_RECVERR), (c.IPPROTO_IPV6, c.IPV6_RECVERR)))
_DF_VALUES = {"dont": 0, "want": 1, "do": 2, "probe": 3}  # IP(V6)_PMTUDISC_* share values
# Types a raw socket accepts; everything else (our own echo requests looping back,
# neighbour discovery, other tools' traffic) is dropped by the kernel filter.
_WANTED4 = (0, 3, 4, 5, 11, 12)
_WANTED6 = (1, 2, 3, 4, 129, 137)


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


def read_ping_group_range() -> t.Optional[str]:
    try:
        with open(PING_GROUP_RANGE_PATH) as handle:
            return " ".join(handle.read().split())
    except OSError:
        return None


def lookup(name: str, family: int) -> t.List[t.Tuple[int, str]]:
    """``getaddrinfo`` for ``family`` 0 (any), 4 or 6 -> [(4 or 6, address)] in resolver order."""
    af = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
    infos = socket.getaddrinfo(name, None, af, socket.SOCK_RAW)
    return [(4 if info[0] == socket.AF_INET else 6, str(info[4][0])) for info in infos]


def bind_device(sock: socket.socket, interface: str) -> None:
    """``SO_BINDTODEVICE``, with what to do when the interface is missing or not allowed."""
    try:
        sock.setsockopt(c.SOL_SOCKET, c.SO_BINDTODEVICE, interface.encode() + b"\0")
    except OSError as err:
        if err.errno == errno.ENODEV:
            raise TransportError("interface %r does not exist on this host (check `ip link`)" % interface) from err
        if err.errno == errno.EPERM:
            raise TransportError(
                "binding to interface %r needs CAP_NET_RAW on this kernel; run the task as root "
                "(become: true) or drop the interface option" % interface
            ) from err
        raise TransportError("cannot bind to interface %r: %s" % (interface, os.strerror(err.errno or 0))) from err


def bind_source(sock: socket.socket, family: int, source: t.Optional[str]) -> None:
    """Bind to ``source`` (or the wildcard), saying what is wrong with a bad source."""
    if source is not None:
        check_source_family(source, family)
    host = source or ("0.0.0.0" if family == 4 else "::")
    try:
        sock.bind((host, 0))
    except OSError as err:
        if err.errno == errno.EADDRNOTAVAIL:
            raise TransportError(
                "source address %r is not configured on this host (or this namespace); "
                "pick one shown by `ip address`" % source
            ) from err
        raise TransportError("cannot bind to source %r: %s" % (host, os.strerror(err.errno or 0) or err)) from err


def check_source_family(source: str, family: int) -> None:
    """``TransportError`` unless ``source`` is an IP address of ``family``."""
    import ipaddress  # noqa: PLC0415 - only runs with a source option

    try:
        version = ipaddress.ip_address(source.partition("%")[0]).version
    except ValueError:
        raise TransportError(
            "source %r is not an IP address: give an address configured on this host (see `ip address`)" % source
        ) from None
    if version != family:
        raise TransportError(
            "source %r is an IPv%d address and cannot send the IPv%d probes: give an IPv%d source "
            "(see `ip address`), or probe IPv4 and IPv6 targets in separate tasks" % (source, version, family, family)
        )


def route_mtu(
    family: int, destination: str, source: t.Optional[str] = None, interface: t.Optional[str] = None
) -> t.Optional[int]:
    """The MTU the kernel's route to ``destination`` allows now (``IP_MTU`` / ``IPV6_MTU`` of a
    connected socket): the device MTU, or less where a PMTU exception was learnt, from a
    router's ICMP or locally (a tunnel driver lowers it when its encapsulated packet would
    not fit the underlay). Nothing is sent; None when there is no route."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    level = c.SOL_IP if family == 4 else c.IPPROTO_IPV6
    sock = socket.socket(af, socket.SOCK_DGRAM)
    try:
        if interface:
            bind_device(sock, interface)
        if source:
            bind_source(sock, family, source)
        sock.connect((destination, 9))
        mtu: int = sock.getsockopt(level, c.IP_MTU if family == 4 else c.IPV6_MTU)
        return mtu
    except OSError:
        return None
    finally:
        sock.close()


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
    import ipaddress  # noqa: PLC0415 - only runs for a local MTU limit

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


def zone_index(zone: str) -> int:
    """The interface index an IPv6 zone (``fe80::1%eth0``) names; ``OSError`` when none."""
    if zone.isdigit():
        return int(zone)
    return socket.if_nametoindex(zone)


class IcmpSocket:
    """An ICMP socket for one family (4 or 6) and mode ("raw" or "unprivileged")."""

    def __init__(self, family: int, mode: str, options: ProbeOptions, expected_packets: int = 1) -> None:
        self.family = family
        self.mode = mode
        self.has_ip_header = family == 4 and mode == "raw"
        self._af = socket.AF_INET if family == 4 else socket.AF_INET6
        self._level = c.SOL_IP if family == 4 else c.IPPROTO_IPV6
        proto = c.IPPROTO_ICMP if family == 4 else c.IPPROTO_ICMPV6
        kind = socket.SOCK_RAW if mode == "raw" else socket.SOCK_DGRAM
        self._sock = socket.socket(self._af, kind, proto)
        try:
            self._configure(options, expected_packets)
        except BaseException:
            self._sock.close()
            raise
        self.ident = self._sock.getsockname()[1] if mode == "unprivileged" else 0
        self._buffer = bytearray(c.RECEIVE_BUFFER_LEN)
        self._view = memoryview(self._buffer)
        self._buffers = [self._view]  # recvmsg_into's argument, built once (hot path)

    def _configure(self, options: ProbeOptions, expected_packets: int) -> None:
        sock, level = self._sock, self._level
        sock.setblocking(False)
        if self.mode == "raw":
            self._install_filter()
        else:
            # Without IP_RECVERR a datagram ping socket reports ICMP errors only as a
            # bare errno on the next call; with it we get type, code and the offender.
            sock.setsockopt(level, c.IP_RECVERR if self.family == 4 else c.IPV6_RECVERR, 1)
        if not self.has_ip_header:  # raw IPv4 reads the TTL from the IP header instead
            sock.setsockopt(level, c.IP_RECVTTL if self.family == 4 else c.IPV6_RECVHOPLIMIT, 1)
        sock.setsockopt(c.SOL_SOCKET, c.SO_TIMESTAMPNS, 1)
        self._size_receive_buffer(expected_packets)
        if options.interface:
            self._bind_device(options.interface)
        if options.ttl is not None:
            sock.setsockopt(level, c.IP_TTL if self.family == 4 else c.IPV6_UNICAST_HOPS, options.ttl)
        if options.tos is not None:
            sock.setsockopt(level, c.IP_TOS if self.family == 4 else c.IPV6_TCLASS, options.tos)
        if options.df is not None:
            sock.setsockopt(
                level, c.IP_MTU_DISCOVER if self.family == 4 else c.IPV6_MTU_DISCOVER, _DF_VALUES[options.df]
            )
        self._bind(options.source)

    def _install_filter(self) -> None:
        if self.family == 4:
            mask = 0xFFFFFFFF
            for icmp_type in _WANTED4:
                mask &= ~(1 << icmp_type)
            self._sock.setsockopt(c.SOL_RAW, c.ICMP_FILTER, struct.pack("=I", mask))
            return
        words = [0xFFFFFFFF] * 8
        for icmp_type in _WANTED6:
            words[icmp_type >> 5] &= ~(1 << (icmp_type & 31))
        self._sock.setsockopt(c.IPPROTO_ICMPV6, c.ICMPV6_FILTER, struct.pack("=8I", *words))
        try:
            # RFC 3542 asks applications to set IPV6_CHECKSUM on raw sockets; Linux
            # always computes the ICMPv6 checksum itself and answers EINVAL for
            # IPPROTO_ICMPV6 sockets, which is exactly what we need.
            self._sock.setsockopt(c.IPPROTO_IPV6, c.IPV6_CHECKSUM, 2)
        except OSError as err:
            if err.errno != errno.EINVAL:
                raise

    def _size_receive_buffer(self, expected_packets: int) -> None:
        # A 10k-target sweep can have thousands of replies queued between two drains.
        # SO_RCVBUF is capped by net.core.rmem_max; SO_RCVBUFFORCE (CAP_NET_ADMIN) is not.
        wanted = min(max(256 * 1024, expected_packets * 2048), 64 * 1024 * 1024)
        try:
            self._sock.setsockopt(c.SOL_SOCKET, c.SO_RCVBUFFORCE, wanted)
        except OSError:
            self._sock.setsockopt(c.SOL_SOCKET, c.SO_RCVBUF, wanted)

    def _bind_device(self, interface: str) -> None:
        bind_device(self._sock, interface)

    def _bind(self, source: t.Optional[str]) -> None:
        if source is None and self.mode == "raw":
            return
        bind_source(self._sock, self.family, source)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def send(self, packet: bytes, address: str) -> int:
        """Send; 0 on success, else the errno (EAGAIN/ENOBUFS mean "try again later")."""
        try:
            self._sock.sendto(packet, (address, 0))
        except OSError as err:
            return err.errno or errno.EIO
        return 0

    def receive(self, error_queue: bool = False) -> t.Optional[Received]:
        """One pending packet (or error-queue entry), or None when there is none."""
        flags = c.MSG_ERRQUEUE if error_queue else 0
        try:
            size, ancillary, _flags, address = self._sock.recvmsg_into(self._buffers, _ANCILLARY_LEN, flags)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as err:
            # A raw socket reports some ICMP errors once more as a pending socket error
            # (sk_err) on the next call; the ICMP packet itself is still queued.
            if err.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EMSGSIZE, errno.ECONNREFUSED, errno.EPROTO):
                return self.receive(error_queue)
            raise
        ttl, stamp, queue_error = None, None, None
        for level, kind, payload in ancillary:
            if kind == _SCM_TIMESTAMPNS and level == _SOL_SOCKET:
                seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                stamp = seconds * 1000000000 + nanoseconds
            elif (level, kind) in _TTL_MESSAGES:
                ttl = _INT.unpack_from(payload)[0]
            elif (level, kind) in _ERROR_MESSAGES:
                queue_error = parse_extended_error(payload)
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (hot path: one per reply)
        return _new_tuple(Received, (bytes(self._view[:size]), address[0], ttl, stamp, queue_error))


def parse_extended_error(payload: bytes) -> t.Optional[QueueError]:
    """``struct sock_extended_err`` followed by the offender's ``sockaddr`` (if any)."""
    if len(payload) < _EXT_ERR.size:
        return None
    ee_errno, origin, icmp_type, code, _pad, info, _data = _EXT_ERR.unpack_from(payload)
    offender = None
    rest = payload[_EXT_ERR.size:]
    if len(rest) >= 8:
        sa_family = struct.unpack_from("@H", rest)[0]
        if sa_family == socket.AF_INET:
            offender = socket.inet_ntop(socket.AF_INET, bytes(rest[4:8]))
        elif sa_family == socket.AF_INET6 and len(rest) >= 24:
            offender = socket.inet_ntop(socket.AF_INET6, bytes(rest[8:24]))
    return QueueError(ee_errno, origin, icmp_type, code, info, offender)


def open_socket(family: int, privileged: str, options: ProbeOptions, expected_packets: int = 1) -> IcmpSocket:
    """Open the socket ``privileged`` asks for; ``auto`` tries unprivileged, then raw.

    Unprivileged first: the kernel demultiplexes datagram ping sockets by identifier,
    so concurrent runs do not each receive a copy of every ICMP packet on the host
    (a raw socket does), and no privilege is used that is not needed. Root on a host
    whose ping_group_range excludes gid 0 falls back to raw at no cost.
    """
    modes = {"auto": ("unprivileged", "raw"), "raw": ("raw",), "unprivileged": ("unprivileged",)}[privileged]
    denied: t.List[str] = []
    for mode in modes:
        try:
            return IcmpSocket(family, mode, options, expected_packets)
        except PermissionError as err:
            denied.append("%s socket: %s" % (mode, os.strerror(err.errno or errno.EPERM)))
        except OSError as err:
            if err.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT):
                raise FamilyUnavailableError(
                    "IPv%d ICMP sockets are not available on this host (%s); use family: ipv%d"
                    % (family, os.strerror(err.errno), 10 - family)
                ) from err
            raise TransportError("cannot configure the %s IPv%d ICMP socket: %s" % (mode, family, err)) from err
    raise SocketPermissionError(family, privileged, os.getgid(), read_ping_group_range(), "; ".join(denied))


class Poller:
    """Waits on several sockets at once (``select.poll``); reports error-queue readiness."""

    def __init__(self, sockets: t.Sequence[IcmpSocket]) -> None:
        self._poll = select.poll()
        self._by_fd: t.Dict[int, IcmpSocket] = {}
        for sock in sockets:
            self._poll.register(sock.fileno(), select.POLLIN | select.POLLERR)
            self._by_fd[sock.fileno()] = sock

    def wait(self, timeout_s: float) -> t.List[t.Tuple[IcmpSocket, bool]]:
        """Sockets with something to read, each with "has error-queue entries"."""
        events = self._poll.poll(max(0, int(timeout_s * 1000 + 0.999)))
        return [(self._by_fd[fd], bool(mask & select.POLLERR)) for fd, mask in events]


class SystemNetwork:
    """The production ``ping.Network``: real sockets, ``poll`` and the system resolver."""

    def open(self, family: int, privileged: str, options: ProbeOptions, expected_packets: int) -> IcmpSocket:
        return open_socket(family, privileged, options, expected_packets)

    def poller(self, sockets: t.Sequence[IcmpSocket]) -> Poller:
        return Poller(sockets)

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        return lookup(name, family)

    def zone_index(self, zone: str) -> int:
        return zone_index(zone)
