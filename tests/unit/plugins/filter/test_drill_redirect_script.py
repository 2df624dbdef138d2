# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rogue's script of drill redirect: the packet it builds, and the addresses it refuses."""
from __future__ import annotations

import argparse
import importlib.util
import socket
import struct
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "drill" / "files" / "icmp_redirect.py"
_SPEC = importlib.util.spec_from_file_location("icmp_redirect", SCRIPT)
assert _SPEC is not None and _SPEC.loader is not None
redirect = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(redirect)


def test_the_packet_is_a_host_redirect_spoofed_from_the_gateway_quoting_an_echo_reply() -> None:
    packet = redirect.redirect_packet("192.0.2.1", "192.0.2.20", "198.51.100.30", "192.0.2.254")
    assert len(packet) == 20 + 8 + 20 + 8
    outer_source, outer_destination = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    assert (outer_source, outer_destination, packet[9]) == ("192.0.2.1", "192.0.2.20", socket.IPPROTO_ICMP)
    icmp_type, code, _checksum, gateway = struct.unpack("!BBH4s", packet[20:28])
    assert (icmp_type, code, socket.inet_ntoa(gateway)) == (5, 1, "192.0.2.254")
    quoted = packet[28:48]
    assert (socket.inet_ntoa(quoted[12:16]), socket.inet_ntoa(quoted[16:20])) == ("192.0.2.20", "198.51.100.30")
    assert packet[48] == 0, "the quoted datagram is an echo reply (a quoted request is ignored by Linux)"
    # every checksum over its part is zero when verified
    assert redirect.checksum(packet[:20]) == 0
    assert redirect.checksum(packet[20:]) == 0
    assert redirect.checksum(quoted) == 0


@pytest.mark.parametrize("address", ["10.0.0.1", "8.8.8.8", "127.0.0.1", "192.0.3.1", "2001:db8::1", "gw"])
def test_addresses_outside_the_lab_ranges_are_refused(address: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        redirect.lab_address(address)


def test_lab_addresses_pass() -> None:
    assert [redirect.lab_address(a) for a in ("192.0.2.1", "198.51.100.30", "203.0.113.10")] == [
        "192.0.2.1", "198.51.100.30", "203.0.113.10"]
