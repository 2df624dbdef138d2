# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Pure build/parse of ICMPv4/ICMPv6 packets. Bytes in, dataclasses out; no I/O.

Every parse function raises only ``CodecError`` on input it cannot make sense of.
"""
from __future__ import annotations

import struct
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import constants as c
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import CodecError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import (
    ExtensionObject,
    IcmpMessage,
    Ipv4Header,
    MplsLabel,
    Packet,
    QuotedDatagram,
)

_ICMP_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, ident/rest, seq/rest
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HEADER = struct.Struct("!IHBB16s16s")
_PORTS = struct.Struct("!HHHH")  # UDP: sport dport length checksum
_TCP_START = struct.Struct("!HHI")
_EXT_OBJECT = struct.Struct("!HBB")
_U32 = struct.Struct("!I")

# Our echo payload starts with an 8-byte per-run token and a 32-bit probe number.
PAYLOAD_HEADER = struct.Struct("!8sI")
PAYLOAD_HEADER_LEN = PAYLOAD_HEADER.size  # 12
# type, code, checksum, ident, seq, token, probe number: one unpack on the hot path.
ECHO_WITH_TOKEN = struct.Struct("!BBHHH8sI")

# Types whose byte 5 (v4) or byte 4 (v6) is the RFC 4884 "length of original datagram".
_RFC4884_TYPES4 = frozenset((3, 11, 12))
_RFC4884_TYPES6 = frozenset((1, 3))
_IPV6_EXTENSION_HEADERS = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44
_IPV6_AH = 51  # authentication header: length in 32-bit words minus 2 (RFC 4302)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    return _fold(total)


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def make_payload(token: bytes, probe_number: int, size: int, pattern: bytes = b"") -> bytes:
    """Token + probe number, then ``pattern`` repeated (or zeros) up to ``size`` bytes."""
    head = PAYLOAD_HEADER.pack(token, probe_number & 0xFFFFFFFF)
    rest = size - len(head)
    if rest <= 0:
        return head[:size]
    if not pattern:
        return head + bytes(rest)
    return head + (pattern * (rest // len(pattern) + 1))[:rest]


def build_echo_request(family: int, ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request. ICMPv6 checksums are left zero: the kernel computes them."""
    icmp_type = 8 if family == 4 else 128
    header = _ICMP_HEADER.pack(icmp_type, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    if family == 6:
        return header + payload
    csum = checksum(header + payload)
    return _ICMP_HEADER.pack(icmp_type, 0, csum, ident & 0xFFFF, seq & 0xFFFF) + payload


class EchoBuilder:
    """Builds this run's echo requests fast: the constant words are summed once.

    Only seq and the probe number change between probes, so the checksum is the
    precomputed sum of the rest plus those words (RFC 1624 style incremental update).
    """

    def __init__(self, family: int, ident: int, token: bytes, size: int, pattern: bytes = b"") -> None:
        self.family = family
        self.ident = ident & 0xFFFF
        self._type = 8 if family == 4 else 128
        template = make_payload(token, 0, size, pattern)
        self._tail = template[PAYLOAD_HEADER_LEN:]
        self._token = token
        base = _ICMP_HEADER.pack(self._type, 0, 0, self.ident, 0) + template
        self._base_sum = 0xFFFF & ~checksum(base)  # sum of constant words, folded

    def build(self, seq: int, probe_number: int) -> bytes:
        if self.family == 6:
            csum = 0
        else:
            total = self._base_sum + (seq & 0xFFFF) + (probe_number >> 16 & 0xFFFF) + (probe_number & 0xFFFF)
            csum = _fold(total)
        return (
            ECHO_WITH_TOKEN.pack(self._type, 0, csum, self.ident, seq & 0xFFFF, self._token, probe_number)
            + self._tail
        )


def _ntoa4(raw: bytes) -> str:
    return "%d.%d.%d.%d" % (raw[0], raw[1], raw[2], raw[3])


def _ntoa6(raw: bytes) -> str:
    import ipaddress  # noqa: PLC0415 - only errors and IPv6 quotes need it

    return str(ipaddress.IPv6Address(bytes(raw)))


def parse_ipv4_header(data: bytes) -> Ipv4Header:
    """The IPv4 header at the start of ``data``; its length comes from IHL (20..60)."""
    if len(data) < c.IPV4_MIN_HEADER_LEN:
        raise CodecError("IPv4 header truncated: %d bytes, need 20" % len(data))
    ver_ihl, tos, total_len, ident, frag, ttl, proto, _csum, src, dst = _IPV4_HEADER.unpack_from(data)
    version, header_len = ver_ihl >> 4, (ver_ihl & 0x0F) * 4
    if version != 4:
        raise CodecError("not an IPv4 header: version %d" % version)
    if header_len < c.IPV4_MIN_HEADER_LEN or header_len > len(data):
        raise CodecError("bad IPv4 header length %d (packet has %d bytes)" % (header_len, len(data)))
    return Ipv4Header(
        version=version,
        header_len=header_len,
        tos=tos,
        total_len=total_len,
        ident=ident,
        dont_fragment=bool(frag & 0x4000),
        ttl=ttl,
        protocol=proto,
        src=_ntoa4(src),
        dst=_ntoa4(dst),
        options=bytes(data[c.IPV4_MIN_HEADER_LEN:header_len]),
    )


def parse_packet(data: bytes, family: int, has_ip_header: bool) -> Packet:
    """A received packet: raw IPv4 sockets deliver the IP header, all others do not."""
    if family == 4 and has_ip_header:
        header = parse_ipv4_header(data)
        if header.protocol != c.IPPROTO_ICMP:
            raise CodecError("IPv4 packet carries protocol %d, not ICMP" % header.protocol)
        return Packet(message=parse_icmp(data[header.header_len:], 4), ip=header)
    return Packet(message=parse_icmp(data, family))


def parse_icmp(data: bytes, family: int) -> IcmpMessage:
    """An ICMPv4 (``family`` 4) or ICMPv6 (6) message starting at ``data[0]``."""
    if family not in (4, 6):
        raise CodecError("family must be 4 or 6, not %r" % (family,))
    if len(data) < c.ICMP_HEADER_LEN:
        raise CodecError("ICMP message truncated: %d bytes, need 8" % len(data))
    icmp_type, code, csum, word1, word2 = _ICMP_HEADER.unpack_from(data)
    name = c.icmp_name(family, icmp_type, code)
    body = bytes(data[c.ICMP_HEADER_LEN:])
    common = {"family": family, "icmp_type": icmp_type, "code": code, "name": name, "checksum": csum}
    echo_types = (0, 8) if family == 4 else (128, 129)
    if icmp_type in echo_types:
        return IcmpMessage(ident=word1, seq=word2, payload=body, **common)
    errors = c.ICMP4_ERROR_TYPES if family == 4 else c.ICMP6_ERROR_TYPES
    if icmp_type not in errors:
        return IcmpMessage(payload=body, **common)
    return _parse_error(data, body, common)


def _parse_error(data: bytes, body: bytes, common: t.Dict[str, t.Any]) -> IcmpMessage:
    family, icmp_type, code = common["family"], common["icmp_type"], common["code"]
    extra: t.Dict[str, t.Any] = {}
    length_words = 0
    if family == 4:
        if icmp_type == 3 and code == 4:
            extra["mtu"] = struct.unpack_from("!H", data, 6)[0]
        elif icmp_type == 12:
            extra["pointer"] = data[4]
        elif icmp_type == 5:
            extra["gateway"] = _ntoa4(data[4:8])
        if icmp_type in _RFC4884_TYPES4:
            length_words = data[5] * 4
    else:
        if icmp_type == 2:
            extra["mtu"] = _U32.unpack_from(data, 4)[0]
        elif icmp_type == 4:
            extra["pointer"] = _U32.unpack_from(data, 4)[0]
        elif icmp_type == 137:
            return _parse_redirect6(body, common)
        if icmp_type in _RFC4884_TYPES6:
            length_words = data[4] * 8
    original_bytes, extensions = split_extensions(body, length_words)
    original = parse_quoted(original_bytes, family)
    return IcmpMessage(original=original, extensions=extensions, **dict(common, **extra))


def _parse_redirect6(body: bytes, common: t.Dict[str, t.Any]) -> IcmpMessage:
    # RFC 4861 4.5: target address, destination address, then options; option type 4
    # (redirected header) carries the quoted datagram after 8 bytes of option header.
    if len(body) < 32:
        raise CodecError("ICMPv6 redirect truncated: %d bytes, need 40" % (len(body) + 8))
    gateway = _ntoa6(body[:16])
    offset, original = 32, None
    while offset + 2 <= len(body):
        opt_type, opt_len = body[offset], body[offset + 1] * 8
        if opt_len == 0 or offset + opt_len > len(body):
            break
        if opt_type == 4:
            original = parse_quoted(body[offset + 8:offset + opt_len], 6)
        offset += opt_len
    if original is None:
        original = QuotedDatagram(family=6, src="::", dst=_ntoa6(body[16:32]), protocol=-1, ttl=0)
    return IcmpMessage(gateway=gateway, original=original, **common)


def split_extensions(body: bytes, length_bytes: int) -> t.Tuple[bytes, t.Tuple[ExtensionObject, ...]]:
    """Split an error body into the quoted datagram and its RFC 4884 extension objects.

    A compliant sender puts the original datagram length in the ICMP header (32-bit
    words for ICMPv4, 64-bit words for ICMPv6; the caller converted it to bytes) and
    pads the original to at least 128 bytes. Non-compliant routers append extensions
    without setting the length, so (RFC 4884 section 5) when it is zero and more than
    128 bytes follow, we accept an extension at offset 128 only if its version is 2
    and its checksum verifies.
    """
    if length_bytes:
        if length_bytes > len(body):
            return body, ()
        try:
            return body[:length_bytes], parse_extensions(body[length_bytes:])
        except CodecError:
            return body[:length_bytes], ()
    limit = c.RFC4884_MIN_ORIGINAL_LEN
    if len(body) >= limit + 8:
        tail = body[limit:]
        if tail[0] >> 4 == c.RFC4884_EXTENSION_VERSION and checksum(tail) == 0:
            try:
                return body[:limit], parse_extensions(tail)
            except CodecError:
                pass
    return body, ()


def parse_extensions(data: bytes) -> t.Tuple[ExtensionObject, ...]:
    """An RFC 4884 extension structure: 4-byte header (version 2, checksum), objects."""
    if len(data) < 4:
        raise CodecError("ICMP extension header truncated: %d bytes" % len(data))
    if data[0] >> 4 != c.RFC4884_EXTENSION_VERSION:
        raise CodecError("ICMP extension version %d, expected 2" % (data[0] >> 4))
    objects = []
    offset = 4
    # Objects are self-delimiting: a malformed one ends the walk (nothing after it can be
    # located) but keeps the valid objects before it, such as an MPLS label stack.
    while offset + 4 <= len(data):
        length, class_num, c_type = _EXT_OBJECT.unpack_from(data, offset)
        if length < 4 or offset + length > len(data):
            break
        payload = bytes(data[offset + 4:offset + length])
        mpls: t.Tuple[MplsLabel, ...] = ()
        if class_num == c.MPLS_CLASS_NUM and c_type == c.MPLS_CTYPE_INCOMING:
            try:
                mpls = parse_mpls_stack(payload)
            except CodecError:
                break
        objects.append(ExtensionObject(class_num=class_num, c_type=c_type, payload=payload, mpls=mpls))
        offset += length
    return tuple(objects)


def parse_mpls_stack(payload: bytes) -> t.Tuple[MplsLabel, ...]:
    """RFC 4950: one 32-bit entry per label: label 20 bits, TC 3, S 1, TTL 8."""
    if len(payload) % 4:
        raise CodecError("MPLS label stack object of %d bytes is not a multiple of 4" % len(payload))
    labels = []
    for (entry,) in struct.iter_unpack("!I", payload):
        labels.append(
            MplsLabel(label=entry >> 12, tc=(entry >> 9) & 7, bottom_of_stack=bool(entry >> 8 & 1), ttl=entry & 0xFF)
        )
    return tuple(labels)


def build_extensions(objects: t.Sequence[t.Tuple[int, int, bytes]]) -> bytes:
    """An RFC 4884 extension structure (version 2, valid checksum) from (class, ctype, payload)."""
    body = b"".join(_EXT_OBJECT.pack(4 + len(p), cn, ct) + p for cn, ct, p in objects)
    header = bytes((c.RFC4884_EXTENSION_VERSION << 4, 0, 0, 0))
    csum = checksum(header + body)
    return header[:2] + struct.pack("!H", csum) + body


def build_mpls_stack(labels: t.Sequence[MplsLabel]) -> bytes:
    return b"".join(
        _U32.pack((m.label & 0xFFFFF) << 12 | (m.tc & 7) << 9 | int(m.bottom_of_stack) << 8 | (m.ttl & 0xFF))
        for m in labels
    )


def parse_quoted(data: bytes, family: int) -> QuotedDatagram:
    """The original datagram inside an ICMP error: IP header, then 8+ transport bytes."""
    if family == 4:
        header = parse_ipv4_header(data)
        fields: t.Dict[str, t.Any] = {
            "family": 4,
            "src": header.src,
            "dst": header.dst,
            "protocol": header.protocol,
            "ttl": header.ttl,
            "ip_ident": header.ident,
        }
        if struct.unpack_from("!H", data, 6)[0] & 0x1FFF:
            # A non-first fragment: what follows the header is the middle of the payload,
            # not a transport header; reading ports or echo ids there would be fiction.
            return QuotedDatagram(**fields)
        return _with_transport(fields, header.protocol, data[header.header_len:], 4)
    if len(data) < c.IPV6_HEADER_LEN:
        raise CodecError("quoted IPv6 header truncated: %d bytes, need 40" % len(data))
    vtf, _plen, next_header, hop_limit, src, dst = _IPV6_HEADER.unpack_from(data)
    if vtf >> 28 != 6:
        raise CodecError("quoted packet is not IPv6: version %d" % (vtf >> 28))
    offset = c.IPV6_HEADER_LEN
    first_fragment = True
    while next_header in _IPV6_EXTENSION_HEADERS or next_header in (_IPV6_FRAGMENT, _IPV6_AH):
        if offset + 8 > len(data):
            raise CodecError("quoted IPv6 extension header truncated")
        if next_header == _IPV6_FRAGMENT:
            step = 8
            first_fragment = struct.unpack_from("!H", data, offset + 2)[0] >> 3 == 0
        elif next_header == _IPV6_AH:
            step = (data[offset + 1] + 2) * 4
        else:
            step = (data[offset + 1] + 1) * 8
        next_header = data[offset]
        offset += step
    fields = {"family": 6, "src": _ntoa6(src), "dst": _ntoa6(dst), "protocol": next_header, "ttl": hop_limit}
    if not first_fragment:  # see the IPv4 case: no transport header in a later fragment
        return QuotedDatagram(**fields)
    return _with_transport(fields, next_header, data[offset:], 6)


def _with_transport(fields: t.Dict[str, t.Any], protocol: int, rest: bytes, family: int) -> QuotedDatagram:
    # RFC 792 guarantees only 8 bytes of the original transport header; Linux quotes
    # up to 576 (v4) / 1280 (v6) bytes, so the payload token is usually there too.
    if len(rest) >= 8:
        icmp_proto = c.IPPROTO_ICMP if family == 4 else c.IPPROTO_ICMPV6
        if protocol == icmp_proto:
            icmp_type, code, _csum, ident, seq = _ICMP_HEADER.unpack_from(rest)
            fields.update(icmp_type=icmp_type, icmp_code=code, ident=ident, seq=seq)
        elif protocol == c.IPPROTO_UDP:
            sport, dport, length, csum = _PORTS.unpack_from(rest)
            fields.update(sport=sport, dport=dport, udp_length=length, udp_checksum=csum)
        elif protocol == c.IPPROTO_TCP:
            sport, dport, seq = _TCP_START.unpack_from(rest)
            fields.update(sport=sport, dport=dport, tcp_seq=seq)
        fields["payload"] = bytes(rest[8:])
    return QuotedDatagram(**fields)


def quoted_token(original: QuotedDatagram) -> t.Optional[t.Tuple[bytes, int]]:
    """(token, probe number) from a quoted echo request, when enough bytes were quoted."""
    if original.icmp_type not in (8, 128) or len(original.payload) < PAYLOAD_HEADER_LEN:
        return None
    token, number = PAYLOAD_HEADER.unpack_from(original.payload)
    return token, number
