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


SBIN_DIRS = ("/usr/sbin", "/sbin")  # where nft, iptables and ip live; a module's PATH may lack them


class ModuleRunner:
    """A ``CommandRunner`` over ``AnsibleModule.run_command`` (no shell, text in/out).

    The program is resolved with ``module.get_bin_path(name, required=True, opt_dirs=SBIN_DIRS)``
    (once per name), so a missing binary fails the task with Ansible's own message. The runner
    keeps working in a forked child (the policy watchdog), as ``run_command`` does.
    """

    def __init__(self, module: t.Any, prefix: t.Sequence[str] = ()) -> None:
        self._module = module
        self._prefix = tuple(prefix)
        self._paths: t.Dict[str, str] = {}

    def which(self, name: str) -> t.Optional[str]:
        """The binary's full path, or None (for checks that explain what to install)."""
        found: t.Optional[str] = self._module.get_bin_path(name, opt_dirs=list(SBIN_DIRS))
        return found

    def _resolve(self, name: str) -> str:
        if name not in self._paths:
            self._paths[name] = self._module.get_bin_path(name, required=True, opt_dirs=list(SBIN_DIRS))
        return self._paths[name]

    def run(
        self,
        argv: t.Sequence[str],
        stdin: t.Optional[str] = None,
        check: bool = True,
    ) -> CommandResult:
        full = self._prefix + tuple(argv)
        rc, stdout, stderr = self._module.run_command([self._resolve(full[0])] + list(full[1:]), data=stdin,
                                                      binary_data=False)
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
