# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The capture loop and the one class that touches the packet socket.

``PacketSocket`` is ``AF_PACKET``/``SOCK_DGRAM``: packets arrive from their network
header on, with the interface, direction and EtherType in the address. It is
created with protocol 0 (it receives nothing yet), gets the BPF filter, and only
then is bound to ETH_P_ALL, so no unfiltered packet is ever queued. Timestamps
come from the kernel (``SO_TIMESTAMPNS``). ``capture`` runs over any
``PacketSource`` and a clock, so unit tests drive it with fakes.
"""
from __future__ import annotations

import ctypes
import select
import socket
import struct
import time
import typing as t
from dataclasses import dataclass

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
ARPHRD_LOOPBACK = 772
RCVBUF_BYTES = 32 * 1024 * 1024
_TIMESPEC = struct.Struct("@ll")
_FAMILY = {ETH_P_IP: 4, ETH_P_IPV6: 6}


class CaptureError(Exception):
    """The capture could not start or run; the message says what to do."""


@dataclass(frozen=True)
class Frame:
    timestamp_ns: int
    data: bytes
    interface: str
    protocol: int  # EtherType
    pkttype: int  # PACKET_HOST, PACKET_OUTGOING, ...
    hatype: int  # ARPHRD_*
    address: bytes


class PacketSource(t.Protocol):
    def receive(self, timeout_s: float) -> t.List[Frame]: ...

    def statistics(self) -> t.Tuple[int, int]: ...

    def close(self) -> None: ...


class Clock(t.Protocol):
    def monotonic(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()


class PacketSocket:
    """The real packet socket, filtered in the kernel by ``program`` (``bpf.pack`` output).

    On one interface the socket starts with protocol 0 and is bound only after the
    filter is attached. On all interfaces there is nothing to bind to (ifindex 0
    cannot be named), so it starts with ETH_P_ALL and drops whatever was queued
    before the filter was in place, as libpcap does.
    """

    def __init__(self, interface: t.Optional[str], program: bytes, snaplen: int) -> None:
        self.snaplen = snaplen
        self._packets = self._drops = 0
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0 if interface else socket.htons(ETH_P_ALL))
        except PermissionError as err:
            raise CaptureError("capturing needs CAP_NET_RAW: run the task as root (become: true) or give the "
                               "interpreter the capability (setcap cap_net_raw+ep); socket(AF_PACKET) said: %s"
                               % err.strerror) from err
        try:
            self._configure(program)
            if interface:
                self._sock.bind((interface, ETH_P_ALL))
            else:
                self._drain()
        except OSError as err:
            self._sock.close()
            raise CaptureError("cannot capture on %s: %s" % (interface or "all interfaces", err)) from err

    def _configure(self, program: bytes) -> None:
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        except PermissionError:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.setblocking(False)

    def _drain(self) -> None:
        while True:
            try:
                self._sock.recv(1, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return

    def receive(self, timeout_s: float) -> t.List[Frame]:
        """Every frame queued now, waiting up to ``timeout_s`` for the first."""
        ready, _w, _x = select.select([self._sock], [], [], max(0.0, timeout_s))
        frames: t.List[Frame] = []
        while ready and len(frames) < 4096:
            try:
                data, ancillary, _flags, address = self._sock.recvmsg(self.snaplen, 64)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            frames.append(Frame(_timestamp(ancillary), data, address[0], address[1], address[2], address[3],
                                address[4]))
        return frames

    def statistics(self) -> t.Tuple[int, int]:
        """(packets, drops) so far: the kernel resets its counters on every read, we add them up."""
        packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self._packets += packets
        self._drops += drops
        return self._packets, self._drops

    def close(self) -> None:
        self._sock.close()


def _timestamp(ancillary: t.Sequence[t.Tuple[int, int, bytes]]) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


class Sink(t.Protocol):
    def add(self, timestamp_ns: int, direction: str, family: int, data: bytes) -> None: ...


class Recorder(t.Protocol):
    def add(self, timestamp_ns: int, packet: bytes, pkttype: int, hatype: int, address: bytes, protocol: int) -> bool: ...


def capture(source: PacketSource, clock: Clock, duration_s: float, count: t.Optional[int], summary: Sink,
            recorder: t.Optional[Recorder] = None) -> t.Dict[str, t.Any]:
    """Read until ``duration_s`` has passed or ``count`` packets were seen; returns the loop's own facts."""
    started = clock.monotonic()
    deadline = started + duration_s
    seen = 0
    interfaces: t.Set[str] = set()
    while seen != count:
        left = deadline - clock.monotonic()
        if left <= 0:
            break
        for frame in source.receive(min(left, 0.2)):
            family = frame_family(frame)
            if family is None:
                continue
            summary.add(frame.timestamp_ns, direction(frame), family, frame.data)
            if recorder is not None:
                recorder.add(frame.timestamp_ns, frame.data, frame.pkttype, frame.hatype, frame.address,
                             frame.protocol)
            interfaces.add(frame.interface)
            seen += 1
            if seen == count:
                break
    packets, drops = source.statistics()
    return {"elapsed_s": round(clock.monotonic() - started, 3), "captured": seen,
            "interfaces_seen": sorted(interfaces), "kernel": {"packets": packets, "drops": drops},
            "stopped_by": "count" if seen == count else "duration"}


def frame_family(frame: Frame) -> t.Optional[int]:
    """4 or 6 for a frame to count; None for one that is not IP, or loopback's copy of a packet
    it also delivers (the kernel shows it sent and received; libpcap skips the sent copy too)."""
    if frame.pkttype == PACKET_OUTGOING and frame.hatype == ARPHRD_LOOPBACK:
        return None
    return _FAMILY.get(frame.protocol)


def direction(frame: Frame) -> str:
    return "out" if frame.pkttype == PACKET_OUTGOING else "in"


def interface_index(name: str) -> int:
    """The interface's index, or ``CaptureError`` naming the interfaces that do exist."""
    try:
        return socket.if_nametoindex(name)
    except OSError as err:
        known = ", ".join(sorted(n for _i, n in socket.if_nameindex()))
        raise CaptureError("interface %r does not exist in this network namespace; interfaces here: %s"
                           % (name, known or "none")) from err
