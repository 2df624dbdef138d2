# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The in-kernel filter: a classic BPF program that passes only ICMP and ICMPv6.

The capture socket is ``AF_PACKET``/``SOCK_DGRAM``, so the program sees every
packet from its network header on, whatever the link (Ethernet, loopback, a
tunnel). It reads the packet's EtherType from the kernel (the ``SKF_AD_PROTOCOL``
ancillary load) instead of a link header, then:

- IPv4: protocol (byte 9) is 1;
- IPv6: next header (byte 6) is 58, or it is 0 (hop-by-hop options, as MLD
  reports carry for the router alert) and the hop-by-hop header's own next
  header (byte 40) is 58;
- with ``hosts``: the source or the destination is one of them (four 32-bit
  compares for an IPv6 address).

Every other packet is dropped in the kernel and never wakes us up. ``assemble``
turns the labelled program into ``(code, jt, jf, k)`` tuples; ``pack`` gives the
bytes of the ``sock_filter`` array for ``SO_ATTACH_FILTER``.
"""
from __future__ import annotations

import ipaddress
import struct
import typing as t

# Opcodes (linux/filter.h, linux/bpf_common.h).
LD_W_ABS = 0x20
LD_H_ABS = 0x28
LD_B_ABS = 0x30
JEQ_K = 0x15
RET_K = 0x06
SKF_AD_PROTOCOL = (-0x1000 + 0) & 0xFFFFFFFF  # SKF_AD_OFF + SKF_AD_PROTOCOL: skb->protocol, host order
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
MAX_HOSTS = 8  # IPv6 hosts cost 16 instructions each; jumps reach at most 255 ahead
MAX_PROGRAM = 4096  # BPF_MAXINSNS

Instruction = t.Tuple[int, int, int, int]
# (opcode, k, jump-if-true label, jump-if-false label); labels are names or None (next instruction).
_Step = t.Tuple[int, int, t.Optional[str], t.Optional[str]]


def _jeq(value: int, yes: t.Optional[str], no: t.Optional[str]) -> _Step:
    return (JEQ_K, value, yes, no)


def _load(opcode: int, offset: int) -> _Step:
    return (opcode, offset, None, None)


def _ipv4(hosts: t.Sequence[ipaddress.IPv4Address]) -> t.List[t.Union[str, _Step]]:
    steps: t.List[t.Union[str, _Step]] = ["v4", _load(LD_B_ABS, 9), _jeq(1, "v4hosts", "drop"), "v4hosts"]
    if not hosts:
        return steps + [_jeq(0, "accept", "accept")]
    for offset in (12, 16):  # source, destination
        steps.append(_load(LD_W_ABS, offset))
        steps.extend(_jeq(int(host), "accept", None) for host in hosts)
    return steps + [_jeq(0, "drop", "drop")]


def _ipv6(hosts: t.Sequence[ipaddress.IPv6Address]) -> t.List[t.Union[str, _Step]]:
    steps: t.List[t.Union[str, _Step]] = [
        "v6", _load(LD_B_ABS, 6), _jeq(58, "v6hosts", None), _jeq(0, None, "drop"),
        _load(LD_B_ABS, 40), _jeq(58, "v6hosts", "drop"), "v6hosts",
    ]
    if not hosts:
        return steps + [_jeq(0, "accept", "accept")]
    for index, host in enumerate(hosts):
        words = struct.unpack("!4I", host.packed)
        for side, base in (("s", 8), ("d", 24)):
            miss = "v6next%d%s" % (index, side)
            for word_index, word in enumerate(words):
                steps.append(_load(LD_W_ABS, base + 4 * word_index))
                steps.append(_jeq(word, "accept" if word_index == 3 else None, miss))
            steps.append(miss)
    return steps + [_jeq(0, "drop", "drop")]


def program(hosts: t.Sequence[str] = (), families: t.Sequence[int] = (4, 6), snaplen: int = 65535) -> t.List[Instruction]:
    """The filter for ``families`` (4, 6) and optional literal ``hosts``; passes ``snaplen`` bytes."""
    parsed = [ipaddress.ip_address(host) for host in hosts]
    v4 = [h for h in parsed if isinstance(h, ipaddress.IPv4Address)]
    v6 = [h for h in parsed if isinstance(h, ipaddress.IPv6Address)]
    use4 = 4 in families and (not parsed or bool(v4))
    use6 = 6 in families and (not parsed or bool(v6))
    steps: t.List[t.Union[str, _Step]] = [_load(LD_W_ABS, SKF_AD_PROTOCOL),
                                          _jeq(ETH_P_IP, "v4" if use4 else "drop", None),
                                          _jeq(ETH_P_IPV6, "v6" if use6 else "drop", "drop")]
    if use4:
        steps += _ipv4(v4)
    if use6:
        steps += _ipv6(v6)
    steps += ["accept", (RET_K, snaplen, None, None), "drop", (RET_K, 0, None, None)]
    return assemble(steps)


def assemble(steps: t.Sequence[t.Union[str, _Step]]) -> t.List[Instruction]:
    """Resolve labels to the relative jumps classic BPF takes (0-255 forward only)."""
    labels: t.Dict[str, int] = {}
    position = 0
    for step in steps:
        if isinstance(step, str):
            labels[step] = position
        else:
            position += 1
    out: t.List[Instruction] = []
    for step in steps:
        if isinstance(step, str):
            continue
        opcode, k, yes, no = step
        here = len(out)
        out.append((opcode, _offset(labels, yes, here), _offset(labels, no, here), k))
    if len(out) > MAX_PROGRAM:
        raise ValueError("filter program has %d instructions, the kernel takes %d" % (len(out), MAX_PROGRAM))
    return out


def _offset(labels: t.Mapping[str, int], label: t.Optional[str], here: int) -> int:
    if label is None:
        return 0
    jump = labels[label] - here - 1
    if not 0 <= jump <= 255:
        raise ValueError("filter jump to %s is %d instructions, classic BPF allows 0-255" % (label, jump))
    return jump


def pack(instructions: t.Sequence[Instruction]) -> bytes:
    """The ``struct sock_filter`` array: u16 code, u8 jt, u8 jf, u32 k, native byte order."""
    return b"".join(struct.pack("=HBBI", code, jt, jf, k) for code, jt, jf, k in instructions)
