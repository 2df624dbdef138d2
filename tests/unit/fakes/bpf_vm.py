# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A classic BPF interpreter for the instructions our filter uses (tests only).

Follows the kernel's semantics: absolute loads past the end of the packet return
0 (the packet is dropped), the ancillary protocol load gives the EtherType in
host order, jumps are relative to the next instruction.
"""
from __future__ import annotations

import struct

SKF_AD_PROTOCOL = (-0x1000) & 0xFFFFFFFF


def run(program, packet: bytes, ethertype: int) -> int:
    """What the program returns for ``packet`` (from its network header on): bytes to keep, 0 = drop."""
    acc = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (0x20, 0x28, 0x30):  # ld / ldh / ldb [k]
            if code == 0x20 and k == SKF_AD_PROTOCOL:
                acc = ethertype
                continue
            size = {0x20: 4, 0x28: 2, 0x30: 1}[code]
            if k + size > len(packet):
                return 0
            acc = int.from_bytes(packet[k:k + size], "big")
        elif code == 0x15:  # jeq #k
            pc += jt if acc == k else jf
        elif code == 0x06:  # ret #k
            return k
        else:
            raise AssertionError("instruction %#x is not one our filter should use" % code)


def unpack(data: bytes):
    return [struct.unpack_from("=HBBI", data, offset) for offset in range(0, len(data), 8)]
