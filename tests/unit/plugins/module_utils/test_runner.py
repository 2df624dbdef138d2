# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command runner the engines share: results, errors, a missing program (real processes)."""
from __future__ import annotations

import sys

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._runner import (
    CommandError, CommandResult, SubprocessRunner,
)


def test_checked_passes_success_and_unchecked_failures_through() -> None:
    ok = CommandResult(("true",), 0, "out", "")
    failed = CommandResult(("false",), 1, "", "")
    assert ok.checked() is ok
    assert failed.checked(check=False) is failed


def test_checked_raises_with_the_command_its_code_and_stderr() -> None:
    with pytest.raises(CommandError, match=r"command 'nft -f -' exited with 1: Error: syntax error") as caught:
        CommandResult(("nft", "-f", "-"), 1, "", "Error: syntax error\n").checked()
    assert caught.value.result.rc == 1


def test_subprocess_runner_runs_real_commands() -> None:
    runner = SubprocessRunner()
    echoed = runner.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin="icmp")
    assert (echoed.rc, echoed.stdout) == (0, "ICMP\n")
    assert runner.run([sys.executable, "-c", "raise SystemExit(3)"], check=False).rc == 3
    with pytest.raises(CommandError, match="exited with 3"):
        runner.run([sys.executable, "-c", "raise SystemExit(3)"])


def test_a_missing_program_is_rc_127_with_a_hint() -> None:
    runner = SubprocessRunner()
    assert runner.run(["netdevops-no-such-tool"], check=False).rc == 127
    with pytest.raises(CommandError, match="command not found. install it or put it on PATH"):
        runner.run(["netdevops-no-such-tool"])
