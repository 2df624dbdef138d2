"""The engine must run on hosts without Ansible: nothing under _icmp imports ansible."""
from __future__ import annotations

import ast
import typing as t
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


def _imports(path: Path) -> t.Set[str]:
    names: t.Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add(module)
            names.update("%s.%s" % (module, alias.name) for alias in node.names)
    return names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_only_the_transport_touches_sockets(path: Path) -> None:
    """One socket layer: every socket, poll and receive loop of the engine is in transport.py."""
    if path.name == "transport.py":
        return
    touched = {name for name in _imports(path) if name.split(".")[0] in ("socket", "select", "selectors")}
    assert not touched, "%s imports %s; sockets belong in transport.py" % (path.name, sorted(touched))


@pytest.mark.parametrize("name", ["codec.py", "matching.py", "kernel.py", "probes.py"])
def test_pure_layers_do_not_import_the_algorithms(name: str) -> None:
    """codec -> matching -> transport/scheduler -> ping/traceroute/pmtud: imports point inward."""
    algorithms = ("._icmp.ping", "._icmp.traceroute", "._icmp.pmtud", "._icmp.scheduler")
    imported = [n for n in _imports(ENGINE / name) if n.endswith(algorithms) or any(a + "." in n for a in algorithms)]
    assert not imported, "%s imports %s" % (name, imported)
