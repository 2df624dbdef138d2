# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Protocol numbers and the Linux socket constants Python's ``socket`` lacks.

Every magic number of the engine lives here, named. Values are from the Linux UAPI
headers (``linux/in.h``, ``linux/in6.h``, ``linux/icmp.h``, ``linux/icmpv6.h``,
``linux/errqueue.h``, ``asm-generic/socket.h``); they are stable kernel ABI.
"""
from __future__ import annotations

import enum

# --- address families and protocols (Linux values) -------------------------------
AF_INET = 2
AF_INET6 = 10
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ICMPV6 = 58

# --- SOL_SOCKET options ------------------------------------------------------------
SOL_SOCKET = 1
SO_RCVBUF = 8
SO_BINDTODEVICE = 25
SO_RCVBUFFORCE = 33  # needs CAP_NET_ADMIN; ignores net.core.rmem_max
SO_TIMESTAMPNS = 35  # SO_TIMESTAMPNS_OLD: struct timespec of CLOCK_REALTIME
SCM_TIMESTAMPNS = SO_TIMESTAMPNS

# --- IPPROTO_IP (SOL_IP) options ----------------------------------------------------
SOL_IP = 0
IP_TOS = 1
IP_TTL = 2  # also the cmsg type carrying the received TTL
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_RECVTTL = 12
IP_MTU = 14
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3

# --- IPPROTO_IPV6 options ---------------------------------------------------------
IPV6_CHECKSUM = 7
IPV6_UNICAST_HOPS = 16
IPV6_MTU_DISCOVER = 23
IPV6_MTU = 24
IPV6_RECVERR = 25
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52  # cmsg type carrying the received hop limit
IPV6_TCLASS = 67
IPV6_DONTFRAG = 62
IPV6_PMTUDISC_DONT = 0
IPV6_PMTUDISC_WANT = 1
IPV6_PMTUDISC_DO = 2
IPV6_PMTUDISC_PROBE = 3

# --- raw ICMP receive filters ---------------------------------------------------
SOL_RAW = 255
ICMP_FILTER = 1  # level SOL_RAW: 32-bit mask, a set bit BLOCKS that ICMPv4 type
ICMPV6_FILTER = 1  # level IPPROTO_ICMPV6: 8 x 32-bit words, a set bit BLOCKS that type

# --- recvmsg flags and the error queue --------------------------------------------
MSG_DONTWAIT = 0x40
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_NONE = 0
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
# struct sock_extended_err: ee_errno u32, ee_origin u8, ee_type u8, ee_code u8,
# ee_pad u8, ee_info u32, ee_data u32; the offender sockaddr follows it.
SOCK_EXTENDED_ERR_FORMAT = "=IBBBBII"

# --- sizes ------------------------------------------------------------------------
ICMP_HEADER_LEN = 8
IPV4_MIN_HEADER_LEN = 20
IPV6_HEADER_LEN = 40
UDP_HEADER_LEN = 8
IPV4_MAX_PAYLOAD = 65535 - IPV4_MIN_HEADER_LEN - ICMP_HEADER_LEN  # 65507
IPV6_MAX_PAYLOAD = 65535 - ICMP_HEADER_LEN  # 65527 (payload length excludes the IPv6 header)
RECEIVE_BUFFER_LEN = 65535 + 60  # largest IPv4 datagram incl. a maximal header
RFC4884_MIN_ORIGINAL_LEN = 128
RFC4884_EXTENSION_VERSION = 2
MPLS_CLASS_NUM = 1  # RFC 4950 MPLS label stack object
MPLS_CTYPE_INCOMING = 1


class Icmp4Type(enum.IntEnum):
    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12


class Icmp6Type(enum.IntEnum):
    DEST_UNREACHABLE = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAMETER_PROBLEM = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129
    REDIRECT = 137


class Unreach4Code(enum.IntEnum):
    NET_UNREACHABLE = 0
    HOST_UNREACHABLE = 1
    PROTOCOL_UNREACHABLE = 2
    PORT_UNREACHABLE = 3
    FRAG_NEEDED = 4
    SOURCE_ROUTE_FAILED = 5
    NET_UNKNOWN = 6
    HOST_UNKNOWN = 7
    SOURCE_HOST_ISOLATED = 8
    NET_PROHIBITED = 9
    HOST_PROHIBITED = 10
    NET_TOS_UNREACHABLE = 11
    HOST_TOS_UNREACHABLE = 12
    ADMIN_PROHIBITED = 13
    HOST_PRECEDENCE_VIOLATION = 14
    PRECEDENCE_CUTOFF = 15


class Unreach6Code(enum.IntEnum):
    NO_ROUTE = 0
    ADMIN_PROHIBITED = 1
    BEYOND_SCOPE = 2
    ADDRESS_UNREACHABLE = 3
    PORT_UNREACHABLE = 4
    SOURCE_POLICY_FAILED = 5
    REJECT_ROUTE = 6
    SOURCE_ROUTING_HEADER_ERROR = 7


class TimeExceededCode(enum.IntEnum):
    TTL_EXCEEDED = 0
    REASSEMBLY_TIMEOUT = 1


class ParamProblem4Code(enum.IntEnum):
    POINTER_INDICATES_ERROR = 0
    MISSING_OPTION = 1
    BAD_LENGTH = 2


class ParamProblem6Code(enum.IntEnum):
    ERRONEOUS_HEADER = 0
    UNRECOGNIZED_NEXT_HEADER = 1
    UNRECOGNIZED_OPTION = 2


class Redirect4Code(enum.IntEnum):
    REDIRECT_NETWORK = 0
    REDIRECT_HOST = 1
    REDIRECT_TOS_NETWORK = 2
    REDIRECT_TOS_HOST = 3


# ICMP types that are errors about a datagram we sent (they quote it).
ICMP4_ERROR_TYPES = frozenset((3, 4, 5, 11, 12))
ICMP6_ERROR_TYPES = frozenset((1, 2, 3, 4, 137))

_CODE_ENUMS4 = {
    3: Unreach4Code,
    5: Redirect4Code,
    11: TimeExceededCode,
    12: ParamProblem4Code,
}
_CODE_ENUMS6 = {
    1: Unreach6Code,
    3: TimeExceededCode,
    4: ParamProblem6Code,
}


def icmp_name(family: int, icmp_type: int, code: int) -> str:
    """A stable lower-case name such as ``host_unreachable`` or ``ttl_exceeded``."""
    types = Icmp4Type if family == 4 else Icmp6Type
    codes = (_CODE_ENUMS4 if family == 4 else _CODE_ENUMS6).get(icmp_type)
    if codes is not None:
        try:
            return codes(code).name.lower()
        except ValueError:
            pass
    try:
        base = types(icmp_type).name.lower()
    except ValueError:
        return "icmp%s_type%d_code%d" % ("" if family == 4 else "v6", icmp_type, code)
    return base if code == 0 else "%s_code%d" % (base, code)
