# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""ICMP sysctls a policy may set, read and written through /proc/sys.

/proc/sys/net is per network namespace, so a module running inside a namespace
reads and writes that namespace's values. ``root`` is a seam for unit tests.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

# policy key -> the /proc/sys paths it sets (all of them get the same value).
SYSCTLS: t.Dict[str, t.Tuple[str, ...]] = {
    "icmp_ratelimit": ("net/ipv4/icmp_ratelimit",),
    "icmp_ratemask": ("net/ipv4/icmp_ratemask",),
    "icmp_echo_ignore_all": ("net/ipv4/icmp_echo_ignore_all",),
    "icmp_echo_ignore_broadcasts": ("net/ipv4/icmp_echo_ignore_broadcasts",),
    "icmp_ignore_bogus_error_responses": ("net/ipv4/icmp_ignore_bogus_error_responses",),
    "accept_redirects": ("net/ipv4/conf/all/accept_redirects", "net/ipv4/conf/default/accept_redirects"),
    "secure_redirects": ("net/ipv4/conf/all/secure_redirects", "net/ipv4/conf/default/secure_redirects"),
    "send_redirects": ("net/ipv4/conf/all/send_redirects", "net/ipv4/conf/default/send_redirects"),
    "ipv6_icmp_ratelimit": ("net/ipv6/icmp/ratelimit",),
    "ipv6_echo_ignore_all": ("net/ipv6/icmp/echo_ignore_all",),
    "ipv6_accept_redirects": ("net/ipv6/conf/all/accept_redirects", "net/ipv6/conf/default/accept_redirects"),
}


def validate(raw: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, int]:
    result: t.Dict[str, int] = {}
    for key, value in (raw or {}).items():
        if key not in SYSCTLS:
            raise PolicyError("unknown ICMP sysctl %r; use one of: %s" % (key, ", ".join(sorted(SYSCTLS))))
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or value < 0:
            raise PolicyError("sysctl %s=%r must be a whole number >= 0" % (key, value))
        result[key] = value
    return result


class Sysctls:
    def __init__(self, root: str = "/proc/sys") -> None:
        self.root = root

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def read(self, keys: t.Iterable[str]) -> t.Dict[str, t.Optional[int]]:
        """Current values; a key whose paths disagree reads as None (it will be rewritten)."""
        values: t.Dict[str, t.Optional[int]] = {}
        for key in keys:
            seen = set()
            for rel in SYSCTLS[key]:
                try:
                    with open(self._path(rel)) as handle:
                        seen.add(int(handle.read().split()[0]))
                except (OSError, ValueError, IndexError):
                    seen.add(-1)
            values[key] = seen.pop() if len(seen) == 1 and -1 not in seen else None
        return values

    def write(self, values: t.Mapping[str, int]) -> None:
        for key, value in sorted(values.items()):
            for rel in SYSCTLS[key]:
                with open(self._path(rel), "w") as handle:
                    handle.write("%d\n" % value)
