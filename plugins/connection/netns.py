# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
short_description: Run tasks inside a Linux network namespace on the controller
version_added: 1.0.0
description:
  - Like the C(ansible.builtin.local) connection, but every command runs inside a named
    network namespace, through C(ip netns exec NAME /bin/sh -c COMMAND).
  - Files are transferred like C(local) does, by copying on the controller's filesystem;
    a network namespace shares the filesystem with the controller.
  - Made for the lab of C(netdevops.icmp.lab_topology) and the C(netdevops.icmp.lab) role,
    whose inventory sets C(ansible_connection=netdevops.icmp.netns) and C(ansible_host) to the
    namespace of each node; any namespace listed by C(ip netns list) works.
author:
  - netdevops.icmp contributors (@netdevops)
options:
  netns_name:
    description:
      - Name of the network namespace (as in C(ip netns list)).
      - Taken from the inventory host name, then C(ansible_host), then C(ansible_netns_name);
        the last one that is set wins.
    type: str
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_netns_name
  netns_ip_command:
    description:
      - Path of the iproute2 C(ip) command on the controller.
    type: str
    default: ip
    vars:
      - name: ansible_netns_ip_command
  become_success_timeout:
    description:
      - Seconds to wait for become to succeed, as for C(ansible.builtin.local).
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description:
      - Strip internal become output preceding command execution, as for C(ansible.builtin.local).
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
notes:
  - Needs root (or CAP_SYS_ADMIN) on the controller, as C(ip netns exec) does.
  - The remote user is ignored; commands run as the user running Ansible, inside the namespace.
  - The namespace has its own network stack (interfaces, routes, firewall, sysctls under
    C(net.)) but shares everything else with the controller, including C(/tmp).
seealso:
  - module: netdevops.icmp.lab_topology
"""

EXAMPLES = r"""
# inventory.yml
# all:
#   hosts:
#     h1:
#       ansible_connection: netdevops.icmp.netns
#       ansible_host: nilab-default-h1

- name: Show the addresses of every lab node
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the node's addresses
      ansible.builtin.command: ip -j addr show
      changed_when: false
"""

import os
import re
import shlex
import typing as t

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

display = Display()

NETNS_RUN_DIR = "/run/netns"
# A file name under /run/netns; full match, so no newline or path sneaks into the command.
NETNS_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,254}")


def wrap_command(ip_command: str, netns: str, cmd: str) -> str:
    """The shell command line that runs ``cmd`` inside ``netns``."""
    return "%s netns exec %s /bin/sh -c %s" % (shlex.quote(ip_command), shlex.quote(netns), shlex.quote(cmd))


class Connection(LocalConnection):
    """Local connection whose commands run inside a network namespace."""

    transport = "netdevops.icmp.netns"
    has_pipelining = True

    def _netns(self) -> str:
        netns = self.get_option("netns_name")
        if not netns:
            raise AnsibleConnectionFailure(
                "no network namespace given: set ansible_host or ansible_netns_name to a name from `ip netns list`"
            )
        if not isinstance(netns, str) or NETNS_NAME_RE.fullmatch(netns) is None:
            raise AnsibleConnectionFailure(
                "invalid network namespace name %r: use letters, digits and _ . @ + - "
                "(a name from `ip netns list`), not starting with . or -" % (netns,)
            )
        return str(netns)

    def _connect(self) -> LocalConnection:
        netns = self._netns()
        if not os.path.exists(os.path.join(NETNS_RUN_DIR, netns)):
            existing = sorted(os.listdir(NETNS_RUN_DIR)) if os.path.isdir(NETNS_RUN_DIR) else []
            raise AnsibleConnectionFailure(
                "network namespace %r does not exist (no %s/%s); build the lab first "
                "(netdevops.icmp.lab_up) or fix ansible_host. Existing namespaces: %s"
                % (netns, NETNS_RUN_DIR, netns, ", ".join(existing) or "none")
            )
        if not self._connected:
            display.vvv("ESTABLISH NETNS CONNECTION TO %s" % netns, host=self._play_context.remote_addr)
        return super()._connect()

    def exec_command(self, cmd: str, in_data: t.Optional[bytes] = None, sudoable: bool = True) -> t.Tuple[int, bytes, bytes]:
        if not self._connected:
            self._connect()
        wrapped = wrap_command(self.get_option("netns_ip_command"), self._netns(), cmd)
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
