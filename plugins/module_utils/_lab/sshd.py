# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Per-node sshd: files in a per-lab state directory, and what they contain.

Namespaces share the filesystem with the controller, so every sshd gets its own
config, host key and pid file under ``<state_dir>/<lab>/<node>/``; all of them
accept the lab's controller key (``<state_dir>/<lab>/id_ed25519``). sshd binds
only the node's lab addresses.
"""
from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Node, Topology

DEFAULT_STATE_DIR = "/run/netdevops_icmp_lab"
SSHD = "/usr/sbin/sshd"
SSHD_PRIVSEP_DIR = "/run/sshd"
# Paths under state_dir go into sshd_config lines and ssh options: full match, no
# whitespace, newline or quote.
STATE_DIR_RE = re.compile(r"/[A-Za-z0-9_.+/-]*")


class LabPaths:
    """Where a lab keeps its files."""

    def __init__(self, state_dir: str, lab: str) -> None:
        self.state_dir = state_dir
        self.lab_dir = os.path.join(state_dir, lab)
        self.key = os.path.join(self.lab_dir, "id_ed25519")
        self.public_key = self.key + ".pub"
        self.relay = os.path.join(self.lab_dir, "tcp_relay.py")

    def node_dir(self, node: str) -> str:
        return os.path.join(self.lab_dir, node)

    def sshd_config(self, node: str) -> str:
        return os.path.join(self.node_dir(node), "sshd_config")

    def host_key(self, node: str) -> str:
        return os.path.join(self.node_dir(node), "ssh_host_ed25519_key")

    def pid_file(self, node: str) -> str:
        return os.path.join(self.node_dir(node), "sshd.pid")


def keygen_argv(path: str, comment: str) -> t.Tuple[str, ...]:
    return ("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path)


def render_sshd_config(topo: Topology, node: Node, paths: LabPaths) -> str:
    lines = [
        "# Managed by netdevops.icmp lab %s; removed by lab_down." % topo.name,
        "Port 22",
    ]
    for family in (4, 6):
        for addr in topo.addresses(node.name, family):
            lines.append("ListenAddress %s" % (addr.ip if family == 4 else "[%s]" % addr.ip))
    lines += [
        "HostKey %s" % paths.host_key(node.name),
        "PidFile %s" % paths.pid_file(node.name),
        "AuthorizedKeysFile %s" % paths.public_key,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        # The state directory is not owned the way sshd wants for a home directory.
        "StrictModes no",
        "PrintMotd no",
        "UseDNS no",
        "LogLevel ERROR",
        "Subsystem sftp internal-sftp",
        "",
    ]
    return "\n".join(lines)


def ssh_client_options(paths: LabPaths) -> t.List[str]:
    """Options for ``ssh`` run inside a lab namespace towards a lab sshd."""
    return [
        "-i", paths.key,
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes",
        "-o", "LogLevel=ERROR",
    ]


# A stdin/stdout <-> TCP pump, used as the ssh ProxyCommand so that the
# controller's ssh session starts inside another lab namespace and crosses the
# lab path (there is no route from the root namespace into a lab).
RELAY_SCRIPT = '''\
"""TCP relay for ssh ProxyCommand: python3 tcp_relay.py HOST PORT (netdevops.icmp lab)."""
import os
import select
import socket
import sys


def main():
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
    sock.settimeout(None)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sources = [stdin, sock]
    while sources:
        readable, _, _ = select.select(sources, [], [])
        if stdin in readable:
            data = os.read(stdin, 65536)
            if data:
                sock.sendall(data)
            else:
                sources.remove(stdin)
                sock.shutdown(socket.SHUT_WR)
        if sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            while data:
                data = data[os.write(stdout, data):]


if __name__ == "__main__":
    main()
'''
