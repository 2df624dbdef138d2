# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Probe options shared by netdevops.icmp.ping, traceroute and pmtud.
    DOCUMENTATION = r"""
options:
  family:
    description:
      - Address family of the probes.
      - V(auto) uses each target as given; a name is resolved once and its first address
        (resolver order) is probed.
      - V(ipv4) or V(ipv6) resolve names to that family only; an IP literal of the other
        family is reported as an error for that target.
    type: str
    choices: [auto, ipv4, ipv6]
    default: auto
  privileged:
    description:
      - Which kind of ICMP socket to open.
      - V(raw) needs root or C(CAP_NET_RAW). A raw socket sees every ICMP packet of the host; the
        engine installs a kernel filter so it only receives echo replies and ICMP errors.
      - V(unprivileged) uses ICMP datagram sockets, allowed when the user's group is inside
        C(net.ipv4.ping_group_range) (per network namespace). The kernel then chooses the ICMP
        identifier and delivers ICMP errors through the socket error queue.
      - V(auto) tries V(unprivileged) first, then V(raw). When neither works the task fails with
        the exact sysctl or capability to grant.
    type: str
    choices: [auto, raw, unprivileged]
    default: auto
  source:
    description:
      - Source address of the probes. It must be configured on the managed host.
    type: str
  interface:
    description:
      - Send through this interface or VRF device (C(SO_BINDTODEVICE)).
      - Needed for IPv6 link-local targets unless they carry a zone (V(fe80::1%eth0)).
    type: str
  timeout:
    description:
      - Seconds to wait for the answer to each probe (more than 0, at most 3600). A reply that
        arrives later is counted in RV(results[].late), not in the statistics.
    type: float
    default: 1.0
  size:
    description:
      - Bytes of ICMP payload per probe (without the 8-byte ICMP header and the IP header), as
        C(ping -s). The first 12 bytes carry the run token and probe number that tell our
        replies from those of other processes, so the minimum is 12.
      - At most 65507 for IPv4 (and V(auto)) and 65527 for IPv6.
    type: int
    default: 56
  ttl:
    description:
      - IPv4 time to live or IPv6 hop limit of the probes (1-255). Default is the kernel's.
    type: int
  df:
    description:
      - Path MTU discovery mode, as C(ping -M). V(do) sets Don't Fragment and never fragments
        locally, V(want) sets DF but fragments locally past the cached path MTU, V(dont) clears
        DF, V(probe) sets DF and ignores the cached path MTU.
      - Linux defaults to V(want) for most sockets; omit to keep the kernel default.
    type: str
    choices: [do, want, dont, probe]
  tos:
    description:
      - IPv4 type of service byte or IPv6 traffic class (0-255); DSCP is the upper six bits,
        so DSCP EF (46) is V(184).
    type: int
"""
