"""The collection builds, installs from its tarball, and every plugin's docs render."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLUGIN_TYPES = ("module", "connection", "filter", "lookup", "callback", "inventory")


def _run(argv, env=None, cwd=None):
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    dest = tmp_path_factory.mktemp("collections")
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)])
    (tarball,) = out.glob("netdevops-icmp-*.tar.gz")
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", "-p", str(dest), str(tarball)])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    return tarball, dest, env


def test_tarball_leaves_out_development_files(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "galaxy.yml" not in names  # replaced by MANIFEST.json
    assert "MANIFEST.json" in names
    for prefix in ("tests/", ".venv/", ".build/", "benchmarks/", ".ci/"):
        assert not [n for n in names if n.startswith(prefix)], prefix


def _plugins(env, plugin_type):
    listed = _run([str(BIN / "ansible-doc"), "-t", plugin_type, "-l", "--json", "netdevops.icmp"], env=env)
    return sorted(json.loads(listed.stdout))


def test_every_plugin_documents_itself(installed):
    env = installed[2]
    seen = 0
    for plugin_type in PLUGIN_TYPES:
        for name in _plugins(env, plugin_type):
            doc = _run([str(BIN / "ansible-doc"), "-t", plugin_type, "--json", name], env=env)
            data = json.loads(doc.stdout)[name]["doc"]
            assert data["short_description"], name
            assert data.get("description"), name
            seen += 1
    assert seen >= 1


def test_netns_connection_doc_renders(installed):
    env = installed[2]
    text = _run([str(BIN / "ansible-doc"), "-t", "connection", "netdevops.icmp.netns"], env=env).stdout
    assert "network namespace" in text.lower()


def test_roles_have_argument_specs(installed):
    dest, env = installed[1], installed[2]
    roles = sorted(p.name for p in (dest / "ansible_collections/netdevops/icmp/roles").iterdir())
    assert roles
    for role in roles:
        spec = dest / "ansible_collections/netdevops/icmp/roles" / role / "meta/argument_specs.yml"
        assert spec.is_file(), role
        _run([str(BIN / "ansible-doc"), "-t", "role", "netdevops.icmp." + role], env=env)
