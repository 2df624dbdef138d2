# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Classic libpcap files with nanosecond timestamps, written safely and within bounds.

The link type is LINUX_SLL (113): a 16-byte header before each packet says its
direction (incoming, outgoing, ...), the device's hardware type and the
EtherType, which is what an ``AF_PACKET``/``SOCK_DGRAM`` socket gives us, and what
``tcpdump -r`` shows as ``In``/``Out``. The file is created with
``O_CREAT|O_EXCL|O_NOFOLLOW`` and mode 0600: it never replaces or follows
anything that is already there. It stops growing at ``max_bytes`` (the header
included) and says so.
"""
from __future__ import annotations

import errno
import os
import struct
import typing as t

MAGIC_NS = 0xA1B23C4D
LINKTYPE_LINUX_SLL = 113
GLOBAL_HEADER = struct.Struct("=IHHiIII")
RECORD_HEADER = struct.Struct("=IIII")
SLL_HEADER = struct.Struct("!HHH8sH")
MIN_BYTES = GLOBAL_HEADER.size + RECORD_HEADER.size + SLL_HEADER.size + 64


class PcapError(Exception):
    """The pcap file cannot be created or written; nothing was left behind."""


def create(path: str) -> int:
    """A new file descriptor for ``path``; refuses an existing file, a symlink, a missing directory."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o600)
    except FileExistsError as err:
        raise PcapError("pcap_path %r already exists; choose a new file name (it is never overwritten)"
                        % path) from err
    except FileNotFoundError as err:
        raise PcapError("pcap_path %r: the directory %r does not exist; create it first"
                        % (path, os.path.dirname(path) or ".")) from err
    except OSError as err:
        raise PcapError("pcap_path %r cannot be created: %s" % (path, os.strerror(err.errno or 0))) from err


class PcapWriter:
    def __init__(self, fd: int, snaplen: int, max_bytes: int, max_packets: t.Optional[int] = None) -> None:
        self._fd, self.snaplen, self.max_bytes, self.max_packets = fd, snaplen, max_bytes, max_packets
        self.packets = 0
        self.bytes = 0
        self.truncated = False  # stopped at max_bytes or max_packets
        self._write(GLOBAL_HEADER.pack(MAGIC_NS, 2, 4, 0, 0, snaplen + SLL_HEADER.size, LINKTYPE_LINUX_SLL))

    def _write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as err:
            reason = "the disk is full" if err.errno == errno.ENOSPC else os.strerror(err.errno or 0)
            raise PcapError("writing the pcap file failed: %s" % reason) from err
        self.bytes += len(data)

    def add(self, timestamp_ns: int, packet: bytes, pkttype: int, hatype: int, address: bytes, protocol: int) -> bool:
        """Append one packet; False (and nothing written) once a bound is reached."""
        if self.truncated:
            return False
        caplen = min(len(packet), self.snaplen)
        record = RECORD_HEADER.size + SLL_HEADER.size + caplen
        if self.bytes + record > self.max_bytes or (self.max_packets is not None and self.packets >= self.max_packets):
            self.truncated = True
            return False
        sll = SLL_HEADER.pack(pkttype, hatype, min(len(address), 8), address[:8].ljust(8, b"\0"), protocol)
        seconds, nanoseconds = divmod(timestamp_ns, 1_000_000_000)
        self._write(RECORD_HEADER.pack(seconds, nanoseconds, caplen + SLL_HEADER.size, len(packet) + SLL_HEADER.size)
                    + sll + packet[:caplen])
        self.packets += 1
        return True

    def close(self) -> None:
        os.close(self._fd)


def read(data: bytes) -> t.Tuple[t.Dict[str, int], t.List[t.Tuple[int, int, bytes]]]:
    """Parse a file we wrote (tests, and a check after writing): header fields and (ts_ns, orig_len, bytes)."""
    magic, major, minor, _zone, _sigfigs, snaplen, linktype = GLOBAL_HEADER.unpack_from(data)
    if magic != MAGIC_NS:
        raise PcapError("not a nanosecond pcap file (magic %#x)" % magic)
    records = []
    offset = GLOBAL_HEADER.size
    while offset < len(data):
        seconds, nanoseconds, caplen, origlen = RECORD_HEADER.unpack_from(data, offset)
        offset += RECORD_HEADER.size
        records.append((seconds * 1_000_000_000 + nanoseconds, origlen, data[offset:offset + caplen]))
        offset += caplen
    return {"major": major, "minor": minor, "snaplen": snaplen, "linktype": linktype}, records
