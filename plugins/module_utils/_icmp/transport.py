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
import time
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import (
    FamilyUnavailableError,
    ParameterError,
    SocketPermissionError,
    TransportError,
    read_ping_group_range,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.kernel import (
    PathPacket,
    QueueError,
    Received,
    is_tunnel,
    read_ancillary,
    route_device,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import ProbeOptions
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import check_source_family

_ANCILLARY_LEN = 512
_new_tuple = tuple.__new__
_DF_VALUES = {"dont": 0, "want": 1, "do": 2, "probe": 3}  # IP(V6)_PMTUDISC_* share values
# Types a raw socket accepts; everything else (our own echo requests looping back,
# neighbour discovery, other tools' traffic) is dropped by the kernel filter.
_WANTED4 = (0, 3, 4, 5, 11, 12)
_WANTED6 = (1, 2, 3, 4, 129, 137)
# The errno a socket reports once more as its pending error (sk_err) after an ICMP error
# arrived for it (icmp_err_convert / icmpv6_err_convert); the packet or error-queue entry
# itself is still queued, so the read is simply repeated.
PENDING_ICMP_ERRORS = frozenset((
    errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENOPROTOOPT, errno.ECONNREFUSED, errno.EMSGSIZE,
    errno.EOPNOTSUPP, errno.EHOSTDOWN, errno.ENONET, errno.EACCES, errno.EPROTO,
))


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


def route_mtu(
    family: int, destination: str, source: t.Optional[str] = None, interface: t.Optional[str] = None
) -> t.Optional[int]:
    """The MTU the kernel's route to ``destination`` allows now (``IP_MTU`` / ``IPV6_MTU`` of a
    connected socket): the device MTU, or less where a PMTU exception was learnt, from a
    router's ICMP or locally (a tunnel driver lowers it when its encapsulated packet would
    not fit the underlay). Nothing is sent; None when there is no route."""
    try:
        with _connected_udp(family, destination, source, interface) as sock:
            mtu: int = sock.getsockopt(c.SOL_IP if family == 4 else c.IPPROTO_IPV6,
                                       c.IP_MTU if family == 4 else c.IPV6_MTU)
            return mtu
    except OSError:
        return None


def _connected_udp(family: int, destination: str, source: t.Optional[str], interface: t.Optional[str],
                   *options: t.Tuple[int, int, int]) -> socket.socket:
    """A UDP socket connected to ``destination`` (port 9) to ask the kernel about the route."""
    sock = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        if interface:
            bind_device(sock, interface)
        if source:
            bind_source(sock, family, source)
        for level, option, value in options:
            sock.setsockopt(level, option, value)
        sock.connect((destination, 9))
    except BaseException:
        sock.close()
        raise
    return sock


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
            bind_device(self._sock, options.interface)
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
            if err.errno in PENDING_ICMP_ERRORS:
                return self.receive(error_queue)
            raise
        ttl, stamp, queue_error = read_ancillary(ancillary)
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (hot path: one per reply)
        return _new_tuple(Received, (bytes(self._view[:size]), address[0], ttl, stamp, queue_error))


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

    def __init__(self, sockets: t.Sequence[t.Any]) -> None:  # IcmpSocket or socket.socket
        self._poll = select.poll()
        self._by_fd: t.Dict[int, t.Any] = {}
        for sock in sockets:
            self._poll.register(sock.fileno(), select.POLLIN | select.POLLERR)
            self._by_fd[sock.fileno()] = sock

    def wait(self, timeout_s: float) -> t.List[t.Tuple[t.Any, bool]]:
        """Sockets with something to read, each with "has error-queue entries"."""
        events = self._poll.poll(max(0, int(timeout_s * 1000 + 0.999)))
        return [(self._by_fd[fd], bool(mask & select.POLLERR)) for fd, mask in events]


class SystemNetwork:
    """The production ``scheduler.Network``: real sockets, ``poll``, the system resolver."""

    def open(self, family: int, privileged: str, options: ProbeOptions, expected_packets: int) -> IcmpSocket:
        return open_socket(family, privileged, options, expected_packets)

    def poller(self, sockets: t.Sequence[IcmpSocket]) -> Poller:
        return Poller(sockets)

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        return lookup(name, family)

    def zone_index(self, zone: str) -> int:
        return zone_index(zone)

    def open_path(self, family: int, method: str, destination: str, **options: t.Any) -> t.Any:
        # probes.PathProber builds on PathSockets below, so it is imported when first used.
        from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.probes import PathProber  # noqa: PLC0415

        return PathProber(family, method, destination, clock_ns=time.monotonic_ns, **options)

    def interface_mtu(self, family: int, destination: str, source: t.Optional[str],
                      interface: t.Optional[str]) -> t.Optional[int]:
        return interface_mtu(family, destination, source, interface)

    def route_mtu(self, family: int, destination: str, source: t.Optional[str],
                  interface: t.Optional[str]) -> t.Optional[int]:
        return route_mtu(family, destination, source, interface)

    def route_device(self, family: int, destination: str) -> t.Optional[str]:
        return route_device(family, destination)

    def is_tunnel(self, device: t.Optional[str]) -> bool:
        return is_tunnel(device)


# --- path probes (traceroute, pmtud): one destination, chosen TTL and size ---------------
class PathSockets:
    """The sockets of one path-probe run towards one destination (see ``probes.PathProber``).

    ``raw``: a raw ICMP socket reads every answer and error; UDP probes leave by a datagram
    socket, TCP SYNs by a raw TCP socket that also reads SYN-ACK / RST. ``unprivileged``: one
    ICMP datagram ("ping") or UDP socket with IP_RECVERR, whose error queue carries the ICMP
    errors (offender, type, code, and the MTU of frag-needed in ``ee_info``).
    """

    def __init__(self, family: int, method: str, destination: str, port: int, source: t.Optional[str],
                 interface: t.Optional[str], df_probe: bool, clock_ns: t.Callable[[], int]) -> None:
        self.family, self.method, self.destination, self.port = family, method, destination, port
        self.source, self.interface, self.df_probe = source, interface, df_probe
        self._clock_ns = clock_ns
        self._af, self._sol = (socket.AF_INET, c.SOL_IP) if family == 4 else (socket.AF_INET6, c.IPPROTO_IPV6)
        self._sockets: t.List[socket.socket] = []
        self._receivers: t.List[socket.socket] = []
        self._ttl: t.Dict[int, int] = {}
        self._tcp_source = source or ""
        self.mode = "raw"

    def _open(self, mode: str) -> str:
        """Open what ``mode`` (auto, raw, unprivileged) allows; the mode opened."""
        if mode in ("auto", "raw"):
            try:
                self._open_raw()
                return "raw"
            except PermissionError as err:
                self.close()
                if mode == "raw":
                    raise SocketPermissionError(
                        self.family, "raw", os.getgid(), read_ping_group_range(), str(err)
                    ) from err
        if self.method == "tcp":
            raise ParameterError(
                "method", "tcp", "TCP SYN probes need raw sockets (root or CAP_NET_RAW); "
                "use method icmp or udp without privileges, or run with become: true"
            )
        self._open_unprivileged()
        return "unprivileged"

    def _configure(self, sock: socket.socket) -> None:
        if self.interface:
            bind_device(sock, self.interface)
        if self.df_probe:
            option = c.IP_MTU_DISCOVER if self.family == 4 else c.IPV6_MTU_DISCOVER
            sock.setsockopt(self._sol, option, c.IP_PMTUDISC_PROBE)
        sock.setsockopt(c.SOL_SOCKET, c.SO_TIMESTAMPNS, 1)
        sock.setblocking(False)

    def _new(self, kind: int, proto: int) -> socket.socket:
        sock = socket.socket(self._af, kind, proto)
        self._sockets.append(sock)
        return sock

    def _open_raw(self) -> None:
        self._icmp = self._new(socket.SOCK_RAW, c.IPPROTO_ICMP if self.family == 4 else c.IPPROTO_ICMPV6)
        self._icmp.setsockopt(socket.SOL_SOCKET, c.SO_RCVBUF, 1 << 20)
        self._configure(self._icmp)
        if self.source:
            bind_source(self._icmp, self.family, self.source)
        self._send_sock = self._icmp
        if self.method == "udp":
            self._send_sock = self._new(socket.SOCK_DGRAM, c.IPPROTO_UDP)
            self._configure(self._send_sock)
            bind_source(self._send_sock, self.family, self.source)
        elif self.method == "tcp":
            self._send_sock = self._new(socket.SOCK_RAW, c.IPPROTO_TCP)
            self._configure(self._send_sock)
            if self.family == 6:
                self._send_sock.setsockopt(socket.IPPROTO_IPV6, c.IPV6_CHECKSUM, 16)
            self._tcp_source = self.source or route_source(self.family, self.destination, self.interface)
        self._receivers = [self._icmp] + ([self._send_sock] if self.method == "tcp" else [])

    def _open_unprivileged(self) -> None:
        proto = c.IPPROTO_UDP
        if self.method == "icmp":
            proto = c.IPPROTO_ICMP if self.family == 4 else c.IPPROTO_ICMPV6
        try:
            sock = self._new(socket.SOCK_DGRAM, proto)
        except PermissionError as err:
            self.close()
            raise SocketPermissionError(
                self.family, "unprivileged", os.getgid(), read_ping_group_range(), str(err)
            ) from err
        self._configure(sock)
        sock.setsockopt(self._sol, c.IP_RECVERR if self.family == 4 else c.IPV6_RECVERR, 1)
        if self.family == 4:
            sock.setsockopt(socket.IPPROTO_IP, c.IP_RECVTTL, 1)
        bind_source(sock, self.family, self.source)
        self._send_sock = sock
        self._receivers = [sock]

    def open_flow(self) -> socket.socket:
        """Another UDP socket like the send socket, so another source port (one per multipath flow);
        unprivileged, its error queue joins the receivers. Closed with the others."""
        sock = self._new(socket.SOCK_DGRAM, c.IPPROTO_UDP)
        self._configure(sock)
        if self.mode == "unprivileged":
            sock.setsockopt(self._sol, c.IP_RECVERR if self.family == 4 else c.IPV6_RECVERR, 1)
            self._receivers.append(sock)
        bind_source(sock, self.family, self.source)
        return sock

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    def _transmit(self, packet: bytes, ttl: int, port: int) -> t.Optional[OSError]:
        """Send with this TTL; None, or the error of a send the kernel refused twice."""
        if self._ttl.get(id(self._send_sock)) != ttl:
            option = socket.IP_TTL if self.family == 4 else socket.IPV6_UNICAST_HOPS
            self._send_sock.setsockopt(self._sol, option, ttl)
            self._ttl[id(self._send_sock)] = ttl
        last_error: t.Optional[OSError] = None
        # A socket with IP_RECVERR also keeps the last ICMP error in sk_err, and the next
        # send fails with it once (the packet is not sent). Retry once; a second failure
        # is about this packet (EMSGSIZE over the interface MTU, no route, ...).
        for _attempt in range(2):
            try:
                self._send_sock.sendto(packet, (self.destination, port))
                return None
            except OSError as err:
                last_error = err
        return last_error

    def _receive(self, timeout_s: float) -> t.List[PathPacket]:
        """Wait up to ``timeout_s`` for the sockets, then drain everything pending."""
        if timeout_s > 0 and not Poller(self._receivers).wait(timeout_s):
            return []
        packets: t.List[PathPacket] = []
        for sock in self._receivers:
            tcp = self.method == "tcp" and sock is self._send_sock
            if self.mode == "unprivileged":
                self._drain(sock, tcp, c.MSG_ERRQUEUE | c.MSG_DONTWAIT, packets)
            self._drain(sock, tcp, 0, packets)
        return packets

    def _drain(self, sock: socket.socket, tcp: bool, flags: int, into: t.List[PathPacket]) -> None:
        while True:
            try:
                data, ancillary, _flags, address = sock.recvmsg(c.RECEIVE_BUFFER_LEN, _ANCILLARY_LEN, flags)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if err.errno in PENDING_ICMP_ERRORS:
                    continue  # a pending sk_err surfaced on recv; the error queue has it
                raise TransportError("cannot read the IPv%d probe socket: %s" % (self.family, err)) from err
            rx_ns = self._clock_ns()
            _ttl, stamp, queue_error = read_ancillary(ancillary)
            if stamp is not None:  # the kernel's receive time, moved onto the monotonic clock
                rx_ns -= max(0, time.time_ns() - stamp)
            if flags and queue_error is None:
                continue
            into.append(PathPacket(data, address[0] if address else "", rx_ns, tcp, queue_error))


def route_source(family: int, destination: str, interface: t.Optional[str]) -> str:
    """The source address the kernel picks for ``destination`` (nothing is sent)."""
    with _connected_udp(family, destination, None, interface) as sock:
        return str(sock.getsockname()[0])


def interface_mtu(
    family: int, destination: str, source: t.Optional[str] = None, interface: t.Optional[str] = None
) -> t.Optional[int]:
    """The MTU of the interface the route to ``destination`` leaves by (not the cached PMTU).

    A too-large UDP datagram with IP_PMTUDISC_PROBE (which ignores the route's cached path MTU)
    fails locally with EMSGSIZE and, with IP_RECVERR, queues a local error whose ``ee_info`` is
    the device MTU. Nothing is sent. Falls back to IP_MTU."""
    sol = socket.IPPROTO_IP if family == 4 else socket.IPPROTO_IPV6
    options = ((sol, c.IP_MTU_DISCOVER if family == 4 else c.IPV6_MTU_DISCOVER, c.IP_PMTUDISC_PROBE),
               (sol, c.IP_RECVERR if family == 4 else c.IPV6_RECVERR, 1))
    try:
        with _connected_udp(family, destination, source, interface, *options) as sock:
            try:
                sock.send(bytes(65507 if family == 4 else 65527))
            except OSError as err:
                info = _local_error_info(sock) if err.errno == errno.EMSGSIZE else None
                if info is not None:
                    return info
    except OSError:
        return None  # no route, or the interface cannot be used: no local MTU to report
    return route_mtu(family, destination, source, interface)


def _local_error_info(sock: socket.socket) -> t.Optional[int]:
    """``ee_info`` (the device MTU) of the local error queued for a refused send, or None."""
    try:
        _data, ancillary, _flags, _address = sock.recvmsg(0, _ANCILLARY_LEN, c.MSG_ERRQUEUE | c.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    queued: t.Optional[QueueError] = read_ancillary(ancillary)[2]
    return queued.info if queued is not None else None
