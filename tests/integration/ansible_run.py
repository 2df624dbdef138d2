# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-playbook from the test venv against the working tree (linked by ``make link``)."""
from __future__ import annotations

import os
import subprocess
import sys
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def playbook(*args: str, timeout: float = 300, **env: str) -> "subprocess.CompletedProcess[str]":
    """Run ansible-playbook with ``args``; ``env`` adds environment variables."""
    full: t.Dict[str, str] = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
                                  ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    full.update(env)
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=full,
                          timeout=timeout, check=False)
