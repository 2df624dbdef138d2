# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Names that reach an ``nft -f`` script or ``iptables-restore`` input, checked first.

Every user string the backends interpolate (the nftables table, the iptables chain
prefix, the log prefix) passes one of these full-match checks, so a newline, a quote
or a brace can never add a line to a script. The renderers and parsers call them
again (defense in depth): no path interpolates an unchecked name.

This is the lowest layer of the policy engine, so the engine's one error type lives
here; ``model`` re-exports it.
"""
from __future__ import annotations

import re
import typing as t


class PolicyError(ValueError):
    """Bad policy input. The message quotes the value and says what to do."""


TABLE_MAX = 64
# iptables chain names hold at most 28 characters (XT_EXTENSION_MAXNAMELEN 29 with the NUL);
# we append "-IN", "-FWD" or "-OUT", so the prefix keeps room for the longest suffix.
CHAIN_NAME_MAX = 28
LONGEST_CHAIN_SUFFIX = "-FWD"
CHAIN_PREFIX_MAX = CHAIN_NAME_MAX - len(LONGEST_CHAIN_SUFFIX)
LOG_PREFIX_MAX = 29  # iptables LOG target limit; nft allows more but we keep one contract

# The nflog group our logged drops go to (``log group N`` / ``-j NFLOG --nflog-group N``): the ICMPv6
# protocol number, away from the groups ulogd's sample configuration reads (0-2, 11).
DEFAULT_LOG_GROUP = 58
LOG_GROUP_MIN, LOG_GROUP_MAX = 1, 65535
LOG_GROUP_DRIFT = "logged drops that do not go to nflog group %d (written by an older version or another log_group)"

_TABLE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,%d}" % (TABLE_MAX - 1))
_CHAIN_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,%d}" % (CHAIN_PREFIX_MAX - 1))
_CHAIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,%d}" % (CHAIN_NAME_MAX - 1))
_LOG_PREFIX_RE = re.compile(r"[A-Za-z0-9 _.:=+-]{1,%d}" % LOG_PREFIX_MAX)


def _check(value: t.Any, pattern: t.Pattern[str], what: str, allowed: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PolicyError("%s %r is not allowed: use %s" % (what, value, allowed))
    return value


def check_table(value: t.Any) -> str:
    """An nftables table name (an nft identifier, nothing that could end a line or a block)."""
    return _check(value, _TABLE_RE, "table",
                  "1-%d characters: a letter, then letters, digits, '_' or '-' (e.g. netdevops_icmp)" % TABLE_MAX)


def check_chain_prefix(value: t.Any) -> str:
    """The prefix of our iptables chains; prefix + the longest suffix fits an iptables chain name."""
    return _check(value, _CHAIN_PREFIX_RE, "chain_prefix",
                  "1-%d characters: a letter, then letters, digits, '_' or '-' (iptables chain names hold %d "
                  "characters and we append up to %r; e.g. NETDEVOPS-ICMP)"
                  % (CHAIN_PREFIX_MAX, CHAIN_NAME_MAX, LONGEST_CHAIN_SUFFIX))


def check_chain(value: t.Any) -> str:
    """A whole iptables chain name we write (prefix + suffix, or a built-in chain)."""
    return _check(value, _CHAIN_RE, "chain", "1-%d characters: a letter, then letters, digits, '_' or '-'"
                  % CHAIN_NAME_MAX)


def check_log_prefix(value: t.Any) -> str:
    """A log prefix; it is quoted in both scripts, so quotes, backslashes and newlines are out."""
    return _check(value, _LOG_PREFIX_RE, "log_prefix",
                  "1-%d characters of letters, digits, space and _.:=+-" % LOG_PREFIX_MAX)


def check_log_group(value: t.Any) -> int:
    """An nflog group number; it reaches both scripts as a bare number."""
    if isinstance(value, bool) or not isinstance(value, int) or not LOG_GROUP_MIN <= value <= LOG_GROUP_MAX:
        raise PolicyError("log_group %r is not allowed: use a whole number from %d to %d (the nflog group the "
                          "policy's logged drops go to)" % (value, LOG_GROUP_MIN, LOG_GROUP_MAX))
    return value
