# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""How lab objects are named.

Every namespace is nilab-<lab>-<node> (a segment's bridge namespace is
nilab-<lab>-<segment>) and every interface inside a lab namespace is nl-<peer>
(the peer is a node or a segment), so a lab's leftovers can be told apart from
anything else on the machine, and several labs (different <lab>) coexist.
The only link a lab puts in the init namespace is the controller's veth into a
segment, nl-<lab>. Lab names carry no - so the namespace name splits back into
(lab, node). Every pattern is used with ``re.fullmatch``: ``$`` would let a
trailing newline through into ``ip`` arguments and sshd_config.
"""
from __future__ import annotations

import re
import typing as t

NETNS_PREFIX = "nilab-"
IFNAME_PREFIX = "nl-"
# Linux IFNAMSIZ is 16 including the terminating NUL.
IFNAME_MAX = 15
LAB_NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")
# Node and segment names: nl-<name> must fit IFNAME_MAX (checked with its own message).
NODE_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# Inside a segment's namespace: the bridge and the controller's port. Neither can
# clash with a member's port nl-<node>.
BRIDGE_IFNAME = "br0"
CONTROLLER_PORT = "ctl0"


def valid_lab_name(value: object) -> bool:
    return isinstance(value, str) and LAB_NAME_RE.fullmatch(value) is not None


def valid_node_name(value: object) -> bool:
    return isinstance(value, str) and NODE_NAME_RE.fullmatch(value) is not None


def controller_ifname(lab: str) -> str:
    """The controller's end of the veth into a segment, in the init namespace."""
    return IFNAME_PREFIX + lab


def netns_name(lab: str, node: str) -> str:
    return "%s%s-%s" % (NETNS_PREFIX, lab, node)


def lab_netns_prefix(lab: str) -> str:
    return "%s%s-" % (NETNS_PREFIX, lab)


def ifname(peer: str) -> str:
    """Interface name of the link towards peer inside a lab namespace."""
    return IFNAME_PREFIX + peer


def split_netns(name: str) -> t.Optional[t.Tuple[str, str]]:
    """nilab-<lab>-<node> -> (lab, node); None for a name that is not ours."""
    if not name.startswith(NETNS_PREFIX):
        return None
    lab, sep, node = name[len(NETNS_PREFIX):].partition("-")
    if not sep or not lab or not node:
        return None
    return lab, node


def is_lab_link(name: str, labs: t.Optional[t.Sequence[str]] = None) -> bool:
    """True for a root-namespace link name that only a lab could have made.

    Labs create no link in the root namespace but the controller's veth
    ``nl-<lab>`` (removed with the lab), so any other such link is debris of a
    crash or of a manual experiment. With ``labs`` given, only ``nl-<lab>...`` /
    ``nilab-<lab>-...``.
    """
    if labs is None:
        return name.startswith(IFNAME_PREFIX) or name.startswith(NETNS_PREFIX)
    return any(
        name.startswith(IFNAME_PREFIX + lab) or name.startswith(lab_netns_prefix(lab)) for lab in labs
    )
