# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Defaults and the confirmation-token marker shared by the policy module and its action plugin.

The module's ``ARGUMENT_SPEC`` and the action plugin read the same constants from here,
so the controller never confirms with other values than the host uses. The module's
``DOCUMENTATION`` keeps the literal values (it must be plain YAML); a unit test keeps the
three in step.
"""
from __future__ import annotations

import hashlib
import hmac
import re

DEFAULT_STATE = "merged"
DEFAULT_BACKEND = "auto"
DEFAULT_TABLE = "netdevops_icmp"
DEFAULT_CHAIN_PREFIX = "NETDEVOPS-ICMP"
DEFAULT_LOG_GROUP = 58  # names.DEFAULT_LOG_GROUP: the nflog group of logged drops
DEFAULT_STATE_DIR = "/var/lib/netdevops_icmp/policy"
DEFAULT_CONFIRM_TIMEOUT = 30
DEFAULT_CONFIRM_BYTES = 65536
MAX_CONFIRM_BYTES = 16 * 1024 * 1024
DEFAULT_HISTORY_SIZE = 20

# The plugin's tokens: 32 lowercase hex digits (128 random bits).
TOKEN_RE = re.compile(r"[a-f0-9]{32}")
MARKER_RE = re.compile(r"[a-f0-9]{64}")

# Not a secret: anyone who can run modules on the host is root there already. The marker
# shows that the token came from the action plugin's commit-confirm run (which removes the
# cookie), so a hand-set or copied ``_confirm_token`` cannot start a run that nobody confirms.
_MARKER_KEY = b"netdevops.icmp.policy action plugin confirm token v1"


def confirm_marker(token: str) -> str:
    """The marker the action plugin sends next to ``_confirm_token`` (HMAC-SHA256 of the token)."""
    return hmac.new(_MARKER_KEY, token.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def token_problem(token: object, marker: object) -> str:
    """Why the module must refuse this token/marker pair; ``""`` when they are acceptable."""
    if token is None and marker is None:
        return ""
    if token is None:
        return "_confirm_marker is internal to the policy action plugin and needs its _confirm_token; remove it"
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return ("_confirm_token %r is internal to the policy action plugin (32 lowercase hex digits); "
                "do not set it, use confirm_timeout for commit-confirm" % (token,))
    if not isinstance(marker, str) or not MARKER_RE.fullmatch(marker) \
            or not hmac.compare_digest(marker, confirm_marker(token)):
        return ("_confirm_token %r was not set by the policy action plugin (its marker is missing or wrong); "
                "do not set _confirm_token by hand, use confirm_timeout for commit-confirm" % (token,))
    return ""
