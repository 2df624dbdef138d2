"""Probe construction and matching on packets captured in a lab (hex fixtures).

``fixtures/path/raw_v{4,6}_{icmp,udp,tcp}.json``: what a raw ICMP (and, for TCP, raw TCP)
socket received in ``h1`` of a lab chain h1-r1-r2-r3-h2 (r1-r2 at MTU 1400) after a TTL=1
probe, a TTL=64 probe and a 1500-byte DF probe, with the run's token/ident/ports.
``errqueue_v{4,6}_{icmp,udp}.json``: the same from an unprivileged socket's error queue
(``sock_extended_err`` + offender as ``cmsg_hex``, the quoted payload as ``payload_hex``).
"""
from __future__ import annotations

import json
import struct
import typing as t
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import kernel, probes
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import (
    build_extensions,
    build_mpls_stack,
    checksum,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import MplsLabel

FIXTURES = Path(__file__).parent / "fixtures" / "path"
RAW = ["raw_v%d_%s.json" % (f, m) for f in (4, 6) for m in ("icmp", "udp", "tcp")]
ERRQUEUE = ["errqueue_v%d_%s.json" % (f, m) for f in (4, 6) for m in ("icmp", "udp")]


def load(name: str) -> t.Dict[str, t.Any]:
    data: t.Dict[str, t.Any] = json.loads((FIXTURES / name).read_text())
    return data


def matcher_for(capture: t.Dict[str, t.Any], mode: str = "raw", **change: t.Any) -> probes.ProbeMatcher:
    values = {
        "family": capture["family"], "method": capture["method"], "destination": capture["destination"],
        "port": capture.get("port") or 33434, "mode": mode, "token": bytes.fromhex(capture["token"]),
        "ident": capture.get("ident") or 0, "tcp_base": capture.get("tcp_base") or 0,
        "tcp_sport": capture.get("tcp_sport") or 0,
    }
    values.update(change)
    return probes.ProbeMatcher(**values)


@pytest.mark.parametrize("name", RAW)
def test_raw_captures_decode_to_the_recorded_events(name: str) -> None:
    capture = load(name)
    matcher = matcher_for(capture)
    kinds = []
    for packet in capture["packets"]:
        event = matcher.decode(bytes.fromhex(packet["hex"]), packet["address"], 7, packet["from_tcp_socket"])
        assert event is not None
        expected = packet["event"]
        assert (event.number, event.kind, event.icmp_type, event.icmp_code, event.mtu) == (
            expected["number"], expected["kind"], expected["icmp_type"], expected["icmp_code"], expected["mtu"])
        assert event.address == packet["address"] and event.rx_ns == 7
        kinds.append(event.kind)
    assert kinds[:2] == ["ttl_exceeded", "reply"]
    if capture["method"] != "tcp":
        assert kinds[2] == "too_big"


@pytest.mark.parametrize("name", RAW)
def test_raw_captures_of_another_run_are_not_ours(name: str) -> None:
    capture = load(name)
    other = matcher_for(capture, token=b"other-rn", ident=(capture.get("ident") or 0) ^ 0x5555,
                        tcp_base=(capture.get("tcp_base") or 0) ^ 0x1000000, tcp_sport=1)
    for packet in capture["packets"]:
        assert other.decode(bytes.fromhex(packet["hex"]), packet["address"], 1, packet["from_tcp_socket"]) is None


@pytest.mark.parametrize("name", RAW)
def test_errors_about_another_destination_are_not_ours(name: str) -> None:
    capture = load(name)
    elsewhere = matcher_for(capture, destination="192.0.2.99" if capture["family"] == 4 else "2001:db8::99")
    for packet in capture["packets"]:
        assert elsewhere.decode(bytes.fromhex(packet["hex"]), packet["address"], 1, packet["from_tcp_socket"]) is None


def test_quoted_udp_header_has_our_constant_ports() -> None:
    from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import parse_packet

    capture = load("raw_v4_udp.json")
    ports = set()
    for packet in capture["packets"]:
        original = parse_packet(bytes.fromhex(packet["hex"]), 4, True).message.original
        assert original is not None and original.protocol == 17
        ports.add((original.sport, original.dport))
    assert len(ports) == 1 and ports.pop()[1] == capture["port"]


def test_quoted_tcp_syn_carries_the_probe_number_in_its_sequence() -> None:
    from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import parse_packet

    capture = load("raw_v6_tcp.json")
    error = capture["packets"][0]
    original = parse_packet(bytes.fromhex(error["hex"]), 6, False).message.original
    assert original is not None and original.protocol == 6
    assert original.sport == capture["tcp_sport"] and original.dport == capture["port"]
    assert original.tcp_seq == capture["tcp_base"] + 1


@pytest.mark.parametrize("name", ERRQUEUE)
def test_error_queue_captures_decode(name: str) -> None:
    capture = load(name)
    matcher = matcher_for(capture, mode="unprivileged")
    for entry in capture["errqueue"]:
        event = matcher.decode_errqueue(bytes.fromhex(entry["payload_hex"]), queued(entry["cmsg_hex"]), 3)
        expected = entry["event"]
        assert event is not None
        assert (event.number, event.kind, event.address, event.icmp_type, event.icmp_code, event.mtu) == (
            expected["number"], expected["kind"], expected["address"], expected["icmp_type"],
            expected["icmp_code"], expected["mtu"])


def queued(cmsg_hex: str) -> kernel.QueueError:
    """The error-queue entry the transport parses from this captured control message."""
    parsed = kernel.parse_extended_error(bytes.fromhex(cmsg_hex))
    assert parsed is not None
    return parsed


def test_sock_extended_err_of_frag_needed() -> None:
    capture = load("errqueue_v4_udp.json")
    too_big = [e for e in capture["errqueue"] if e["event"]["kind"] == "too_big"][0]
    ee_errno, origin, icmp_type, code, info, address = queued(too_big["cmsg_hex"])
    assert (ee_errno, origin, icmp_type, code, info) == (90, 2, 3, 4, 1400)  # EMSGSIZE, SO_EE_ORIGIN_ICMP
    assert address == too_big["event"]["address"]


def test_local_errors_from_the_error_queue_are_left_to_send() -> None:
    matcher = probes.ProbeMatcher(4, "udp", "192.0.2.14", 33434, "unprivileged", b"tokentok")
    local = struct.pack("=IBBBBII", 90, 1, 0, 0, 0, 1500, 0) + bytes(16)
    parsed = kernel.parse_extended_error(local)
    assert parsed is not None
    assert matcher.decode_errqueue(b"", parsed, 1) is None


@given(number=st.integers(0, 2**32 - 1), seq=st.integers(0, 0xFFFF), ident=st.integers(0, 0xFFFF),
       length=st.integers(probes.PROBE_HEADER_LEN, 200))
def test_paris_payload_keeps_the_icmp_checksum_constant(number: int, seq: int, ident: int, length: int) -> None:
    payload = probes.paris_payload(b"12345678", number, length, 8, ident, seq)
    assert len(payload) == length
    message = struct.pack("!BBHHH", 8, 0, probes.PARIS_CHECKSUM, ident, seq) + payload
    assert checksum(message) == 0  # a valid checksum that equals the constant
    assert probes.read_token(payload, b"12345678") == number


def test_raw_icmp_captures_all_carry_the_paris_checksum() -> None:
    from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import parse_packet

    capture = load("raw_v4_icmp.json")
    for packet in capture["packets"]:
        message = parse_packet(bytes.fromhex(packet["hex"]), 4, True).message
        if message.original is not None:
            quoted = bytes.fromhex(packet["hex"])[-len(message.original.payload) - 8:]
            assert struct.unpack_from("!H", quoted, 2)[0] == probes.PARIS_CHECKSUM


def test_mpls_extension_on_a_time_exceeded_is_returned() -> None:
    """A captured v4 time exceeded with an RFC 4950 label stack appended (RFC 4884 layout)."""
    capture = load("raw_v4_udp.json")
    raw = bytes.fromhex(capture["packets"][0]["hex"])
    ihl = (raw[0] & 0x0F) * 4
    icmp, quoted = raw[ihl:ihl + 8], raw[ihl + 8:]
    quoted = (quoted + bytes(128))[:128]  # RFC 4884: original datagram padded to 128 bytes
    label = MplsLabel(label=16005, tc=0, bottom_of_stack=True, ttl=1)
    extension = build_extensions([(1, 1, build_mpls_stack([label]))])
    body = bytearray(icmp + quoted + extension)
    body[5] = 128 // 4  # length of the original datagram in 32-bit words
    body[2:4] = b"\x00\x00"
    body[2:4] = struct.pack("!H", checksum(bytes(body)))
    packet = bytearray(raw[:ihl]) + body
    packet[2:4] = struct.pack("!H", len(packet))
    matcher = matcher_for(capture)
    event = matcher.decode(bytes(packet), capture["packets"][0]["address"], 1)
    assert event is not None and event.kind == "ttl_exceeded" and event.number == 1
    assert event.mpls == (label,)


def test_tcp_syn_checksum_verifies() -> None:
    segment = probes.build_tcp_syn(33001, 80, 1234)
    csum = probes.tcp_checksum(4, "192.0.2.2", "192.0.2.14", segment)
    filled = segment[:16] + struct.pack("!H", csum) + segment[18:]
    assert probes.tcp_checksum(4, "192.0.2.2", "192.0.2.14", filled) == 0
    assert filled[13] == 0x02  # SYN only


@pytest.mark.parametrize("family,method,size", [(4, "icmp", 42), (4, "udp", 42), (6, "icmp", 62), (4, "tcp", 40)])
def test_minimum_probe_sizes(family: int, method: str, size: int) -> None:
    assert probes.min_probe_size(family, method) == size


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    for family in (4, 6):
        for method in ("icmp", "udp", "tcp"):
            matcher = probes.ProbeMatcher(family, method, "192.0.2.1", 80, "raw", b"tokentok")
            matcher.decode(data, "192.0.2.1", 1)
            matcher.decode(data, "192.0.2.1", 1, from_tcp_socket=True)
            unprivileged = probes.ProbeMatcher(family, method, "192.0.2.1", 80, "unprivileged", b"tokentok")
            unprivileged.decode(data, "192.0.2.1", 1)
            queued = kernel.parse_extended_error(data)
            if queued is not None:
                unprivileged.decode_errqueue(data, queued, 1)


@pytest.mark.parametrize("name", ["raw_v4_icmp.json", "raw_v6_icmp.json"])
def test_our_own_echo_request_is_not_a_reply(name: str) -> None:
    """On loopback a raw socket reads our request too; only the echo reply answers."""
    capture = load(name)
    matcher = matcher_for(capture)
    (packet,) = [p for p in capture["packets"] if p["event"]["kind"] == "reply"]
    data = bytearray.fromhex(packet["hex"])
    offset = (data[0] & 0x0F) * 4 if capture["family"] == 4 else 0
    data[offset] = 8 if capture["family"] == 4 else 128
    data[offset + 2:offset + 4] = b"\x00\x00"
    if capture["family"] == 4:
        data[offset + 2:offset + 4] = struct.pack("!H", checksum(bytes(data[offset:])))
    assert matcher.decode(bytes(data), packet["address"], 1, False) is None
    assert matcher.decode(bytes.fromhex(packet["hex"]), packet["address"], 1, False) is not None
