# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The capture option of netdevops.icmp.ping, traceroute and pmtud (module_utils/_capture/alongside.py).
    DOCUMENTATION = r"""
options:
  capture:
    description:
      - Capture ICMP and ICMPv6 while the probes run and return a summary in RV(capture), so the
        verdict carries evidence, such as V(3 echo requests to 203.0.113.10 left eth0, no reply arrived).
      - Omit it for no capture; V({}) captures with the defaults below.
      - The capture socket (C(AF_PACKET) with an in-kernel filter, as M(netdevops.icmp.capture) uses)
        is opened before the first probe and closed after the last reply or timeout. Opening it
        needs C(CAP_NET_RAW) (root); without it the task fails before anything is sent, with a
        message that names the capability, also when the probes themselves could run unprivileged.
      - The filter keeps ICMP to or from this host's source addresses for the targets (from the
        route lookup), so other ICMP on a busy interface is not counted. Echo requests and replies
        are counted per target; ICMP errors are counted for the target whose probe they quote.
      - RV(capture) has the summary keys of M(netdevops.icmp.capture) (C(packets), C(by_direction),
        C(by_type), C(top_sources), C(top_destinations), C(errors) with the flows they quote,
        C(rate_pps), ...), and C(interface), C(chosen_by) (V(option), V(probe_interface), V(route),
        V(routes_differ), V(no_route)), C(hosts) (the filter), C(captured), C(over_limit),
        C(kernel) (C(packets), C(drops)), C(error) (null, or why the capture stopped early),
        C(per_target) (one entry per target address with C(address), C(echo_requests),
        C(echo_replies), C(errors) quoting probes to it, each with C(name), C(from), C(mtu),
        C(packets), and C(evidence)) and C(evidence), those sentences.
    type: dict
    suboptions:
      interface:
        description:
          - Where to listen. V(auto) is the interface the probes leave by, which is O(interface) when it is
            set, otherwise the output interface of the route to the targets (C(ip route get)), or
            all interfaces when the targets leave by different ones or there is no route.
          - V(any) listens on all interfaces; any other value is an interface name.
        type: str
        default: auto
      max_packets:
        description:
          - At most this many packets are summarised (1 to 1000000); later ones are only counted in
            C(capture.over_limit).
        type: int
        default: 10000
      top:
        description: How many top sources and destinations the summary lists (1 to 1000).
        type: int
        default: 10
"""
