"""Drop logs summarized per rule: decode the logged packet, find the rule that logged it, count."""
from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import droplog, model, nflog
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError, rule_from_dict

FIXTURES = Path(__file__).parent / "nflog"
V4 = nflog.parse_packet(nflog.messages(bytes.fromhex((FIXTURES / "echo-v4.hex").read_text().strip()))[0])
V6 = nflog.parse_packet(nflog.messages(bytes.fromhex((FIXTURES / "echo-v6.hex").read_text().strip()))[0])
assert V4 is not None and V6 is not None

FROM_LAB = rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "drop", "log_prefix": "echo-drop ",
                           "source": ["192.0.2.0/24"]})
ANY_ECHO = rule_from_dict({"family": "ipv4", "type": "echo-request", "action": "drop", "log_prefix": "echo-drop "})
V6_ECHO = rule_from_dict({"family": "ipv6", "type": 128, "action": "drop", "log_prefix": "e6"})
POLICY = model.Policy.build([FROM_LAB, ANY_ECHO, V6_ECHO])


def _names(index: int) -> str:
    return {1: "lo"}.get(index, "if%d" % index)


def _from(packet: nflog.LoggedPacket, source: str) -> nflog.LoggedPacket:
    payload = bytearray(packet.payload)
    payload[12:16] = ipaddress.IPv4Address(source).packed
    return dataclasses.replace(packet, payload=bytes(payload))


def test_decode_reads_addresses_and_type_code_of_both_families():
    assert droplog.decode("ipv4", V4.payload) == droplog.Decoded(
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.1"), 8, 0)
    assert droplog.decode("ipv6", V6.payload) == droplog.Decoded(
        ipaddress.ip_address("::1"), ipaddress.ip_address("::1"), 128, 0)


def test_decode_of_a_fragment_a_short_header_or_another_protocol():
    fragment = bytearray(V4.payload)
    fragment[6:8] = b"\x00\x10"
    assert droplog.decode("ipv4", bytes(fragment)).icmp_type is None  # type: ignore[union-attr]
    udp = bytearray(V4.payload)
    udp[9] = 17
    assert droplog.decode("ipv4", bytes(udp)).icmp_type is None  # type: ignore[union-attr]
    assert droplog.decode("ipv4", V4.payload[:21]).icmp_type is None  # type: ignore[union-attr]
    assert droplog.decode("ipv4", V4.payload[:19]) is None
    assert droplog.decode("ipv6", V4.payload) is None
    assert droplog.decode(None, V4.payload) is None


def test_the_rule_is_the_first_of_its_prefix_whose_match_fits_the_packet():
    assert droplog.rule_for(POLICY, V4, droplog.decode("ipv4", V4.payload)) == ANY_ECHO
    lab = _from(V4, "192.0.2.10")
    assert droplog.rule_for(POLICY, lab, droplog.decode("ipv4", lab.payload)) == FROM_LAB
    assert droplog.rule_for(POLICY, V6, droplog.decode("ipv6", V6.payload)) == V6_ECHO
    other = nflog.LoggedPacket("ipv4", "input", "someone else", V4.payload, 1, None, None)
    assert droplog.rule_for(POLICY, other, droplog.decode("ipv4", V4.payload)) is None
    output = nflog.LoggedPacket("ipv4", "output", "echo-drop ", V4.payload, None, 1, None)
    assert droplog.rule_for(POLICY, output, droplog.decode("ipv4", V4.payload)) is None
    assert droplog.rule_for(None, V4, droplog.decode("ipv4", V4.payload)) is None


def test_summary_counts_per_rule_type_code_and_source_busiest_first():
    lab = _from(V4, "192.0.2.10")
    stray = nflog.LoggedPacket("ipv4", "input", "other", V4.payload, None, 3, None)
    rows = droplog.summarize(POLICY, [lab] * 10 + [V6, V4, stray], _names)
    assert [(r["rule"], r["source"], r["packets"]) for r in rows] == [
        (FROM_LAB.text(), "192.0.2.10", 10), (None, "127.0.0.1", 1), (ANY_ECHO.text(), "127.0.0.1", 1),
        (V6_ECHO.text(), "::1", 1)]
    first = rows[0]
    assert (first["family"], first["direction"], first["type"], first["type_name"], first["code"]) == (
        "ipv4", "input", 8, "echo-request", 0)
    assert (first["prefix"], first["interface"], first["destination"]) == ("echo-drop ", "lo", "127.0.0.1")
    assert first["first_seen"] == first["last_seen"] == V4.timestamp_s
    assert rows[1]["interface"] == "if3" and rows[1]["first_seen"] is None


def test_gather_reads_the_group_once_and_summarizes():
    calls = []

    def read(group: int, duration_s: float, max_packets: int) -> nflog.Reading:
        calls.append((group, duration_s, max_packets))
        return nflog.Reading([V4] * 3, 1, False, 2.001)

    result = droplog.gather(POLICY, 58, 2, 500, read)
    assert calls == [(58, 2.0, 500)]
    assert {k: result[k] for k in ("log_group", "duration_s", "packets", "overruns", "truncated")} == {
        "log_group": 58, "duration_s": 2.001, "packets": 3, "overruns": 1, "truncated": False}
    assert [(r["rule"], r["packets"]) for r in result["drops"]] == [(ANY_ECHO.text(), 3)]


@pytest.mark.parametrize("duration,max_packets,word", [
    (0, 10, "duration 0"), (-1, 10, "duration -1"), (3601, 10, "duration 3601"), (float("nan"), 10, "duration nan"),
    ("5", 10, "duration '5'"), (True, 10, "duration True"), (5, 0, "max_packets 0"), (5, 10 ** 7, "max_packets 10000000"),
])
def test_a_bad_window_is_refused_before_reading(duration, max_packets, word):
    def read(*_args: object) -> nflog.Reading:
        raise AssertionError("read before the window was checked")

    with pytest.raises(PolicyError, match=word):
        droplog.gather(POLICY, 58, duration, max_packets, read)
