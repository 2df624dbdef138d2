# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Engine exceptions: one base class, messages that say what happened and what to do.

Failed probes are data (see ``models``), never exceptions. These are raised only for
things that stop a run before it starts (bad options, no socket) and for packets the
codec cannot parse (callers count those and carry on).
"""
from __future__ import annotations

import typing as t

PING_GROUP_RANGE_PATH = "/proc/sys/net/ipv4/ping_group_range"
SYSCTL_FIX = 'sysctl -w net.ipv4.ping_group_range="0 2147483647"'


class IcmpError(Exception):
    """Base class of every error the engine raises."""


class CodecError(IcmpError):
    """Bytes that are not a packet we can parse (truncated, garbage, wrong version)."""


class ParameterError(IcmpError):
    """A bad option value; raised before any packet is sent."""

    def __init__(self, option: str, value: object, hint: str) -> None:
        self.option = option
        self.value = value
        super().__init__("invalid %s %r: %s" % (option, value, hint))


class TransportError(IcmpError):
    """A socket could not be created or configured."""


class SocketPermissionError(TransportError):
    """Neither a raw nor an unprivileged ICMP socket may be opened by this process."""

    def __init__(
        self,
        family: int,
        mode: str,
        gid: int,
        ping_group_range: t.Optional[str],
        detail: str = "",
    ) -> None:
        self.family = family
        self.mode = mode
        self.gid = gid
        self.ping_group_range = ping_group_range
        current = ping_group_range if ping_group_range is not None else "unreadable"
        wanted = {
            "raw": "a raw ICMP socket (needs CAP_NET_RAW)",
            "unprivileged": "an unprivileged ICMP datagram socket",
        }.get(mode, "a raw or an unprivileged ICMP socket")
        text = (
            "cannot open %s for IPv%d%s. Either run the task as root or grant CAP_NET_RAW "
            "(become: true, or setcap cap_net_raw+ep on the Python interpreter), or allow "
            "unprivileged ICMP sockets for the user's group (gid %d; %s is currently %r) "
            "with: %s (per network namespace; persist it in /etc/sysctl.d/)"
            % (wanted, family, ": " + detail if detail else "", gid, PING_GROUP_RANGE_PATH, current, SYSCTL_FIX)
        )
        super().__init__(text)


class ResolveError(IcmpError):
    """A target name did not resolve (reported per target, never fatal to a run)."""


class FamilyUnavailableError(TransportError):
    """The host has no IPv4 or no IPv6 ICMP sockets (reported on that family's targets)."""


def read_ping_group_range() -> t.Optional[str]:
    """The current ``net.ipv4.ping_group_range`` (for the permission error), or None."""
    try:
        with open(PING_GROUP_RANGE_PATH) as handle:
            return " ".join(handle.read().split())
    except OSError:
        return None
