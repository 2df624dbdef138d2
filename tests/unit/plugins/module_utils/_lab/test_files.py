# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real ``Files`` seam on a temporary directory, and the sshd helper texts."""
from __future__ import annotations

import stat
from pathlib import Path

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import sshd
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import Files


def test_files_seam(tmp_path: Path) -> None:
    files = Files()
    lab_dir = str(tmp_path / "state" / "t1")
    assert files.read_text(lab_dir) is None
    files.makedirs(lab_dir, 0o700)
    assert files.read_text(lab_dir) == ""  # a directory exists but has no content
    path = lab_dir + "/config"
    files.write_text(path, "x\n", 0o600)
    assert files.read_text(path) == "x\n"
    assert stat.S_IMODE((tmp_path / "state" / "t1" / "config").stat().st_mode) == 0o600
    assert files.listdir(str(tmp_path / "state")) == ["t1"]
    assert files.listdir(str(tmp_path / "missing")) == []
    files.remove(path)
    assert files.read_text(path) is None
    files.rmtree(lab_dir)
    assert files.read_text(lab_dir) is None


def test_relay_script_compiles() -> None:
    compile(sshd.RELAY_SCRIPT, "tcp_relay.py", "exec")


def test_keygen_argv_has_no_passphrase() -> None:
    assert sshd.keygen_argv("/k", "c") == ("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "c", "-f", "/k")
