"""Everything that ships to managed hosts imports and runs on every Python we claim (3.8-3.13).

The engine packages and the modules run on the host's interpreter, not the controller's.
Each interpreter found on this machine imports every engine module and exercises the
pure codecs once; interpreters that are not installed are skipped with a reason.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
ENGINES = ("_icmp", "_policy", "_lab")  # _report is controller-only: plugins/plugin_utils
VERSIONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")

SCRIPT = r"""
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
base = "ansible_collections.netdevops.icmp.plugins.module_utils."
count = 0
for engine in sys.argv[2:]:
    package = importlib.import_module(base + engine)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(base + engine + "." + info.name)
        count += 1
importlib.import_module(base + "_runner")
assert "ansible" not in sys.modules, "an engine imported ansible"
print(count)
"""


def _interpreter(version: str):
    """A working ``pythonX.Y``: on PATH, or in pyenv's versions directory (its shims
    refuse versions that are not selected)."""
    candidates = [shutil.which("python" + version)]
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(version + ".*/bin/python" + version))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True,
                                        check=False).returncode == 0:
            return candidate
    return None


def _engines() -> list:
    return [e for e in ENGINES if (ROOT / "plugins" / "module_utils" / e / "__init__.py").is_file()]


@pytest.mark.parametrize("version", VERSIONS)
def test_engines_import_on_python(version: str) -> None:
    interpreter = _interpreter(version)
    if interpreter is None:
        pytest.skip("python%s is not installed here" % version)
    engines = _engines()
    assert engines, "no engine package found"
    result = subprocess.run(
        [interpreter, "-I", "-c", SCRIPT, str(COLLECTIONS)] + engines,
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= len(engines)


def test_controller_python_is_in_range() -> None:
    assert (3, 11) <= sys.version_info[:2] < (3, 14)
