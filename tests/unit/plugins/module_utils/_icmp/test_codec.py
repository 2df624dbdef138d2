"""Codec against real packets captured from the kernel (fixtures/packets.json, made by
fixtures/capture.py in a namespace lab and on loopback), plus RFC 4884/4950 cases."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import codec
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import CodecError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import MplsLabel

PACKETS = json.loads((Path(__file__).parent / "fixtures" / "packets.json").read_text())
TOKEN = b"NDICMPTK"  # what capture.py put in its probes


def packet(name: str) -> bytes:
    return bytes.fromhex(PACKETS[name])


def family_of(name: str) -> int:
    return 6 if name.endswith("v6") else 4


# name: (ip src or None, ip header len, type, code, name, extra fields, quoted fields)
EXPECTED = {
    "echo_reply_v4": ("127.0.0.1", 20, 0, 0, "echo_reply", {"ident": 0x4242, "seq": 1}, None),
    "echo_reply_v4_options": ("127.0.0.1", 32, 0, 0, "echo_reply", {"ident": 0x4242, "seq": 1}, None),
    "echo_reply_v6": (None, None, 129, 0, "echo_reply", {"ident": 0x4242, "seq": 1}, None),
    "frag_needed_v4": ("198.51.100.1", 20, 3, 4, "frag_needed", {"mtu": 1400},
                       {"src": "198.51.100.2", "dst": "203.0.113.2", "protocol": 1, "icmp_type": 8, "ident": 0x4242, "seq": 1}),
    "packet_too_big_v6": (None, None, 2, 0, "packet_too_big", {"mtu": 1400},
                          {"src": "2001:db8:1::2", "dst": "2001:db8:2::2", "protocol": 58, "icmp_type": 128, "seq": 1}),
    "host_unreachable_v4": ("198.51.100.1", 20, 3, 1, "host_unreachable", {},
                            {"dst": "203.0.113.99", "ttl": 63, "icmp_type": 8, "ident": 0x4242}),
    "host_unreachable_v6": (None, None, 1, 3, "address_unreachable", {},
                            {"dst": "2001:db8:2::99", "ttl": 63, "icmp_type": 128, "ident": 0x4242}),
    "parameter_problem_v4": ("198.51.100.1", 20, 12, 0, "pointer_indicates_error", {"pointer": 20},
                             {"dst": "198.51.100.1", "icmp_type": 8}),
    "parameter_problem_v6": (None, None, 4, 2, "unrecognized_option", {"pointer": 42},
                             {"dst": "2001:db8:1::1", "protocol": 58, "icmp_type": 128}),
    "port_unreachable_v4": ("127.0.0.1", 20, 3, 3, "port_unreachable", {},
                            {"dst": "127.0.0.1", "protocol": 17, "dport": 33434, "udp_length": 23}),
    "port_unreachable_v6": (None, None, 1, 4, "port_unreachable", {},
                            {"dst": "::1", "protocol": 17, "dport": 33434, "udp_length": 23}),
    "redirect_v4": ("198.51.100.1", 20, 5, 1, "redirect_host", {"gateway": "198.51.100.3"},
                    {"dst": "192.0.2.1", "icmp_type": 8, "ident": 0x4242}),
    "redirect_v6": (None, None, 137, 0, "redirect", {"gateway": "fe80::3"},
                    {"dst": "2001:db8:99::1", "protocol": 58, "icmp_type": 128, "ident": 0x4242}),
    "ttl_exceeded_icmp_v4": ("198.51.100.1", 20, 11, 0, "ttl_exceeded", {},
                             {"dst": "203.0.113.2", "ttl": 1, "icmp_type": 8, "ident": 0x4242, "seq": 1}),
    "ttl_exceeded_icmp_v6": (None, None, 3, 0, "ttl_exceeded", {},
                             {"dst": "2001:db8:2::2", "ttl": 1, "icmp_type": 128, "ident": 0x4242, "seq": 1}),
    "ttl_exceeded_udp_v4": ("198.51.100.1", 20, 11, 0, "ttl_exceeded", {},
                            {"dst": "203.0.113.2", "protocol": 17, "dport": 33435, "udp_length": 32}),
    "ttl_exceeded_udp_v6": (None, None, 3, 0, "ttl_exceeded", {},
                            {"dst": "2001:db8:2::2", "protocol": 17, "dport": 33435, "udp_length": 32}),
    "ttl_exceeded_tcp_v4": ("198.51.100.1", 20, 11, 0, "ttl_exceeded", {},
                            {"dst": "203.0.113.2", "protocol": 6, "dport": 80}),
    "ttl_exceeded_tcp_v6": (None, None, 3, 0, "ttl_exceeded", {},
                            {"dst": "2001:db8:2::2", "protocol": 6, "dport": 80}),
}


def test_every_fixture_has_an_expectation() -> None:
    assert set(PACKETS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_captured_packet(name: str) -> None:
    src, header_len, icmp_type, code, kind, extra, quoted = EXPECTED[name]
    family = family_of(name)
    parsed = codec.parse_packet(packet(name), family, has_ip_header=family == 4)
    message = parsed.message
    if family == 4:
        assert parsed.ip is not None
        assert (parsed.ip.src, parsed.ip.header_len, parsed.ip.protocol) == (src, header_len, 1)
    else:
        assert parsed.ip is None
    assert (message.icmp_type, message.code, message.name) == (icmp_type, code, kind)
    for key, value in extra.items():
        assert getattr(message, key) == value, key
    if quoted is None:
        assert message.original is None
        assert message.payload[:8] == TOKEN
    else:
        assert message.original is not None
        for key, value in quoted.items():
            assert getattr(message.original, key) == value, key


def test_ip_options_are_kept_and_skipped() -> None:
    parsed = codec.parse_packet(packet("echo_reply_v4_options"), 4, True)
    assert parsed.ip is not None
    assert parsed.ip.options[0] == 7  # record route, echoed by the kernel
    assert parsed.message.payload[:8] == TOKEN


def test_quoted_echo_carries_token_when_linux_quotes_everything() -> None:
    message = codec.parse_icmp(packet("ttl_exceeded_icmp_v6"), 6)
    assert message.original is not None
    assert codec.quoted_token(message.original) == (TOKEN, 7)


def test_quoted_udp_and_tcp_ports() -> None:
    udp = codec.parse_packet(packet("ttl_exceeded_udp_v4"), 4, True).message.original
    tcp = codec.parse_packet(packet("ttl_exceeded_tcp_v6"), 6, False).message.original
    assert udp is not None and tcp is not None
    assert udp.sport and udp.udp_checksum is not None and udp.payload == b"x" * 24
    assert tcp.sport and tcp.tcp_seq is not None
    assert codec.quoted_token(udp) is None


def _with_extension(name: str, length_field: bool) -> bytes:
    """A captured time exceeded rewritten as RFC 4884 with an RFC 4950 MPLS stack.

    Linux routers do not emit MPLS extensions, so this one is built: the real quoted
    datagram padded to 128 bytes, then the extension made by ``build_extensions``.
    """
    family = family_of(name)
    data = packet(name)
    offset = (data[0] & 15) * 4 if family == 4 else 0
    message = data[offset:]
    original = message[8:8 + 128].ljust(128, b"\0")
    labels = (MplsLabel(16005, 0, False, 1), MplsLabel(24001, 5, True, 1))
    extension = codec.build_extensions([(1, 1, codec.build_mpls_stack(labels))])
    if family == 4:
        rest = struct.pack("!BBH", 0, 128 // 4 if length_field else 0, 0)
    else:
        rest = struct.pack("!BBH", 128 // 8 if length_field else 0, 0, 0)
    body = message[:2] + b"\0\0" + rest + original + extension
    return body[:2] + struct.pack("!H", codec.checksum(body)) + body[4:]


@pytest.mark.parametrize("name", ["ttl_exceeded_icmp_v4", "ttl_exceeded_icmp_v6", "ttl_exceeded_udp_v4"])
@pytest.mark.parametrize("length_field", [True, False], ids=["rfc4884", "non-compliant"])
def test_rfc4884_mpls_extension(name: str, length_field: bool) -> None:
    message = codec.parse_icmp(_with_extension(name, length_field), family_of(name))
    assert message.original is not None and message.original.dst.startswith(("203.", "2001:"))
    assert len(message.extensions) == 1
    obj = message.extensions[0]
    assert (obj.class_num, obj.c_type) == (1, 1)
    assert obj.mpls == (MplsLabel(16005, 0, False, 1), MplsLabel(24001, 5, True, 1))


def test_non_compliant_heuristic_needs_a_valid_checksum() -> None:
    data = bytearray(_with_extension("ttl_exceeded_icmp_v4", length_field=False))
    data[8 + 128 + 2] ^= 0xFF  # corrupt the extension checksum
    message = codec.parse_icmp(bytes(data), 4)
    assert message.extensions == ()
    assert message.original is not None and len(message.original.payload) > 100


def test_mpls_stack_round_trip() -> None:
    labels = (MplsLabel(1048575, 7, True, 255),)
    assert codec.parse_mpls_stack(codec.build_mpls_stack(labels)) == labels
    with pytest.raises(CodecError):
        codec.parse_mpls_stack(b"\0\0\0")


def test_echo_builder_checksum_matches_full_computation() -> None:
    builder = codec.EchoBuilder(4, 0x1234, b"T" * 8, 56, b"\xab\xcd")
    for seq, number in ((0, 0), (1, 1), (65535, 65535), (7, 0x12345678)):
        built = builder.build(seq, number)
        expect = codec.build_echo_request(4, 0x1234, seq, codec.make_payload(b"T" * 8, number, 56, b"\xab\xcd"))
        assert built == expect
        assert codec.checksum(built) == 0


def test_v6_echo_leaves_checksum_to_the_kernel() -> None:
    built = codec.EchoBuilder(6, 1, b"T" * 8, 20).build(3, 3)
    assert built[2:4] == b"\0\0" and built[0] == 128 and len(built) == 28


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_truncation_raises_only_codec_error(name: str) -> None:
    data = packet(name)
    family = family_of(name)
    for cut in range(len(data)):
        try:
            codec.parse_packet(data[:cut], family, family == 4)
        except CodecError:
            pass


@pytest.mark.parametrize(
    "data, family, has_ip, fragment",
    [
        (b"", 4, True, "truncated"),
        (b"\x45" + bytes(18), 4, True, "truncated"),
        (b"\x65" + bytes(30), 4, True, "version 6"),
        (b"\x4f" + bytes(30), 4, True, "header length"),
        (bytes.fromhex("4500001c0000000040060000") + bytes(16), 4, True, "protocol 6"),
        (b"\x0b\x00\x00\x00\x00\x00\x00\x00" + b"\x65" + bytes(20), 4, False, "version 6"),
        (b"\x03\x00\x00\x00", 6, False, "truncated"),
        (b"\x81", 5, False, "family"),
    ],
)
def test_garbage_raises_codec_error(data: bytes, family: int, has_ip: bool, fragment: str) -> None:
    with pytest.raises(CodecError, match=fragment):
        codec.parse_packet(data, family, has_ip)


def _quote_v4(fragment_offset_words: int, more_fragments: bool = False) -> bytes:
    """A time exceeded (as a raw socket reads it, IP header first) quoting an IPv4 UDP probe."""
    flags = (0x2000 if more_fragments else 0) | fragment_offset_words
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 48, 0x1234, flags, 1, 17, 0,
                        bytes((198, 51, 100, 10)), bytes((203, 0, 113, 10)))
    inner += struct.pack("!HHHH", 33000, 33435, 28, 0) + b"\x11" * 20
    message = struct.pack("!BBHI", 11, 0, 0, 0) + inner
    message = message[:2] + struct.pack("!H", codec.checksum(message)) + message[4:]
    outer = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(message), 0, 0, 64, 1, 0,
                        bytes((198, 51, 100, 1)), bytes((198, 51, 100, 10)))
    return outer + message


def _quote_v6(extension_headers: bytes, first_next_header: int, protocol_after: int = 17) -> bytes:
    """A time exceeded (ICMPv6, no IP header) quoting an IPv6 datagram with extension headers."""
    transport = struct.pack("!HHHH", 33000, 33435, 28, 0) + b"\x22" * 20
    if protocol_after == 58:
        transport = struct.pack("!BBHHH", 128, 0, 0, 0x4242, 7) + b"\x22" * 20
    ipv6 = struct.pack("!IHBB16s16s", 6 << 28, len(extension_headers) + len(transport), first_next_header, 1,
                       bytes.fromhex("20010db8000100000000000000000010"), bytes.fromhex("20010db8000200000000000000000010"))
    return struct.pack("!BBHI", 3, 0, 0, 0) + ipv6 + extension_headers + transport


def test_quoted_first_fragment_has_ports() -> None:
    original = codec.parse_packet(_quote_v4(0, more_fragments=True), 4, True).message.original
    assert original is not None and (original.sport, original.dport) == (33000, 33435)


def test_quoted_non_first_fragment_yields_no_ports_or_ids() -> None:
    original = codec.parse_packet(_quote_v4(185), 4, True).message.original  # offset 1480 bytes
    assert original is not None and original.dst == "203.0.113.10" and original.protocol == 17
    assert (original.sport, original.dport, original.udp_length, original.ident, original.seq) == (None,) * 5


def test_quoted_ipv6_fragments() -> None:
    first = struct.pack("!BBHI", 17, 0, 0 << 3 | 1, 0xABCD)  # next header UDP, offset 0, M=1
    later = struct.pack("!BBHI", 17, 0, 185 << 3, 0xABCD)  # offset 1480
    assert codec.parse_icmp(_quote_v6(first, 44), 6).original.dport == 33435  # type: ignore[union-attr]
    original = codec.parse_icmp(_quote_v6(later, 44), 6).original
    assert original is not None and original.protocol == 17 and original.dport is None and original.sport is None


def test_quoted_ipv6_authentication_header_is_walked() -> None:
    # AH: next header, payload length in 32-bit words minus 2 (4 -> 24 bytes), reserved, SPI, seq, ICV (12)
    ah = struct.pack("!BBHII", 58, 4, 0, 0x1000, 1) + b"\x33" * 12
    original = codec.parse_icmp(_quote_v6(ah, 51, protocol_after=58), 6).original
    assert original is not None and original.protocol == 58
    assert (original.icmp_type, original.ident, original.seq) == (128, 0x4242, 7)


def test_malformed_extension_object_keeps_the_mpls_stack_before_it() -> None:
    labels = (MplsLabel(16005, 0, True, 1),)
    good = codec.build_extensions([(1, 1, codec.build_mpls_stack(labels))])
    bad_object = struct.pack("!HBB", 200, 2, 1) + b"\0" * 4  # claims 200 bytes, has 8
    data = good + bad_object
    data = data[:2] + b"\0\0" + data[4:]
    data = data[:2] + struct.pack("!H", codec.checksum(data)) + data[4:]
    objects = codec.parse_extensions(data)
    assert len(objects) == 1 and objects[0].mpls == labels
    odd_mpls = codec.build_extensions([(1, 1, codec.build_mpls_stack(labels)), (1, 1, b"\0\0\0")])
    assert [obj.mpls for obj in codec.parse_extensions(odd_mpls)] == [labels]
