# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Path-probe sockets for traceroute and pmtud: ICMP, UDP and TCP-SYN probes.

The only file of the path tools that touches ``socket``. A ``PathProber`` sends probes with
a chosen TTL and size towards one destination and turns whatever comes back (echo reply,
time exceeded, frag-needed / packet-too-big, port unreachable, SYN-ACK / RST, local
EMSGSIZE) into ``ProbeEvent`` values tagged with the probe number.

Two modes:
- ``raw`` (root or CAP_NET_RAW): errors are read from a raw ICMP socket and parsed by the
  engine codec, which also yields RFC 4884 / RFC 4950 MPLS label stacks;
- ``unprivileged``: ICMP datagram ("ping") sockets or plain UDP sockets with
  ``IP_RECVERR`` / ``IPV6_RECVERR``; the kernel queues each ICMP error on the socket's error
  queue with the offender address, type, code and ``ee_info`` (the MTU of frag-needed).

Flow identity (Paris traceroute): every probe of a run has the same ports, and ICMP
probes the same checksum: a 16-bit word in the payload compensates for the changing
sequence and probe number. So ECMP routers hash every probe onto the same path.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import transport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import checksum, parse_packet
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import (
    CodecError,
    ParameterError,
    SocketPermissionError,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import IcmpMessage
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pathmodels import ProbeEvent, ProbeSpec

# The probe payload: per-run token, probe number, Paris checksum compensation word.
PROBE_HEADER = struct.Struct("!8sIH")
PROBE_HEADER_LEN = PROBE_HEADER.size  # 14
PARIS_CHECKSUM = 0x5A5A  # the constant ICMP checksum every raw ICMP probe carries
_ICMP_HEADER = struct.Struct("!BBHHH")
_TCP_HEADER = struct.Struct("!HHIIBBHHH")
_TCP_SYN = 0x02
_TCP_RST = 0x04
_TCP_ACK = 0x10
TRANSPORT_HEADER_LEN = {"icmp": 8, "udp": 8, "tcp": 20}
IP_HEADER_LEN = {4: c.IPV4_MIN_HEADER_LEN, 6: c.IPV6_HEADER_LEN}

# Port unreachable means "the UDP probe reached the destination".
_PORT_UNREACHABLE = {4: (3, 3), 6: (1, 4)}
_TIME_EXCEEDED = {4: 11, 6: 3}
_UNREACHABLE = {4: 3, 6: 1}
_ECHO_REPLY = {4: c.Icmp4Type.ECHO_REPLY, 6: c.Icmp6Type.ECHO_REPLY}


def min_probe_size(family: int, method: str) -> int:
    """The smallest total packet length that still carries our probe header."""
    extra = 0 if method == "tcp" else PROBE_HEADER_LEN
    return IP_HEADER_LEN[family] + TRANSPORT_HEADER_LEN[method] + extra


def paris_payload(token: bytes, number: int, length: int, icmp_type: int, ident: int, seq: int) -> bytes:
    """An ICMP echo payload whose message checksum is PARIS_CHECKSUM for any seq/number.

    The compensation word sits at an even offset (ICMP header 8 + token 8 + number 4), so
    it enters the one's-complement sum as a plain 16-bit word: comp = ~target - sum(rest).
    """
    body = PROBE_HEADER.pack(token, number & 0xFFFFFFFF, 0) + bytes(max(0, length - PROBE_HEADER_LEN))
    partial = 0xFFFF & ~checksum(_ICMP_HEADER.pack(icmp_type, 0, 0, ident, seq) + body)
    want = 0xFFFF & ~PARIS_CHECKSUM
    comp = want - partial
    if comp < 0:
        comp -= 1  # one's-complement borrow
    comp &= 0xFFFF
    return PROBE_HEADER.pack(token, number & 0xFFFFFFFF, comp) + body[PROBE_HEADER_LEN:]


def read_token(payload: bytes, token: bytes) -> t.Optional[int]:
    """The probe number in ``payload`` when it starts with this run's token."""
    if len(payload) < 12 or payload[:8] != token:
        return None
    number: int = struct.unpack_from("!I", payload, 8)[0]
    return number


def tcp_checksum(family: int, src: str, dst: str, segment: bytes) -> int:
    """TCP checksum over the pseudo-header (RFC 793 / RFC 8200 section 8.1)."""
    src_b, dst_b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if family == 4:
        pseudo = src_b + dst_b + struct.pack("!BBH", 0, c.IPPROTO_TCP, len(segment))
    else:
        pseudo = src_b + dst_b + struct.pack("!IxxxB", len(segment), c.IPPROTO_TCP)
    return checksum(pseudo + segment)


def build_tcp_syn(sport: int, dport: int, seq: int) -> bytes:
    return _TCP_HEADER.pack(sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, _TCP_SYN, 65535, 0, 0)


def parse_sock_extended_err(data: bytes, family: int) -> t.Tuple[int, int, int, int, int, t.Optional[str]]:
    """``struct sock_extended_err`` + offender sockaddr -> (errno, origin, type, code, info, addr)."""
    ee_errno, origin, ee_type, code, _pad, info, _data = struct.unpack_from(c.SOCK_EXTENDED_ERR_FORMAT, data)
    offender = data[16:]
    address: t.Optional[str] = None
    if len(offender) >= 8:
        sa_family = struct.unpack_from("=H", offender)[0]
        if sa_family == socket.AF_INET:
            address = socket.inet_ntop(socket.AF_INET, offender[4:8])
        elif sa_family == socket.AF_INET6 and len(offender) >= 24:
            address = socket.inet_ntop(socket.AF_INET6, offender[8:24])
    return ee_errno, origin, ee_type, code, info, address


def classify(family: int, method: str, icmp_type: int, code: int) -> str:
    if icmp_type == _TIME_EXCEEDED[family]:
        return "ttl_exceeded"
    if (family == 4 and (icmp_type, code) == (3, 4)) or (family == 6 and icmp_type == 2):
        return "too_big"
    if method == "udp" and (icmp_type, code) == _PORT_UNREACHABLE[family]:
        return "reply"
    if icmp_type == _UNREACHABLE[family]:
        return "unreachable"
    if icmp_type == _ECHO_REPLY[family]:
        return "reply"
    return "other"


@dataclass
class ProbeMatcher:
    """Which received packet answers which probe of this run (pure: bytes in, events out).

    Raw sockets see every ICMP packet of the host, so an error counts only when it quotes
    a datagram to our destination with our identity: the ICMP identifier and payload token,
    the UDP ports and token, or the TCP ports and a sequence number in our range.
    """

    family: int
    method: str
    destination: str
    port: int
    mode: str = "raw"
    token: bytes = b"\x00" * 8
    ident: int = 0
    tcp_base: int = 0
    tcp_sport: int = 0
    seq_numbers: t.Dict[int, int] = field(default_factory=dict)

    def decode(self, data: bytes, address: str, rx_ns: int, from_tcp_socket: bool = False) -> t.Optional[ProbeEvent]:
        """A packet read from a raw socket, or an echo reply read from a ping socket."""
        if from_tcp_socket:
            return self._decode_tcp(data, address, rx_ns)
        if self.mode == "unprivileged":
            if self.method != "icmp" or len(data) < 8 or data[0] not in (0, 129):
                return None
            number = read_token(data[8:], self.token)
            if number is None or address != self.destination:
                return None
            return ProbeEvent(number, "reply", address, rx_ns, data[0], data[1])
        try:
            message = parse_packet(data, self.family, self.family == 4).message
        except CodecError:
            return None
        number = self._match(message, address)
        if number is None:
            return None
        mpls = tuple(label for ext in message.extensions for label in ext.mpls)
        kind = classify(self.family, self.method, message.icmp_type, message.code)
        return ProbeEvent(number, kind, address, rx_ns, message.icmp_type, message.code, message.mtu, mpls)

    def _match(self, message: IcmpMessage, address: str) -> t.Optional[int]:
        """The probe number a received raw ICMP message answers, or None if not ours."""
        if not message.is_error:
            # Only an echo reply answers: on loopback a raw socket also reads our own request.
            if self.method != "icmp" or message.icmp_type != _ECHO_REPLY[self.family]:
                return None
            if message.ident != self.ident or address != self.destination:
                return None
            return read_token(message.payload, self.token)
        original = message.original
        if original is None or original.dst != self.destination:
            return None
        if self.method == "icmp":
            if original.ident != self.ident:
                return None
            number = read_token(original.payload, self.token)
            return number if number is not None else self.seq_numbers.get(original.seq or 0)
        if original.protocol != (c.IPPROTO_UDP if self.method == "udp" else c.IPPROTO_TCP):
            return None
        if original.dport != self.port:
            return None
        if self.method == "udp":
            return read_token(original.payload, self.token)
        if original.sport != self.tcp_sport or original.tcp_seq is None:
            return None
        return (original.tcp_seq - self.tcp_base) & 0xFFFFFFFF

    def _decode_tcp(self, data: bytes, address: str, rx_ns: int) -> t.Optional[ProbeEvent]:
        if self.family == 4:
            if len(data) < 20 or data[9] != c.IPPROTO_TCP:
                return None
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < 20 or address != self.destination:
            return None
        sport, dport, _seq, ack, _off, flags, _win, _csum, _urg = _TCP_HEADER.unpack_from(data)
        if sport != self.port or dport != self.tcp_sport or not flags & (_TCP_RST | _TCP_ACK):
            return None
        return ProbeEvent((ack - 1 - self.tcp_base) & 0xFFFFFFFF, "reply", address, rx_ns, None, flags)

    def decode_errqueue(self, data: bytes, cmsg_data: bytes, rx_ns: int) -> t.Optional[ProbeEvent]:
        _err, origin, icmp_type, code, info, address = parse_sock_extended_err(cmsg_data, self.family)
        if origin not in (c.SO_EE_ORIGIN_ICMP, c.SO_EE_ORIGIN_ICMP6):
            return None  # local errors carry no payload; send() reports them
        if self.method == "icmp":
            # Ping sockets queue the quoted ICMP header and payload; the kernel chose the id.
            number = read_token(data[8:], self.token)
            if number is None and len(data) >= 8:
                number = self.seq_numbers.get(struct.unpack_from("!H", data, 6)[0])
        else:
            number = read_token(data, self.token)  # UDP: the payload after the UDP header
        if number is None:
            return None
        kind = classify(self.family, self.method, icmp_type, code)
        mtu = info if kind == "too_big" else None
        return ProbeEvent(number, kind, address, rx_ns, icmp_type, code, mtu)


class PathProber:
    """Probes one destination; see the module docstring. Not thread-safe; one per run."""

    def __init__(
        self,
        family: int,
        method: str,
        destination: str,
        mode: str = "auto",
        port: t.Optional[int] = None,
        source: t.Optional[str] = None,
        interface: t.Optional[str] = None,
        df_probe: bool = False,
        clock_ns: t.Callable[[], int] = lambda: 0,
    ) -> None:
        self.family, self.method, self.destination = family, method, destination
        self.port = port if port is not None else (33434 if method == "udp" else 80)
        self.source, self.interface, self.df_probe = source, interface, df_probe
        self._clock_ns = clock_ns
        self._af = socket.AF_INET if family == 4 else socket.AF_INET6
        self._sol = socket.IPPROTO_IP if family == 4 else socket.IPPROTO_IPV6
        self.token = os.urandom(8)
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.tcp_base = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        self._tcp_sport = 33000 + self.ident % 20000
        self._sockets: t.List[socket.socket] = []
        self.matcher = ProbeMatcher(
            family, method, destination, self.port, "raw", self.token, self.ident, self.tcp_base, self._tcp_sport
        )
        self._ttl: t.Dict[int, int] = {}
        self.probes_sent = 0
        self.mode = self._open(mode)
        self.matcher.mode = self.mode

    # --- opening ------------------------------------------------------------------
    def _open(self, mode: str) -> str:
        if mode in ("auto", "raw"):
            try:
                self._open_raw()
                return "raw"
            except PermissionError as err:
                self.close()
                if mode == "raw":
                    raise SocketPermissionError(
                        self.family, "raw", os.getgid(), transport.read_ping_group_range(), str(err)
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
            transport.bind_device(sock, self.interface)
        if self.df_probe:
            option = c.IP_MTU_DISCOVER if self.family == 4 else c.IPV6_MTU_DISCOVER
            sock.setsockopt(self._sol, option, c.IP_PMTUDISC_PROBE)
        sock.setblocking(False)

    def _new(self, kind: int, proto: int) -> socket.socket:
        sock = socket.socket(self._af, kind, proto)
        self._sockets.append(sock)
        return sock

    def _open_raw(self) -> None:
        icmp_proto = c.IPPROTO_ICMP if self.family == 4 else c.IPPROTO_ICMPV6
        self._icmp = self._new(socket.SOCK_RAW, icmp_proto)
        self._icmp.setsockopt(socket.SOL_SOCKET, c.SO_RCVBUF, 1 << 20)
        self._configure(self._icmp)
        if self.source:
            transport.bind_source(self._icmp, self.family, self.source)
        self._send_sock = self._icmp
        if self.method == "udp":
            self._send_sock = self._new(socket.SOCK_DGRAM, c.IPPROTO_UDP)
            self._configure(self._send_sock)
            transport.bind_source(self._send_sock, self.family, self.source)
        elif self.method == "tcp":
            self._send_sock = self._new(socket.SOCK_RAW, c.IPPROTO_TCP)
            self._configure(self._send_sock)
            if self.family == 6:
                self._send_sock.setsockopt(socket.IPPROTO_IPV6, c.IPV6_CHECKSUM, 16)
            self._tcp_source = self.source or self._route_source()
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
                self.family, "unprivileged", os.getgid(), transport.read_ping_group_range(), str(err)
            ) from err
        self._configure(sock)
        sock.setsockopt(self._sol, c.IP_RECVERR if self.family == 4 else c.IPV6_RECVERR, 1)
        if self.family == 4:
            sock.setsockopt(socket.IPPROTO_IP, c.IP_RECVTTL, 1)
        transport.bind_source(sock, self.family, self.source)
        self._send_sock = sock
        self._receivers = [sock]

    def _route_source(self) -> str:
        probe = socket.socket(self._af, socket.SOCK_DGRAM)
        try:
            if self.interface:
                transport.bind_device(probe, self.interface)
            probe.connect((self.destination, 9))
            address: str = probe.getsockname()[0]
            return address
        finally:
            probe.close()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    # --- sending -------------------------------------------------------------------
    def _set_ttl(self, ttl: int) -> None:
        if self._ttl.get(id(self._send_sock)) != ttl:
            option = socket.IP_TTL if self.family == 4 else socket.IPV6_UNICAST_HOPS
            self._send_sock.setsockopt(self._sol, option, ttl)
            self._ttl[id(self._send_sock)] = ttl

    def _packet(self, spec: ProbeSpec) -> bytes:
        payload_len = spec.size - IP_HEADER_LEN[self.family] - TRANSPORT_HEADER_LEN[self.method]
        if self.method == "tcp":
            seq = self.tcp_base + spec.number
            segment = build_tcp_syn(self._tcp_sport, self.port, seq)
            if self.family == 4:
                csum = tcp_checksum(4, self._tcp_source, self.destination, segment)
                segment = segment[:16] + struct.pack("!H", csum) + segment[18:]
            return segment
        if self.method == "udp":
            return PROBE_HEADER.pack(self.token, spec.number, 0) + bytes(max(0, payload_len - PROBE_HEADER_LEN))
        seq = spec.number & 0xFFFF
        self.matcher.seq_numbers[seq] = spec.number
        echo = 8 if self.family == 4 else 128
        payload = paris_payload(self.token, spec.number, payload_len, echo, self.ident, seq)
        header = _ICMP_HEADER.pack(echo, 0, PARIS_CHECKSUM if self.family == 4 else 0, self.ident, seq)
        return header + payload

    def send(self, spec: ProbeSpec) -> t.Optional[ProbeEvent]:
        """Send one probe; a send the kernel refuses comes back as a ``local_error`` event."""
        self._set_ttl(spec.ttl)
        packet = self._packet(spec)
        port = 0 if self.method == "icmp" or self.mode == "raw" and self.method == "tcp" else self.port
        last_error: t.Optional[OSError] = None
        # A socket with IP_RECVERR also keeps the last ICMP error in sk_err, and the next
        # send fails with it once (the packet is not sent). Retry once; a second failure
        # is about this packet (EMSGSIZE over the interface MTU, no route, ...).
        for _attempt in range(2):
            try:
                self._send_sock.sendto(packet, (self.destination, port))
                self.probes_sent += 1
                return None
            except OSError as err:
                last_error = err
        if last_error is None:  # unreachable: the loop returns or records an error
            raise RuntimeError('send loop ended without a result')
        mtu = None
        if last_error.errno == errno.EMSGSIZE:
            mtu = interface_mtu(self.family, self.destination, self.source, self.interface)
        return ProbeEvent(
            number=spec.number,
            kind="local_error",
            address=None,
            rx_ns=self._clock_ns(),
            mtu=mtu,
            icmp_code=last_error.errno,
        )

    # --- receiving -----------------------------------------------------------------
    def poll(self, timeout_s: float) -> t.List[ProbeEvent]:
        """Wait up to ``timeout_s`` for the sockets, then drain everything pending."""
        if timeout_s > 0:
            poller = select.poll()
            for sock in self._receivers:
                poller.register(sock, select.POLLIN | select.POLLERR)
            if not poller.poll(max(0, int(timeout_s * 1000 + 0.999))):
                return []
        events: t.List[ProbeEvent] = []
        for sock in self._receivers:
            if self.mode == "unprivileged":
                events.extend(self._drain_errqueue(sock))
            events.extend(self._drain(sock))
        return events

    def _drain(self, sock: socket.socket) -> t.List[ProbeEvent]:
        events: t.List[ProbeEvent] = []
        while True:
            try:
                data, address = sock.recvfrom(c.RECEIVE_BUFFER_LEN)
            except (BlockingIOError, InterruptedError):
                return events
            except OSError:
                continue  # a pending sk_err surfaced on recv; the error queue has it
            rx_ns = self._clock_ns()
            tcp = self.method == "tcp" and sock is self._send_sock
            event = self.matcher.decode(data, address[0], rx_ns, from_tcp_socket=tcp)
            if event is not None:
                events.append(event)

    def _drain_errqueue(self, sock: socket.socket) -> t.List[ProbeEvent]:
        events: t.List[ProbeEvent] = []
        level = socket.IPPROTO_IP if self.family == 4 else socket.IPPROTO_IPV6
        kind_of = c.IP_RECVERR if self.family == 4 else c.IPV6_RECVERR
        while True:
            try:
                data, ancillary, _flags, _addr = sock.recvmsg(
                    c.RECEIVE_BUFFER_LEN, 512, c.MSG_ERRQUEUE | c.MSG_DONTWAIT
                )
            except (BlockingIOError, InterruptedError):
                return events
            rx_ns = self._clock_ns()
            for cmsg_level, cmsg_type, cmsg_data in ancillary:
                if cmsg_level == level and cmsg_type == kind_of:
                    event = self.matcher.decode_errqueue(data, cmsg_data, rx_ns)
                    if event is not None:
                        events.append(event)


def interface_mtu(
    family: int, destination: str, source: t.Optional[str] = None, interface: t.Optional[str] = None
) -> t.Optional[int]:
    """The MTU of the interface the route to ``destination`` leaves by (not the cached PMTU).

    A too-large UDP datagram with IP_PMTUDISC_PROBE fails locally with EMSGSIZE, and with
    IP_RECVERR the kernel queues a local error whose ``ee_info`` is the device MTU (PROBE
    mode ignores the route's cached path MTU). Nothing is sent. Falls back to IP_MTU.
    """
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    sol = socket.IPPROTO_IP if family == 4 else socket.IPPROTO_IPV6
    sock = socket.socket(af, socket.SOCK_DGRAM)
    try:
        if interface:
            transport.bind_device(sock, interface)
        if source:
            transport.bind_source(sock, family, source)
        sock.setsockopt(sol, c.IP_MTU_DISCOVER if family == 4 else c.IPV6_MTU_DISCOVER, c.IP_PMTUDISC_PROBE)
        sock.setsockopt(sol, c.IP_RECVERR if family == 4 else c.IPV6_RECVERR, 1)
        sock.connect((destination, 9))
        try:
            sock.send(bytes(65507 if family == 4 else 65527))
        except OSError as err:
            if err.errno == errno.EMSGSIZE:
                try:
                    _data, ancillary, _f, _a = sock.recvmsg(0, 512, c.MSG_ERRQUEUE | c.MSG_DONTWAIT)
                    for _level, _type, cmsg_data in ancillary:
                        return parse_sock_extended_err(cmsg_data, family)[4]
                except OSError:
                    pass
    except OSError:
        return None
    finally:
        sock.close()
    return transport.route_mtu(family, destination, source, interface)
