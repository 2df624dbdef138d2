# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Which network namespace is this? A key for the lock and the snapshot history.

Labs share one filesystem, so the history is kept per network namespace. The
namespace's inode number alone is no key: Linux hands a freed one to the next new
namespace, which would then inherit a deleted namespace's history and roll back to
it. So:

- the init namespace has a fixed inode (``PROC_NET_INIT_INO``, never allocated to
  another namespace): ``host-<machine-id>``;
- a named namespace (``ip netns add NAME``: a bind mount of its nsfs inode in
  /run/netns, found as ``ip netns identify`` does, by device and inode):
  ``netns-<NAME>-<marker>``, where the marker is a random id kept in
  ``<state_dir>/netns/<NAME>.json`` together with the namespace's device, inode,
  inode change time and the boot id; when any of those differ, the namespace was
  re-created and gets a new marker (and so an empty history);
- any other namespace: ``netns-<inode>-<boot id>-<ctime>``. The nsfs inode may be
  dropped and made again between runs when nothing pins the namespace, so such a
  history can be lost, but never inherited.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import statefiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

PROC_NET_INIT_INO = 0xEFFFFFF9  # include/linux/proc_ns.h; dynamic namespace inodes start at 0xF0000000
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HEX_RE = re.compile(r"[0-9a-f]{32}")
_BOOT_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Paths:
    self_netns: str = "/proc/self/ns/net"
    named_netns_dir: str = "/run/netns"
    machine_id: str = "/etc/machine-id"
    boot_id: str = "/proc/sys/kernel/random/boot_id"
    init_ino: int = PROC_NET_INIT_INO


def _read_id(path: str, pattern: t.Pattern[str]) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            value = handle.read().strip()
    except OSError:
        return ""
    return value if pattern.fullmatch(value) else ""


class NetnsIdentity:
    """The seam: ``lock_name()`` (cheap, no files written) and ``scope()`` (the history key)."""

    def __init__(self, paths: Paths = Paths()) -> None:
        self.paths = paths

    def _self(self) -> os.stat_result:
        try:
            return os.stat(self.paths.self_netns)
        except OSError as err:
            raise PolicyError("cannot identify this network namespace: stat %s failed (%s); is /proc mounted?"
                              % (self.paths.self_netns, err)) from err

    def name(self, info: os.stat_result) -> t.Optional[str]:
        """The /run/netns name whose bind mount is this namespace (``ip netns identify``)."""
        try:
            names = sorted(os.listdir(self.paths.named_netns_dir))
        except OSError:
            return None
        for name in names:
            if not _NAME_RE.fullmatch(name):
                continue
            try:
                other = os.stat(os.path.join(self.paths.named_netns_dir, name))
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
                return name
        return None

    def lock_name(self) -> str:
        """One lock per namespace; a re-created namespace of the same name shares it, which is harmless."""
        info = self._self()
        if info.st_ino == self.paths.init_ino:
            return "host"
        name = self.name(info)
        return ("netns-%s" % name) if name else self._anonymous(info)

    def scope(self, state_dir: str, create: bool = True) -> t.Optional[str]:
        """The history key; ``create=False`` (check mode) writes nothing and may return None (no history yet)."""
        info = self._self()
        if info.st_ino == self.paths.init_ino:
            machine = _read_id(self.paths.machine_id, _HEX_RE)
            return ("host-%s" % machine) if machine else "host"
        name = self.name(info)
        if not name:
            return self._anonymous(info)
        marker = self._marker(state_dir, name, info, create)
        return ("netns-%s-%s" % (name, marker)) if marker else None

    def _anonymous(self, info: os.stat_result) -> str:
        boot = _read_id(self.paths.boot_id, _BOOT_ID_RE).replace("-", "")[:12] or "noboot"
        return "netns-%d-%s-%d" % (info.st_ino, boot, info.st_ctime_ns)

    def _marker(self, state_dir: str, name: str, info: os.stat_result, create: bool) -> t.Optional[str]:
        identity = {"dev": info.st_dev, "ino": info.st_ino, "ctime_ns": info.st_ctime_ns,
                    "boot_id": _read_id(self.paths.boot_id, _BOOT_ID_RE)}
        directory = os.path.join(state_dir, "netns")
        path = os.path.join(directory, "%s.json" % name)
        text = statefiles.read_text(path) if os.path.isdir(directory) else None
        try:
            stored = json.loads(text) if text else {}
        except ValueError:
            stored = {}
        marker = stored.get("marker") if isinstance(stored, dict) else None
        if isinstance(marker, str) and _HEX_RE.fullmatch(marker) and \
                all(stored.get(key) == value for key, value in identity.items()):
            return marker[:12]
        if not create:
            return None
        statefiles.ensure_dir(directory)
        identity["marker"] = secrets.token_hex(16)
        statefiles.write_replace(path, json.dumps(identity, sort_keys=True) + "\n")
        return str(identity["marker"])[:12]
