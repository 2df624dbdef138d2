# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The one ansible-aware util: engine errors to ``fail_json``, commands over ``run_command``.

Engines (``_icmp``, ``_policy``, ``_lab``) never see the AnsibleModule; modules use this
to hand them a ``CommandRunner`` and to turn their exceptions into task failures.
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import (
    IcmpError,
    ParameterError,
    SocketPermissionError,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandResult


class ModuleRunner:
    """A ``CommandRunner`` over ``AnsibleModule.run_command`` (no shell, text in/out)."""

    def __init__(self, module: t.Any, prefix: t.Sequence[str] = ()) -> None:
        self._module = module
        self._prefix = tuple(prefix)

    def run(
        self,
        argv: t.Sequence[str],
        stdin: t.Optional[str] = None,
        check: bool = True,
    ) -> CommandResult:
        full = self._prefix + tuple(argv)
        rc, stdout, stderr = self._module.run_command(list(full), data=stdin, binary_data=False)
        return CommandResult(full, rc, stdout, stderr).checked(check)


def error_details(err: Exception) -> t.Dict[str, t.Any]:
    """The ``fail_json`` keywords for an engine error: message plus machine-readable facts."""
    details: t.Dict[str, t.Any] = {"msg": str(err)}
    if isinstance(err, ParameterError):
        details["msg"] = "%s; nothing was sent" % err
        details["invalid_option"] = err.option
    elif isinstance(err, SocketPermissionError):
        details["ping_group_range"] = err.ping_group_range
        details["gid"] = err.gid
    if err.__cause__ is not None and not isinstance(err, ParameterError):
        details["exception_cause"] = "%s: %s" % (type(err.__cause__).__name__, err.__cause__)
    return details


def fail_on_error(module: t.Any, err: Exception, **extra: t.Any) -> None:
    """``module.fail_json`` for an ``IcmpError`` or ``CommandError`` (never returns)."""
    if not isinstance(err, (IcmpError, CommandError)):
        raise err
    details = error_details(err)
    details.update(extra)
    module.fail_json(**details)
