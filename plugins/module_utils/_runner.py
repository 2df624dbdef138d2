# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The command-runner seam shared by the policy and lab engines.

Engines take a ``CommandRunner`` and never spawn processes themselves. Production
code passes ``ModuleRunner`` (``_adapter.py``, over ``AnsibleModule.run_command``)
or ``SubprocessRunner`` (below, for code that runs outside a module such as the
test fixtures); unit tests pass a fake that replays recorded commands.
"""
from __future__ import annotations

import subprocess
import typing as t
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandResult:
    argv: t.Tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    def checked(self, check: bool = True) -> "CommandResult":
        """This result, or ``CommandError`` when ``check`` is set and the command failed."""
        if check and self.rc != 0:
            raise CommandError(self)
        return self


class CommandError(Exception):
    """A command failed; the message quotes the command, its exit code and stderr."""

    def __init__(self, result: CommandResult, hint: str = "") -> None:
        self.result = result
        text = "command %r exited with %d" % (" ".join(result.argv), result.rc)
        detail = (result.stderr or result.stdout).strip()
        if detail:
            text += ": " + detail
        if hint:
            text += ". " + hint
        super().__init__(text)


class CommandRunner(t.Protocol):
    def run(
        self,
        argv: t.Sequence[str],
        stdin: t.Optional[str] = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv``; raise ``CommandError`` when ``check`` and rc != 0."""


class SubprocessRunner:
    """A ``CommandRunner`` over ``subprocess`` (no shell, text in and out)."""

    def __init__(self, prefix: t.Sequence[str] = ()) -> None:
        self._prefix = tuple(prefix)

    def run(
        self,
        argv: t.Sequence[str],
        stdin: t.Optional[str] = None,
        check: bool = True,
    ) -> CommandResult:
        full = self._prefix + tuple(argv)
        try:
            proc = subprocess.run(  # noqa: S603 - argv list, no shell
                full,
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError as err:
            result = CommandResult(full, 127, "", "%s: command not found" % full[0])
            if check:
                raise CommandError(result, "install it or put it on PATH") from err
            return result
        return CommandResult(full, proc.returncode, proc.stdout, proc.stderr).checked(check)
