# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Path probes for traceroute and pmtud: ICMP, UDP and TCP-SYN probe builders and matchers.

Pure code over bytes: the probe packets, and which received packet answers which probe.
The sockets are ``transport.PathSockets``; ``PathProber`` joins the two and turns whatever
comes back (echo reply, time exceeded, frag-needed / packet-too-big, port unreachable,
SYN-ACK / RST, local EMSGSIZE) into ``ProbeEvent`` values tagged with the probe number.

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
import struct
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import transport
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import checksum, parse_packet
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import CodecError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.kernel import QueueError
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

    def decode_errqueue(self, data: bytes, queued: QueueError, rx_ns: int) -> t.Optional[ProbeEvent]:
        """An entry of an unprivileged socket's error queue (``sock_extended_err`` parsed)."""
        icmp_type, code = queued.icmp_type, queued.code
        if queued.origin not in (c.SO_EE_ORIGIN_ICMP, c.SO_EE_ORIGIN_ICMP6):
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
        mtu = queued.info if kind == "too_big" else None
        return ProbeEvent(number, kind, queued.offender, rx_ns, icmp_type, code, mtu)


class PathProber(transport.PathSockets):
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
        port = port if port is not None else (33434 if method == "udp" else 80)
        super().__init__(family, method, destination, port, source, interface, df_probe, clock_ns)
        self.token = os.urandom(8)
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.tcp_base = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        self._tcp_sport = 33000 + self.ident % 20000
        self.matcher = ProbeMatcher(
            family, method, destination, self.port, "raw", self.token, self.ident, self.tcp_base, self._tcp_sport
        )
        self.probes_sent = 0
        self.mode = self._open(mode)
        self.matcher.mode = self.mode

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
        port = 0 if self.method == "icmp" or self.mode == "raw" and self.method == "tcp" else self.port
        error = self._transmit(self._packet(spec), spec.ttl, port)
        if error is None:
            self.probes_sent += 1
            return None
        mtu = None
        if error.errno == errno.EMSGSIZE:
            mtu = transport.interface_mtu(self.family, self.destination, self.source, self.interface)
        return ProbeEvent(
            number=spec.number,
            kind="local_error",
            address=None,
            rx_ns=self._clock_ns(),
            mtu=mtu,
            icmp_code=error.errno,
        )

    def poll(self, timeout_s: float) -> t.List[ProbeEvent]:
        """Wait up to ``timeout_s`` for answers, then decode everything pending."""
        events: t.List[ProbeEvent] = []
        for packet in self._receive(timeout_s):
            if packet.queue_error is not None:
                event = self.matcher.decode_errqueue(packet.data, packet.queue_error, packet.rx_ns)
            else:
                event = self.matcher.decode(packet.data, packet.address, packet.rx_ns, packet.from_tcp_socket)
            if event is not None:
                events.append(event)
        return events


# The socket helpers once defined here; kept importable under their old names.
interface_mtu = transport.interface_mtu
