# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""A standard-library nfnetlink_log reader: the packets a ``log group N`` rule logged.

Why nflog and not the kernel log: ``log`` to the kernel log (nft ``log`` without a group,
iptables ``LOG``) writes nothing from a network namespace other than the host's unless the
host-wide sysctl ``net.netfilter.nf_log_all_netns`` is 1, and the kernel log is shared by
every namespace anyway. An nflog group is per network namespace and is read over netlink
(``AF_NETLINK``/``NETLINK_NETFILTER``), so it works the same on a host and inside a lab node,
and changes no host-wide setting.

The conversation (``linux/netfilter/nfnetlink_log.h``): a ``NFULNL_MSG_CONFIG`` request with
``NFULNL_CFG_CMD_PF_UNBIND``/``PF_BIND`` per family (no-ops since Linux 3.17, still sent for
older kernels), then ``BIND`` the group, ``COPY_PACKET`` mode with a small range (we need the
IP and ICMP headers only) and a queue threshold of one (every packet is sent at once). Each
logged packet then arrives as a ``NFULNL_MSG_PACKET`` with ``NFULA_*`` attributes.

Everything that builds or parses bytes is a pure function, tested with hex fixtures;
``NetlinkSocket`` is the one class that touches a socket, and ``read_group`` drives any
``Channel`` with a clock, bounded by time and by message count.
"""
from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import names

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NFNETLINK_V0 = 0
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

# NFULA_CFG_* (config attributes) and the commands of NFULA_CFG_CMD
NFULA_CFG_CMD, NFULA_CFG_MODE, NFULA_CFG_NLBUFSIZ, NFULA_CFG_TIMEOUT, NFULA_CFG_QTHRESH = 1, 2, 3, 4, 5
NFULNL_CFG_CMD_BIND, NFULNL_CFG_CMD_UNBIND, NFULNL_CFG_CMD_PF_BIND, NFULNL_CFG_CMD_PF_UNBIND = 1, 2, 3, 4
NFULNL_COPY_PACKET = 2

# NFULA_* (packet attributes) we read
NFULA_PACKET_HDR, NFULA_TIMESTAMP, NFULA_IFINDEX_INDEV, NFULA_IFINDEX_OUTDEV = 1, 3, 4, 5
NFULA_PAYLOAD, NFULA_PREFIX = 9, 10

CAP_NET_ADMIN = 12
COPY_RANGE = 128  # an IPv6 header (40) and a few extension headers before the ICMP header
RCVBUF_BYTES = 1024 * 1024
_HOOKS = {1: "input", 2: "forward", 3: "output"}  # NF_INET_LOCAL_IN, NF_INET_FORWARD, NF_INET_LOCAL_OUT
_FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
_NLMSGHDR = struct.Struct("=IHHII")
_NLATTR = struct.Struct("=HH")
_NFGENMSG = struct.Struct("!BBH")  # family, version, res_id (big-endian)


class NflogError(Exception):
    """The drop log could not be read; the message says what to do."""


@dataclass(frozen=True)
class LoggedPacket:
    """One packet a ``log group`` rule logged."""

    family: t.Optional[str]  # ipv4 | ipv6 (None: another protocol family)
    direction: t.Optional[str]  # input | forward | output (the netfilter hook)
    prefix: str
    payload: bytes  # the packet from its network header on, at most the copy range
    in_interface: t.Optional[int]  # ifindex
    out_interface: t.Optional[int]
    timestamp_s: t.Optional[float]  # the kernel's receive time, when the packet has one


# --- build --------------------------------------------------------------------------------

def _align(length: int) -> int:
    return (length + 3) & ~3


def attribute(kind: int, value: bytes) -> bytes:
    """One netlink attribute, padded to four bytes."""
    length = _NLATTR.size + len(value)
    return (_NLATTR.pack(length, kind) + value).ljust(_align(length), b"\0")


def config_message(sequence: int, family: int, group: int, attributes: bytes) -> bytes:
    """A ``NFULNL_MSG_CONFIG`` request (with an ack) for ``group`` (0 for the per-family commands)."""
    body = _NFGENMSG.pack(family, NFNETLINK_V0, group) + attributes
    kind = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, sequence, 0) + body


def command(value: int) -> bytes:
    return attribute(NFULA_CFG_CMD, struct.pack("B", value))


def copy_mode(copy_range: int) -> bytes:
    """``struct nfulnl_msg_config_mode``: be32 range, u8 mode, u8 pad (six bytes, not padded to eight)."""
    return attribute(NFULA_CFG_MODE, struct.pack("!IBB", copy_range, NFULNL_COPY_PACKET, 0))


def setup_messages(group: int, copy_range: int = COPY_RANGE) -> t.List[bytes]:
    """The requests that start reading ``group``, in order."""
    names.check_log_group(group)
    messages = []
    for family in (socket.AF_INET, socket.AF_INET6):
        messages.append(config_message(len(messages) + 1, family, 0, command(NFULNL_CFG_CMD_PF_UNBIND)))
        messages.append(config_message(len(messages) + 1, family, 0, command(NFULNL_CFG_CMD_PF_BIND)))
    messages.append(config_message(len(messages) + 1, socket.AF_UNSPEC, group, command(NFULNL_CFG_CMD_BIND)))
    settings = copy_mode(copy_range) + attribute(NFULA_CFG_QTHRESH, struct.pack("!I", 1))
    messages.append(config_message(len(messages) + 1, socket.AF_UNSPEC, group, settings))
    return messages


def unbind_message(group: int) -> bytes:
    return config_message(99, socket.AF_UNSPEC, group, command(NFULNL_CFG_CMD_UNBIND))


# --- parse --------------------------------------------------------------------------------

class Message(t.NamedTuple):
    kind: int  # nlmsg_type
    sequence: int
    body: bytes


def messages(data: bytes) -> t.List[Message]:
    """The netlink messages of one datagram; a truncated tail is dropped, never raised."""
    result, offset = [], 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, sequence, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            break
        result.append(Message(kind, sequence, data[offset + _NLMSGHDR.size:offset + length]))
        offset += _align(length)
    return result


def attributes(data: bytes) -> t.Dict[int, bytes]:
    """Attribute type (flags masked) -> value; a truncated or malformed tail is dropped."""
    found: t.Dict[int, bytes] = {}
    offset = 0
    while offset + _NLATTR.size <= len(data):
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size or offset + length > len(data):
            break
        found.setdefault(kind & NLA_TYPE_MASK, data[offset + _NLATTR.size:offset + length])
        offset += _align(length)
    return found


def error_code(message: Message) -> t.Optional[int]:
    """The positive errno of an ``NLMSG_ERROR`` (0 for an ack); None for other messages."""
    if message.kind != NLMSG_ERROR or len(message.body) < 4:
        return None
    return -struct.unpack_from("=i", message.body)[0]


def _u32(value: t.Optional[bytes]) -> t.Optional[int]:
    return struct.unpack("!I", value)[0] if value is not None and len(value) == 4 else None


def parse_packet(message: Message) -> t.Optional[LoggedPacket]:
    """A ``NFULNL_MSG_PACKET`` as a ``LoggedPacket``; None for any other message or a short one."""
    if message.kind != (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET or len(message.body) < _NFGENMSG.size:
        return None
    family = message.body[0]
    found = attributes(message.body[_NFGENMSG.size:])
    header = found.get(NFULA_PACKET_HDR, b"")
    direction = _HOOKS.get(header[2]) if len(header) >= 3 else None
    stamp = found.get(NFULA_TIMESTAMP)
    timestamp = None
    if stamp is not None and len(stamp) == 16:
        seconds, micros = struct.unpack("!QQ", stamp)
        timestamp = seconds + micros / 1e6
    prefix = found.get(NFULA_PREFIX, b"").split(b"\0", 1)[0].decode("ascii", "replace")
    return LoggedPacket(_FAMILIES.get(family), direction, prefix, found.get(NFULA_PAYLOAD, b""),
                        _u32(found.get(NFULA_IFINDEX_INDEV)), _u32(found.get(NFULA_IFINDEX_OUTDEV)), timestamp)


# --- read ---------------------------------------------------------------------------------

class Channel(t.Protocol):
    def send(self, data: bytes) -> None: ...

    def receive(self, timeout_s: float) -> t.Optional[bytes]:
        """One datagram, or None when nothing arrived in time; ``OSError(ENOBUFS)`` on an overrun."""

    def close(self) -> None: ...


class Clock(t.Protocol):
    def monotonic(self) -> float: ...


class _SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()


class NetlinkSocket:
    """``AF_NETLINK``/``NETLINK_NETFILTER``: the one class of this module that touches a socket."""

    def __init__(self) -> None:
        try:
            self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        except OSError as err:
            raise NflogError("cannot open a netfilter netlink socket (%s): the drop log needs Linux with "
                             "nfnetlink; run the task on a Linux host" % os.strerror(err.errno or 0)) from err
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            self._socket.bind((0, 0))
        except OSError as err:
            self._socket.close()
            raise NflogError("cannot bind a netfilter netlink socket: %s" % os.strerror(err.errno or 0)) from err

    def send(self, data: bytes) -> None:
        self._socket.send(data)

    def receive(self, timeout_s: float) -> t.Optional[bytes]:
        readable, _w, _x = select.select([self._socket], [], [], max(0.0, timeout_s))
        if not readable:
            return None
        return self._socket.recv(65536)

    def close(self) -> None:
        self._socket.close()


def has_net_admin(status_path: str = "/proc/self/status") -> t.Optional[bool]:
    """Whether this process holds CAP_NET_ADMIN (None: unknown)."""
    try:
        with open(status_path, encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _refusal(group: int, code: int, net_admin: t.Optional[bool]) -> NflogError:
    if code == errno.EPERM and net_admin is False:
        return NflogError("reading nflog group %d was refused (EPERM): it needs CAP_NET_ADMIN; run the task as "
                          "root (become: true)" % group)
    if code in (errno.EPERM, errno.EBUSY, errno.EEXIST):
        return NflogError("nflog group %d is already read by another program (ulogd, another run of this task): "
                          "stop it, or give the policy and this task another log_group" % group)
    return NflogError("the kernel refused to bind nflog group %d: %s (%s); is nfnetlink_log available "
                      "(/proc/net/netfilter/nfnetlink_log)?" % (group, os.strerror(code), errno.errorcode.get(code, code)))


ACK_WAIT_S = 2.0


def _await_ack(channel: Channel, sequence: int, group: int, net_admin: t.Callable[[], t.Optional[bool]],
               early: t.List[LoggedPacket], clock: Clock) -> None:
    """Wait for the ack of request ``sequence``; packets that arrive first (a busy group) are kept in ``early``."""
    deadline = clock.monotonic() + ACK_WAIT_S
    while clock.monotonic() < deadline:
        data = channel.receive(deadline - clock.monotonic())
        if data is None:
            continue
        for message in messages(data):
            code, packet = error_code(message), parse_packet(message)
            if packet is not None:
                early.append(packet)
            elif code is not None and message.sequence == sequence:
                if code != 0:
                    raise _refusal(group, code, net_admin())
                return
    raise NflogError("the kernel did not answer the nflog setup for group %d in time; try again" % group)


class Reading(t.NamedTuple):
    packets: t.List[LoggedPacket]
    overruns: int  # times the socket buffer overflowed (packets were lost)
    truncated: bool  # stopped at max_packets before the window ended
    elapsed_s: float


def read_group(group: int, duration_s: float, max_packets: int, channel: t.Optional[Channel] = None,
               clock: t.Optional[Clock] = None,
               net_admin: t.Callable[[], t.Optional[bool]] = has_net_admin) -> Reading:
    """Bind ``group``, read what it logs for ``duration_s`` or until ``max_packets``, unbind, close."""
    names.check_log_group(group)
    clock = clock or _SystemClock()
    channel = channel or NetlinkSocket()
    try:
        early: t.List[LoggedPacket] = []
        for message in setup_messages(group):
            channel.send(message)
            _await_ack(channel, messages(message)[0].sequence, group, net_admin, early, clock)
        return _collect(channel, early, duration_s, max_packets, clock)
    finally:
        try:
            channel.send(unbind_message(group))
        except OSError:
            pass  # closing the socket releases the group too: the unbind only makes it prompt
        channel.close()


def _collect(channel: Channel, early: t.List[LoggedPacket], duration_s: float, max_packets: int,
             clock: Clock) -> Reading:
    start = clock.monotonic()
    deadline, packets, overruns = start + duration_s, early[:max_packets], 0
    while len(packets) < max_packets:
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            break
        try:
            data = channel.receive(remaining)
        except OSError as err:
            if err.errno != errno.ENOBUFS:
                raise NflogError("reading the drop log failed: %s" % os.strerror(err.errno or 0)) from err
            overruns += 1
            continue
        for message in messages(data or b""):
            packet = parse_packet(message)
            if packet is not None and len(packets) < max_packets:
                packets.append(packet)
    truncated = len(packets) >= max_packets and clock.monotonic() < deadline
    return Reading(packets, overruns, truncated, round(clock.monotonic() - start, 3))
