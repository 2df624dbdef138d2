"""A fake network for the ping engine: sockets, a poller and a resolver on a FakeClock.

Behaviour per destination address is a ``Responder``: what answers each probe and
when. Packets are real bytes built with the codec, so the engine parses what it would
parse on a real socket (raw IPv4 gets an IP header, the rest do not).
"""
from __future__ import annotations

import heapq
import struct
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import checksum
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import SocketPermissionError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import QueueError, Received

from tests.unit.fakes.clock import FakeClock


@dataclass
class Responder:
    """How one destination answers. Delays in seconds; ``drop`` probes get nothing."""

    delay_s: float = 0.001
    ttl: int = 64
    drop: t.Container[int] = ()  # 0-based probe index (per destination) to drop
    duplicate: t.Container[int] = ()  # probe indexes answered twice
    late_s: t.Dict[int, float] = field(default_factory=dict)  # index -> delay overriding delay_s
    error: t.Optional[t.Tuple[int, int, str]] = None  # (type, code, reporting address)
    reply_from: t.Optional[str] = None  # answer from another address (spoofed/wrong)
    foreign_token: bool = False  # answer with someone else's token
    seen: int = 0


def _ipv4_header(src: str, dst: str, ttl: int, length: int) -> bytes:
    def aton(text: str) -> bytes:
        return bytes(int(x) for x in text.split("."))

    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0, ttl, 1, 0, aton(src), aton(dst))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def _with_checksum(message: bytes) -> bytes:
    return message[:2] + struct.pack("!H", checksum(message[:2] + b"\0\0" + message[4:])) + message[4:]


class FakeSocket:
    def __init__(self, network: "FakeNetwork", family: int, mode: str) -> None:
        self.network = network
        self.family = family
        self.mode = mode
        self.has_ip_header = family == 4 and mode == "raw"
        self.ident = 4242 if mode == "unprivileged" else 0
        self.sent: t.List[t.Tuple[bytes, str]] = []
        self.closed = False
        self.send_errors: t.Dict[str, int] = {}  # address -> errno returned by send
        self.soft_failures = 0  # next N sends answer ENOBUFS

    def fileno(self) -> int:
        return id(self)

    def close(self) -> None:
        self.closed = True

    def send(self, packet: bytes, address: str) -> int:
        if self.soft_failures:
            self.soft_failures -= 1
            return 105  # ENOBUFS
        if address in self.send_errors:
            return self.send_errors[address]
        self.network.clock.advance(self.network.send_cost_s)
        if self.mode == "unprivileged":  # the kernel rewrites the identifier
            packet = packet[:4] + struct.pack("!H", self.ident) + packet[6:]
        self.sent.append((packet, address))
        self.network.respond(self, packet, address)
        return 0

    def receive(self, error_queue: bool = False) -> t.Optional[Received]:
        return self.network.pop(self, error_queue)


class FakeNetwork:
    def __init__(self, clock: t.Optional[FakeClock] = None, mode: str = "raw") -> None:
        self.clock = clock or FakeClock()
        self.mode = mode
        self.responders: t.Dict[str, Responder] = {}
        self.names: t.Dict[str, t.List[t.Tuple[int, str]]] = {}
        self.queue: t.List[t.Tuple[int, int, int, Received, bool]] = []
        self.sockets: t.List[FakeSocket] = []
        self.denied = False
        self.interfaces = ["lo", "eth0"]  # for IPv6 zones
        self.send_cost_s = 0.0  # clock time each send takes (a slow host sending unpaced)
        self._order = 0

    # --- the Network seam ---
    def open(self, family: int, privileged: str, options: t.Any, expected_packets: int) -> FakeSocket:
        if self.denied:
            raise SocketPermissionError(family, privileged, 1000, "1 0")
        sock = FakeSocket(self, family, self.mode if privileged == "auto" else privileged)
        self.sockets.append(sock)
        return sock

    def poller(self, sockets: t.Sequence[FakeSocket]) -> "FakeNetwork":
        return self

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        if name not in self.names:
            raise OSError(-2, "Name or service not known")
        return [a for a in self.names[name] if family in (0, a[0])]

    def zone_index(self, zone: str) -> int:
        if zone.isdigit() and 0 < int(zone) <= len(self.interfaces):
            return int(zone)
        if zone not in self.interfaces:
            raise OSError(19, "No such device")
        return self.interfaces.index(zone) + 1

    def wait(self, timeout_s: float) -> t.List[t.Tuple[FakeSocket, bool]]:
        now = self.clock.now_ns
        limit = now + int(timeout_s * 1e9)
        if self.queue and self.queue[0][0] <= limit:
            self.clock.now_ns = max(now, self.queue[0][0])
        else:
            self.clock.now_ns = limit
        ready = {}
        for due, _order, sock_id, _item, errq in self.queue:
            if due <= self.clock.now_ns:
                sock = next(s for s in self.sockets if id(s) == sock_id)
                ready[sock_id] = (sock, ready.get(sock_id, (sock, False))[1] or errq)
        return list(ready.values())

    # --- delivery ---
    def pop(self, sock: FakeSocket, error_queue: bool) -> t.Optional[Received]:
        for index, (due, _order, sock_id, item, errq) in enumerate(self.queue):
            if due <= self.clock.now_ns and sock_id == id(sock) and errq == error_queue:
                del self.queue[index]
                heapq.heapify(self.queue)
                return item
        return None

    def deliver(self, sock: FakeSocket, delay_s: float, item: Received, error_queue: bool = False) -> None:
        self._order += 1
        due = self.clock.now_ns + int(delay_s * 1e9)
        heapq.heappush(self.queue, (due, self._order, id(sock), item, error_queue))

    def respond(self, sock: FakeSocket, packet: bytes, address: str) -> None:
        responder = self.responders.get(address)
        if responder is None:
            return
        index = responder.seen
        responder.seen += 1
        if index in responder.drop:
            return
        if responder.error is not None:
            self._error(sock, packet, address, responder)
            return
        reply_type = 0 if sock.family == 4 else 129
        body = packet[8:]
        if responder.foreign_token:
            body = b"XXXXXXXX" + body[8:]
        reply = _with_checksum(bytes((reply_type, 0, 0, 0)) + packet[4:8] + body)
        source = responder.reply_from or address
        data = _ipv4_header(source, "192.0.2.100", responder.ttl, len(reply)) + reply if sock.has_ip_header else reply
        ttl = None if sock.has_ip_header else responder.ttl
        delay = responder.late_s.get(index, responder.delay_s)
        copies = 2 if index in responder.duplicate else 1
        for _copy in range(copies):
            self.deliver(sock, delay, Received(data, source, ttl, None, None))

    def _error(self, sock: FakeSocket, packet: bytes, address: str, responder: Responder) -> None:
        icmp_type, code, reporter = responder.error
        if sock.mode == "unprivileged":  # IP_RECVERR: our packet plus sock_extended_err
            origin = 2 if sock.family == 4 else 3
            err = QueueError(113, origin, icmp_type, code, 0, reporter)
            self.deliver(sock, responder.delay_s, Received(packet, address, None, None, err), error_queue=True)
            return
        if sock.family == 4:
            quoted = _ipv4_header("192.0.2.100", address, 63, len(packet)) + packet
            message = _with_checksum(struct.pack("!BBHI", icmp_type, code, 0, 0) + quoted)
            data = _ipv4_header(reporter, "192.0.2.100", 64, len(message)) + message
        else:
            import ipaddress

            header = struct.pack(
                "!IHBB16s16s", 6 << 28, len(packet), 58, 63,
                ipaddress.IPv6Address("2001:db8::100").packed, ipaddress.IPv6Address(address).packed,
            )
            data = struct.pack("!BBHI", icmp_type, code, 0, 0) + header + packet
        self.deliver(sock, responder.delay_s, Received(data, reporter, None, None, None))
