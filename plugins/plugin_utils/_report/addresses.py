# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""netaddr, the controller's address library, imported once with an actionable error when missing.

The plugins load without it (``ansible-doc`` and ``ansible-test``'s import test run where it is
not installed); only the address work needs it, and says what to install.
"""
from __future__ import annotations

import typing as t

try:
    import netaddr as _netaddr
except ImportError as _err:  # pragma: no cover - the test environment has it
    _netaddr = None
    _IMPORT_ERROR: t.Optional[ImportError] = _err
else:
    _IMPORT_ERROR = None

MISSING = ("the Python library netaddr is missing on the controller: install it with 'pip install netaddr' "
           "(the collection's requirements.txt names it; execution environments built from it have it)")


class MissingLibrary(RuntimeError):
    """A controller library the collection needs is not installed; the message says how to install it."""


def netaddr() -> t.Any:
    """The netaddr module, or MissingLibrary saying how to install it."""
    if _netaddr is None:
        raise MissingLibrary(MISSING) from _IMPORT_ERROR
    return _netaddr
