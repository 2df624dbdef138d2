"""The engine must run on hosts without Ansible: nothing under _icmp imports ansible."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[5] / "plugins" / "module_utils" / "_icmp"
FILES = sorted(ENGINE.glob("*.py"))


def test_engine_files_found() -> None:
    assert len(FILES) >= 9


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_ansible_import(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            assert top != "ansible", "%s imports %s" % (path.name, name)
            if top == "ansible_collections":
                assert "._icmp" in name, "%s imports %s, outside the engine" % (path.name, name)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_python38_syntax_and_future_annotations(path: Path) -> None:
    source = path.read_text()
    ast.parse(source, feature_version=(3, 8))
    assert "from __future__ import annotations" in source
    assert len(source.splitlines()) < 550, "engine files stay under about 500 lines"
