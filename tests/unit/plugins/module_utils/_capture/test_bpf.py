# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capture filter passes exactly ICMP and ICMPv6 (and only the given hosts), run in a BPF interpreter."""
from __future__ import annotations

import ipaddress
import struct

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import bpf
from tests.unit.fakes import bpf_vm

V4, V6 = 0x0800, 0x86DD


def ipv4(proto: int, src="192.0.2.1", dst="198.51.100.2", payload=b"\x08\x00\x00\x00\x00\x01\x00\x01"):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                         ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return header + payload


def ipv6(next_header: int, src="2001:db8::1", dst="2001:db8::2", payload=b"\x80\x00\x00\x00\x00\x01\x00\x01"):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, ipaddress.ip_address(src).packed,
                       ipaddress.ip_address(dst).packed) + payload


# An MLDv2 report as Linux sends it: hop-by-hop (router alert, PadN) then ICMPv6 type 143.
MLD = ipv6(0, "fe80::1", "ff02::16", bytes.fromhex("3a000502000001008f00") + b"\x00" * 18)
HBH_UDP = ipv6(0, payload=bytes.fromhex("11000502000001000035003500080000"))
CASES = [
    ("icmp echo", ipv4(1), V4, True),
    ("tcp", ipv4(6, payload=b"\x00" * 20), V4, False),
    ("udp", ipv4(17), V4, False),
    ("icmpv6 echo", ipv6(58), V6, True),
    ("udp over ipv6", ipv6(17), V6, False),
    ("mld behind hop-by-hop", MLD, V6, True),
    ("udp behind hop-by-hop", HBH_UDP, V6, False),
    ("arp", b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, 0x0806, False),
    ("truncated ipv4", ipv4(1)[:8], V4, False),
    ("ipv4 header with protocol 1 but ethertype ipv6", ipv4(1), V6, False),
]


@pytest.mark.parametrize("name,packet,ethertype,passes", CASES, ids=[c[0] for c in CASES])
def test_filter_passes_exactly_icmp(name, packet, ethertype, passes):
    program = bpf.program(snaplen=1500)
    assert bpf_vm.run(program, packet, ethertype) == (1500 if passes else 0), name


@pytest.mark.parametrize("hosts,packet,ethertype,passes", [
    (["192.0.2.1"], ipv4(1, src="192.0.2.1"), V4, True),
    (["192.0.2.1"], ipv4(1, src="203.0.113.9", dst="192.0.2.1"), V4, True),
    (["192.0.2.1"], ipv4(1, src="203.0.113.9", dst="203.0.113.10"), V4, False),
    (["192.0.2.1"], ipv6(58), V6, False),  # IPv4 hosts only: no IPv6 at all
    (["2001:db8::2"], ipv6(58), V6, True),
    (["2001:db8::2"], ipv6(58, dst="2001:db8::3"), V6, False),
    (["2001:db8::2"], ipv6(58, src="2001:db8::3", dst="2001:db8::2:0:0"), V6, False),  # same last word only
    (["2001:db8::1", "192.0.2.7"], ipv4(1, dst="192.0.2.7"), V4, True),
    (["2001:db8::1", "192.0.2.7"], ipv6(58, src="2001:db8::9", dst="2001:db8::1"), V6, True),
])
def test_filter_with_hosts(hosts, packet, ethertype, passes):
    assert bool(bpf_vm.run(bpf.program(hosts, snaplen=100), packet, ethertype)) == passes


def test_family_selection():
    v4_only = bpf.program(families=(4,))
    assert bpf_vm.run(v4_only, ipv4(1), V4) and not bpf_vm.run(v4_only, ipv6(58), V6)
    v6_only = bpf.program(families=(6,))
    assert bpf_vm.run(v6_only, ipv6(58), V6) and not bpf_vm.run(v6_only, ipv4(1), V4)


def test_the_largest_filter_fits_classic_bpf():
    hosts = ["2001:db8::%x" % n for n in range(1, bpf.MAX_HOSTS + 1)]
    program = bpf.program(hosts)
    assert len(program) < 255
    assert bpf_vm.run(program, ipv6(58, dst=hosts[-1]), V6)
    assert bpf_vm.unpack(bpf.pack(program)) == program


def test_a_jump_too_far_is_refused():
    with pytest.raises(ValueError, match="classic BPF allows 0-255"):
        bpf.assemble([(bpf.JEQ_K, 1, "end", None)] + [(bpf.RET_K, 0, None, None)] * 300 + ["end"])
