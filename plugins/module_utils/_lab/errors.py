# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Errors of the lab engine: what went wrong, with the real values, and what to do."""
from __future__ import annotations


class LabError(Exception):
    """Base class of every error the lab engine raises on purpose."""


class TopologyError(LabError):
    """The topology is invalid; nothing was changed."""
