# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The judges of `make galaxy` and `make changelog` catch what they are there for."""
from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "galaxy" / ("%s.py" % name))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_changelog = _load("check_changelog")
check_import = _load("check_import")

GOOD = """v1.0.0
======

Release Summary
---------------

First release.

Minor Changes
-------------

- ping - many targets at once.

New Modules
-----------

- netdevops.icmp.ping - Send ICMP echo requests.

New Roles
---------

- netdevops.icmp.lab - Build a lab.
"""


def _collection(tmp_path: Path, text: str, summary: bool = True) -> Path:
    (tmp_path / "plugins" / "modules").mkdir(parents=True)
    (tmp_path / "plugins" / "modules" / "ping.py").write_text("", encoding="utf-8")
    (tmp_path / "roles" / "lab").mkdir(parents=True)
    (tmp_path / "changelogs").mkdir()
    changes = {"releases": {"1.0.0": {"changes": {"release_summary": "First release."} if summary else {}}}}
    (tmp_path / "changelogs" / "changelog.yaml").write_text(yaml.safe_dump(changes), encoding="utf-8")
    (tmp_path / "CHANGELOG.rst").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_clean_first_release_passes(tmp_path: Path) -> None:
    assert check_changelog.findings(_collection(tmp_path, GOOD), "1.0.0") == []


def test_internal_entries_bugfixes_and_missing_content_are_found(tmp_path: Path) -> None:
    text = GOOD.replace("- ping - many targets at once.\n",
                        "- netdevops.icmp - ``make test`` runs sanity in CI.\n\nBugfixes\n--------\n\n- x - y.\n")
    text = text.replace("- netdevops.icmp.lab - Build a lab.\n", "")
    found = check_changelog.findings(_collection(tmp_path, text, summary=False), "1.0.0")
    assert any(f.startswith("internal entry: - netdevops.icmp - ``make test``") for f in found)
    assert any("'Bugfixes'" in f for f in found)
    assert "role lab missing from New Roles" in found
    assert "release 1.0.0 has no release_summary" in found


def _result(**overrides: object) -> dict:
    contents = [{"content_type": "filter", "content_name": "plan_checks", "doc_strings": {"doc": {}}},
                {"content_type": "role", "content_name": "lab", "doc_strings": {}, "readme_file": "README.md",
                 "readme_html": "<h1>lab</h1>"}]
    contents += [dict(overrides)] if overrides else []
    return {"docs_blob": {"contents": contents}, "contents": [{"content_type": "role", "name": "lab", "description": "x"}]}


def test_import_judge_passes_a_clean_import() -> None:
    assert check_import.findings("Importing with galaxy-importer\nLoading filter plan_checks\n", _result()) == []


def test_import_judge_finds_warnings_and_undocumented_content() -> None:
    log = "WARNING: plugins/x.py:1: some-rule\nERROR: Timeout on call to ansible-lint\n"
    found = check_import.findings(log, _result(content_type="filter", content_name="drill", doc_strings=None))
    assert found[:2] == log.splitlines()
    assert "undocumented filter drill" in found
    readme_less = _result(content_type="role", content_name="firewall", doc_strings={}, readme_file=None)
    assert "role firewall has no README" in check_import.findings("", readme_less)
