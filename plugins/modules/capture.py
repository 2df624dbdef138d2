#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: capture
short_description: Capture ICMP and ICMPv6 on a host and summarise it, with an optional pcap file
version_added: 1.0.0
description:
  - Listens on one interface, or on all of them, for a duration or a number of packets, and returns a
    summary of the ICMP and ICMPv6 it saw, per direction, type and code, source and destination, and
    second; the ICMP errors it saw with the flow each one quotes (addresses, protocol, ports or echo
    id of the original packet); and the kernel's counters for the capture socket, drops included.
  - A classic BPF program attached to the socket (C(SO_ATTACH_FILTER)) passes only ICMP and ICMPv6
    (also behind an IPv6 hop-by-hop header, as MLD uses), optionally only to or from O(hosts), so
    other traffic never reaches the module. It uses only the Python standard library.
  - With O(pcap_path) it also writes a classic libpcap file (nanosecond timestamps, link type
    LINUX_SLL, so C(tcpdump -r) shows each packet's direction) that C(tcpdump) and Wireshark read.
    The file must not exist yet (it is created with C(O_EXCL|O_NOFOLLOW), mode 0600) and stops
    growing at O(pcap_max_bytes).
  - A packet on the loopback device is counted once, as received (the kernel shows it twice, sent and
    received; C(tcpdump) skips the same copy).
  - Needs C(CAP_NET_RAW) (root); without it the task fails with a message that says so.
author:
  - netdevops.icmp contributors (@netdevops)
options:
  interface:
    description: Interface to listen on; all interfaces of the host (its network namespace) when omitted.
    type: str
  duration:
    description: Seconds to listen (0.01 to 3600). The capture also ends after O(count) packets.
    type: float
    default: 10
  count:
    description: Stop after this many packets (1 to 10,000,000).
    type: int
  hosts:
    description:
      - Only packets from or to these addresses (literal IPv4 or IPv6 addresses, at most 8; names are not
        resolved).
    type: list
    elements: str
    default: []
  family:
    description: Which ICMP to capture.
    type: str
    choices: [any, ipv4, ipv6]
    default: any
  snaplen:
    description: Bytes kept of each packet, from its IP header on (64 to 262144).
    type: int
    default: 65535
  pcap_path:
    description: Absolute path of a new pcap file to write; its directory must exist.
    type: path
  pcap_max_bytes:
    description: Largest pcap file to write, header included (4096 bytes to 4 GiB); packets after that are counted, not written.
    type: int
    default: 67108864
  top:
    description: How many top sources and destinations to list.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Check mode validates the options and returns what would be captured in RV(filter), without listening.
  diff_mode:
    support: none
    description: A capture changes nothing on the host but the optional pcap file, so there is no diff.
  platform:
    support: full
    platforms: [posix]
    description: Linux managed hosts (C(AF_PACKET) sockets and classic BPF socket filters of the Linux kernel).
notes:
  - Inside a network namespace the module sees that namespace's interfaces and traffic only.
seealso:
  - module: netdevops.icmp.ping
"""

EXAMPLES = r"""
- name: What ICMP reaches eth0 in the next 30 seconds
  netdevops.icmp.capture:
    interface: eth0
    duration: 30
  become: true
  register: icmp

- name: Errors for one peer, kept as a pcap for Wireshark
  netdevops.icmp.capture:
    hosts: [192.0.2.10, 2001:db8::10]
    duration: 60
    pcap_path: /var/tmp/icmp-{{ inventory_hostname }}.pcap
  become: true

- name: Fail when frag-needed arrives at all (someone's path MTU is smaller than they think)
  ansible.builtin.assert:
    that: icmp.errors | selectattr('name', 'equalto', 'frag-needed') | list | length == 0
"""

RETURN = r"""
packets:
  description: ICMP and ICMPv6 packets captured.
  returned: success
  type: int
by_direction:
  description: Packets per direction (V(in) received by the host, V(out) sent by it).
  returned: success
  type: dict
  sample: {"in": 12, "out": 12}
by_type:
  description: Packets per family, type, code and direction, with the type/code name.
  returned: success
  type: list
  elements: dict
  sample: [{"family": "ipv4", "type": 8, "code": 0, "name": "echo-request", "direction": "in", "packets": 10}]
top_sources:
  description: The addresses that sent the most ICMP, most first.
  returned: success
  type: list
  elements: dict
top_destinations:
  description: The addresses that received the most ICMP, most first.
  returned: success
  type: list
  elements: dict
distinct_sources:
  description: Number of different source addresses.
  returned: success
  type: int
distinct_destinations:
  description: Number of different destination addresses.
  returned: success
  type: int
rate_pps:
  description: Average packets per second over the capture and the busiest second.
  returned: success
  type: dict
per_second:
  description: Packets per second of the capture (Unix time).
  returned: success
  type: list
  elements: dict
errors:
  description:
    - ICMP errors seen, grouped by type, code, direction, reporting address, MTU and the flow they quote
      (C(quoted) has C(src), C(dst), C(protocol), C(sport), C(dport), C(echo_id)).
  returned: success
  type: list
  elements: dict
malformed:
  description: Packets the filter passed that could not be read (truncated, not IPv4/IPv6).
  returned: success
  type: int
fragments:
  description: IPv4 fragments after the first (they carry no ICMP header).
  returned: success
  type: int
kernel:
  description: The kernel's counters for the capture socket; C(drops) are packets it could not queue for us.
  returned: success
  type: dict
  sample: {"packets": 24, "drops": 0}
elapsed_s:
  description: How long the capture ran.
  returned: success
  type: float
stopped_by:
  description: V(duration) or V(count).
  returned: success
  type: str
interfaces_seen:
  description: Interfaces on which packets were captured.
  returned: success
  type: list
  elements: str
filter:
  description: What the capture listens for (also in check mode).
  returned: always
  type: dict
pcap:
  description: The pcap file written (C(path), C(packets), C(bytes), C(truncated)), or null.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import options, pcap, run, sniffer

ARGUMENT_SPEC = {
    "interface": {"type": "str"},
    "duration": {"type": "float", "default": 10.0},
    "count": {"type": "int"},
    "hosts": {"type": "list", "elements": "str", "default": []},
    "family": {"type": "str", "choices": ["any", "ipv4", "ipv6"], "default": "any"},
    "snaplen": {"type": "int", "default": 65535},
    "pcap_path": {"type": "path"},
    "pcap_max_bytes": {"type": "int", "default": 64 * 1024 * 1024},
    "top": {"type": "int", "default": 10},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        opts = options.build(module.params)
        if module.check_mode:
            module.exit_json(changed=False, filter=opts.describe())
        result = run.run(opts)
    except (options.OptionError, sniffer.CaptureError, pcap.PcapError) as err:
        module.fail_json(msg=str(err), changed=False)
    module.exit_json(changed=result["pcap"] is not None, **result)


if __name__ == "__main__":
    main()
