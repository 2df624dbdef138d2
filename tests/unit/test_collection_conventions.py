# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What Galaxy, Automation Hub, AWX and module_defaults expect of the collection, checked offline."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


class _DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (ansible only warns)."""


def _mapping(loader: _DuplicateKeyLoader, node: yaml.MappingNode) -> t.Dict[t.Any, t.Any]:
    loader.flatten_mapping(node)  # resolve '<<:' merges first: a merged key may then be overridden
    seen: t.Set[t.Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
            raise yaml.constructor.ConstructorError(None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _ansible_yaml() -> t.List[Path]:
    found = []
    for top in ("roles", "playbooks", "meta", "extensions", "changelogs", "docs"):
        found += sorted((ROOT / top).rglob("*.yml"))
    return found


def test_duplicate_key_loader_catches_merge_then_override() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'op'"):
        yaml.load("a: &x {op: stage, node: h1}\nb:\n  <<: *x\n  op: remove\n  op: again\n", Loader=_DuplicateKeyLoader)
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'op'"):
        yaml.load("vars:\n  op: stage\n  op: remove\n", Loader=_DuplicateKeyLoader)


@pytest.mark.parametrize("path", _ansible_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_duplicate_mapping_keys(path: Path) -> None:
    """ansible warns 'Found duplicate mapping key' and silently keeps the last value."""
    list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_DuplicateKeyLoader))


def _plugin_doc(path: Path) -> t.Dict[str, t.Any]:
    if path.suffix == ".yml":
        return t.cast(t.Dict[str, t.Any], yaml.safe_load(path.read_text(encoding="utf-8"))["DOCUMENTATION"])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(x, "id", None) for x in node.targets] == ["DOCUMENTATION"]:
            return t.cast(t.Dict[str, t.Any], yaml.safe_load(ast.literal_eval(node.value)))
    return {}


def _documented_plugins() -> t.List[Path]:
    plugins = sorted((ROOT / "plugins" / "modules").glob("*.py")) + sorted((ROOT / "plugins" / "connection").glob("*.py"))
    return plugins + sorted((ROOT / "plugins" / "filter").glob("*.yml"))


@pytest.mark.parametrize("path", _documented_plugins(), ids=lambda p: p.name)
def test_every_plugin_has_version_added(path: Path) -> None:
    doc = _plugin_doc(path)
    assert doc, "%s has no DOCUMENTATION" % path
    assert str(doc.get("version_added")) == "1.0.0", path


def test_every_filter_file_is_documented() -> None:
    """Galaxy lists each plugins/filter/*.py as a filter named after the file; it must have docs."""
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        names = re.findall(r'"(\w+)": \w+', source.split("class FilterModule", 1)[-1])
        assert names == [path.stem], "%s must provide exactly the filter %r, got %r" % (path.name, path.stem, names)
        assert (path.with_suffix(".yml")).is_file() or "DOCUMENTATION" in source, path


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_role_entry_point_has_version_added(role: Path) -> None:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
    for entry, spec in specs.items():
        assert str(spec.get("version_added")) == "1.0.0", "%s entry point %s" % (role.name, entry)
        assert spec.get("short_description") and spec.get("options") is not None, entry


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_role_has_a_readme(role: Path) -> None:
    text = (role / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# netdevops.icmp.%s\n" % role.name)
    assert "## Variables" in text and "| Variable | Type | Default | Description |" in text
    assert "## Example play" in text and "```yaml" in text
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        assert isinstance(yaml.safe_load(block), list), "example plays are YAML lists"


def test_role_readme_tables_are_current() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "role_readme_tables.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def _bool_options(role: Path) -> t.Set[str]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
    return {name for spec in specs.values() for name, option in (spec.get("options") or {}).items()
            if option.get("type") == "bool"}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_boolean_role_variables_go_through_the_bool_filter(role: Path) -> None:
    """AWX surveys and -e key=value pass "false" as a string, which is truthy: always | bool."""
    for path in sorted((role / "tasks").glob("*.yml")):
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#"))
        for name in _bool_options(role):
            for match in re.finditer(r"\b%s\b(?!\s*\|\s*bool\b|=)" % re.escape(name), text):
                line = text.count("\n", 0, match.start()) + 1
                raise AssertionError("%s:%d uses %s without | bool" % (path.relative_to(ROOT), line, name))


def test_action_groups_only_hold_modules_that_share_options() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    groups = runtime["action_groups"]
    assert groups == {"probes": ["ping", "traceroute", "pmtud"]}
    options = {name: set(_plugin_doc(ROOT / "plugins" / "modules" / ("%s.py" % name)).get("options") or {})
               | set(_fragment_options(name)) for name in groups["probes"]}
    shared = set.intersection(*options.values())
    assert {"timeout", "family", "source", "interface", "privileged"} <= shared
    stats = set(_plugin_doc(ROOT / "plugins" / "modules" / "stats.py").get("options") or {})
    assert not stats & shared, "stats would fail with module_defaults of the probes group"


def test_modules_document_their_action_group() -> None:
    """attributes.action_group (as community.general does) names exactly the groups of meta/runtime.yml."""
    groups = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))["action_groups"]
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        member_of = sorted("netdevops.icmp.%s" % group for group, names in groups.items() if path.stem in names)
        attribute = (_plugin_doc(path).get("attributes") or {}).get("action_group")
        if not member_of:
            assert attribute is None, "%s is in no action group but documents one" % path.name
            continue
        assert attribute, "%s is in %s but has no attributes.action_group" % (path.name, member_of)
        assert sorted(attribute["membership"]) == member_of and attribute["support"] == "full", path.name
        assert all("group/%s" % group in attribute["description"] for group in member_of), path.name


def test_requires_ansible_is_the_floor_the_compat_layer_tests() -> None:
    """meta/runtime.yml states the floor scripts/compat.sh runs, and the guides say the same."""
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    floor = re.fullmatch(r">=(\d+)\.(\d+)\.0", runtime["requires_ansible"])
    assert floor, runtime["requires_ansible"]
    minor = "%s.%s" % floor.groups()
    pin = re.search(r"^floor_pin=(\S+)$", (ROOT / "scripts" / "compat.sh").read_text(encoding="utf-8"), re.M)
    assert pin and pin.group(1).startswith(minor + "."), "compat.sh must test the floor %s" % minor
    for guide in ("quickstart.md", "awx.md", "pipeline.md"):
        text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
        assert "ansible-core %s or later" % minor in text or "ansible-core>=%s" % minor in text, guide


def _fragment_options(module: str) -> t.Dict[str, t.Any]:
    doc = _plugin_doc(ROOT / "plugins" / "modules" / ("%s.py" % module))
    merged: t.Dict[str, t.Any] = {}
    for fragment in doc.get("extends_documentation_fragment") or []:
        parts = str(fragment).split(".")  # namespace.collection.fragment[.VARIANT]
        name, variant = parts[2], (parts[3] if len(parts) > 3 else "")
        source = (ROOT / "plugins" / "doc_fragments" / ("%s.py" % name))
        if not source.is_file():
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                target = getattr(node.targets[0], "id", "")
                if target == (variant.upper() or "DOCUMENTATION"):
                    merged.update((yaml.safe_load(node.value.value) or {}).get("options") or {})
    return merged


def test_docsite_lists_the_guides() -> None:
    extra = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text(encoding="utf-8"))
    listed = [name for section in extra["sections"] for name in section["toctree"]]
    for name in ("quickstart", "awx", "pipeline", "reports", "drills", "policy", "lab", "module_defaults"):
        assert name in listed
    for name in listed:
        text = (ROOT / "docs" / "docsite" / "rst" / ("%s.rst" % name)).read_text(encoding="utf-8")
        assert ".. _ansible_collections.netdevops.icmp.docsite.%s:" % name in text
    links = yaml.safe_load((ROOT / "docs" / "docsite" / "links.yml").read_text(encoding="utf-8"))
    assert links["edit_on_github"]["repository"] == "netdevops/netdevops.icmp"
