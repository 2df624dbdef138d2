"""Hypothesis: whatever bytes arrive, the parsers raise nothing but CodecError."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import codec
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import CodecError

SEEDS = [bytes.fromhex(v) for v in json.loads((Path(__file__).parent / "fixtures" / "packets.json").read_text()).values()]


def _parse_all(data: bytes) -> None:
    for family in (4, 6):
        for has_ip in (True, False):
            try:
                codec.parse_packet(data, family, has_ip)
            except CodecError:
                pass
    for parser in (codec.parse_extensions, codec.parse_mpls_stack, lambda d: codec.parse_quoted(d, 4),
                   lambda d: codec.parse_quoted(d, 6)):
        try:
            parser(data)
        except CodecError:
            pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _parse_all(data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 1500), st.integers(0, 255)), max_size=8),
       st.integers(0, 1600))
def test_mutated_captures(seed: bytes, flips: list, cut: int) -> None:
    data = bytearray(seed)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    _parse_all(bytes(data[:cut]))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300))
def test_every_icmp_type_and_code(icmp_type: int, code: int, body: bytes) -> None:
    _parse_all(bytes((icmp_type, code, 0, 0)) + body)
