# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the CHANGELOG.rst of a dry release: what users read, and nothing internal.

Usage: check_changelog.py COLLECTION_DIR VERSION (exit 1 with the findings).
"""
from __future__ import annotations

import re
import sys
import typing as t
from pathlib import Path

import yaml

# Words that only matter to the collection's developers: test layers, CI, make targets.
INTERNAL = re.compile(r"make (demo|test|lint|unit|sanity)|\bsanity\b|ansible-test|\bCI\b|\.ci/|pytest|molecule"
                      r"|unit tests?|integration tests?|ansible-lint|\bMakefile\b", re.I)
FIRST_RELEASE_FORBIDDEN = ("Bugfixes", "Breaking Changes", "Deprecated Features", "Removed Features")


def _entries(text: str) -> t.List[str]:
    return [" ".join(block.split()) for block in re.split(r"\n(?=- )", text) if block.startswith("- ")]


def findings(root: Path, version: str) -> t.List[str]:
    text = (root / "CHANGELOG.rst").read_text(encoding="utf-8")
    changes = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    found = []
    if version not in (changes.get("releases") or {}):
        found.append("changelogs/changelog.yaml has no release %s" % version)
    release = (changes.get("releases") or {}).get(version) or {}
    if not (release.get("changes") or {}).get("release_summary"):
        found.append("release %s has no release_summary" % version)
    if "v%s\n" % version not in text or "Release Summary" not in text:
        found.append("CHANGELOG.rst has no v%s section with a Release Summary" % version)
    if not (changes.get("releases") or {}).keys() - {version}:  # the first release
        found += ["first release with a %r section (pre-release fixes are not changes of a release)" % name
                  for name in FIRST_RELEASE_FORBIDDEN if "\n%s\n---" % name in text]
    found += ["internal entry: %s" % entry[:120] for entry in _entries(text) if INTERNAL.search(entry)]
    for kind, directory, heading in (("module", "plugins/modules", "New Modules"), ("role", "roles", "New Roles")):
        names = sorted(p.stem if kind == "module" else p.name for p in (root / directory).iterdir()
                       if not p.name.startswith(("_", ".")) and (kind == "role" or p.suffix == ".py"))
        section = text.split("\n%s\n" % heading, 1)[-1] if "\n%s\n" % heading in text else ""
        found += ["%s %s missing from %s" % (kind, name, heading) for name in names
                  if "- netdevops.icmp.%s - " % name not in section]
    return found


def main(argv: t.List[str]) -> int:
    problems = findings(Path(argv[1]), argv[2])
    for problem in problems:
        print("changelog: %s" % problem)
    print("changelog: %s" % ("FAILED" if problems else "dry release %s ok" % argv[2]))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
