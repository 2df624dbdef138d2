# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory ``Files`` seam for the lab engine and module tests."""
from __future__ import annotations

import typing as t


class MemoryFiles:
    """The ``Files`` seam in memory: path -> content; directories are a set."""

    def __init__(self, files: t.Optional[t.Dict[str, str]] = None) -> None:
        self.files: t.Dict[str, str] = dict(files or {})
        self.dirs: t.Set[str] = set()
        self.modes: t.Dict[str, int] = {}

    def read_text(self, path: str) -> t.Optional[str]:
        if path in self.dirs:
            return ""
        return self.files.get(path)

    def write_text(self, path: str, content: str, mode: int) -> None:
        self.files[path] = content
        self.modes[path] = mode

    def makedirs(self, path: str, mode: int) -> None:
        self.dirs.add(path)
        self.modes[path] = mode

    def rmtree(self, path: str) -> None:
        self.dirs = {entry for entry in self.dirs if entry != path and not entry.startswith(path + "/")}
        self.files = {key: value for key, value in self.files.items() if not key.startswith(path + "/")}

    def remove(self, path: str) -> None:
        del self.files[path]

    def listdir(self, path: str) -> t.List[str]:
        found = {entry[len(path) + 1:].split("/")[0] for entry in list(self.dirs) + list(self.files)
                 if entry.startswith(path + "/")}
        return sorted(found)
