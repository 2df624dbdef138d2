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
import re
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


_INT_MAX = 2147483647
_BOOLEAN = (0, 1)
# policy key -> (lowest, highest) value we write. Measured on Linux 6.x in a throw-away
# namespace (writing -1, 2, 5, 256, 2**31 to each path):
# - the echo/broadcast/bogus switches are u8 with min/max 0..1 in the kernel (EINVAL otherwise);
#   ipv6 echo_ignore_all takes 0..255 and the redirect switches take any int, but all of them
#   only test "non-zero": we take 0 or 1 so intent is plain and the value reads back as written.
# - the ratelimits are milliseconds stored in jiffies (proc_dointvec_ms_jiffies): 0..2**31-1;
#   the kernel reads back a multiple of its tick (1 ms -> 4 on HZ=250), -1 and 2**31 fail.
# - icmp_ratemask is a plain int, but only bits 0..18 (one per ICMP type up to NR_ICMP_TYPES=18)
#   mean anything; a negative or wider mask sets bits no type has.
RANGES: t.Dict[str, t.Tuple[int, int]] = {
    "icmp_ratelimit": (0, _INT_MAX),
    "icmp_ratemask": (0, (1 << 19) - 1),
    "ipv6_icmp_ratelimit": (0, _INT_MAX),
}


# The ticks Linux is built with (CONFIG_HZ). A ratelimit is written as milliseconds, stored as
# jiffies rounded up (msecs_to_jiffies) and read back truncated (jiffies_to_msecs): 1001 ms reads
# back as 1004 on HZ=250.
_KERNEL_HZ = (100, 250, 300, 1000)
_MS_IN_JIFFIES = frozenset(("icmp_ratelimit", "ipv6_icmp_ratelimit"))


def _kernel_ms(ms: int, hz: int) -> int:
    jiffies = -(-ms * hz // 1000)
    return jiffies * 1000 // hz


def holds(key: str, want: int, have: t.Optional[int]) -> bool:
    """Whether a value read back as ``have`` is what the kernel keeps after writing ``want``.

    Only the ratelimits differ from what was written (tick rounding); comparing them
    exactly would report a change on every run for a value that is not a whole number of ticks.
    """
    if have == want:
        return True
    if have is None or key not in _MS_IN_JIFFIES:
        return False
    return any(_kernel_ms(want, hz) == have for hz in _KERNEL_HZ)


def value_range(key: str) -> t.Tuple[int, int]:
    """The values ``validate`` accepts for ``key``."""
    return RANGES.get(key, _BOOLEAN)


def _as_int(value: t.Any) -> t.Optional[int]:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,12}\s*", value):
        return int(value)
    return None


def validate(raw: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, int]:
    """Every key known and every value in its kernel range, before anything is written."""
    if raw is not None and not isinstance(raw, t.Mapping):
        raise PolicyError("sysctls must be a mapping of key: value, got %r" % (raw,))
    result: t.Dict[str, int] = {}
    for key, value in (raw or {}).items():
        if key not in SYSCTLS:
            raise PolicyError("unknown ICMP sysctl %r; use one of: %s" % (key, ", ".join(sorted(SYSCTLS))))
        number = _as_int(value)
        lowest, highest = value_range(key)
        if number is None or not lowest <= number <= highest:
            allowed = "0 (off) or 1 (on)" if (lowest, highest) == _BOOLEAN else "a whole number %d-%d" % (lowest, highest)
            raise PolicyError("sysctl %s=%r is out of range: %s takes %s (%s); nothing was changed"
                              % (key, value, key, allowed, ", ".join(SYSCTLS[key])))
        result[key] = number
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
