#!/usr/bin/env bash
# The unit layer and a smoke set of integration tests on the oldest ansible-core we support
# (meta/runtime.yml requires_ansible) and on the newest release in the package index, each in
# its own virtualenv under .build/compat-<version>-py<python>. Called by `make compat`.
#   CORES="2.17.14 2.18.19" scripts/compat.sh   other versions (on the floor's Python)
#   NEWEST_PYTHON=/usr/bin/python3.13 scripts/compat.sh   the Python for the newest core
# Only the package index is asked (pip); no other network access.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
floor=$(sed -n "s/^requires_ansible: '>=\([0-9.]*\)'.*/\1/p" meta/runtime.yml)
# The floor's newest patch release, pinned. ansible-core 2.16 runs on Python 3.10 to 3.12.
floor_pin=2.16.19
floor_python=${FLOOR_PYTHON:-python3}
floor_minor=$(echo "$floor" | cut -d. -f1,2)
case "$floor_pin" in "$floor_minor".*) ;; *)
  echo "compat: meta/runtime.yml requires ansible-core >=$floor but scripts/compat.sh tests $floor_pin"; exit 1;;
esac

# ansible-core 2.20 and later need Python 3.12 or later: the newest core runs on the newest
# Python found (pyenv's, as on this image and in CI, or python3.13/python3.12 on PATH).
newest_python=${NEWEST_PYTHON:-}
if [ -z "$newest_python" ]; then
  for candidate in /root/.pyenv/versions/3.13.*/bin/python3 /root/.pyenv/versions/3.12.*/bin/python3 \
      "$(command -v python3.13 || true)" "$(command -v python3.12 || true)"; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
      newest_python=$candidate
      break
    fi
  done
fi
if [ -z "$newest_python" ]; then
  echo "compat: no Python 3.12 or later found (pyenv 3.13/3.12, python3.13, python3.12; or set NEWEST_PYTHON);"
  echo "compat: ansible-core 2.20 and later need one, so 'newest' is the newest release for $floor_python instead"
  newest_python=$floor_python
fi
newest=$("$newest_python" -m pip index versions ansible-core 2>/dev/null | sed -n 's/^ansible-core (\(.*\))$/\1/p')
if [ -z "$newest" ]; then
  echo "compat: cannot ask the package index for the newest ansible-core (with $newest_python -m pip)"; exit 1
fi

# "core python" pairs; CORES runs each given core on the floor's Python.
if [ -n "${CORES:-}" ]; then
  runs=()
  for core in $CORES; do runs+=("$core $floor_python"); done
else
  runs=("$floor_pin $floor_python" "$newest $newest_python")
fi
# Fast, loopback-only or namespace-free tests that go through ansible-playbook, the module
# runtime, role argument specs, filters and action plugins (the report action included).
smoke=(
  tests/integration/test_galaxy.py
  "tests/integration/test_role_vars.py::test_pre_must_pass_as_a_string"
  "tests/integration/test_policy_ansible.py::test_rendered_and_parsed_never_touch_a_host"
  "tests/integration/test_ping_loopback.py::test_module_on_loopback_as_root"
)
failed=()
tested=()
for run in "${runs[@]}"; do
  read -r core python <<< "$run"
  if ! py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    echo "compat: $python does not run; skipping ansible-core $core"
    failed+=("$core:python")
    continue
  fi
  venv="$root/.build/compat-$core-py$py_version"
  tested+=("$core(py$py_version)")
  if [ ! -f "$venv/.installed" ] || ! cmp -s requirements-compat.txt "$venv/.installed"; then
    echo "compat: installing ansible-core $core for Python $py_version into $venv"
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" || ! "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        -r requirements-compat.txt "ansible-core==$core"; then
      failed+=("$core:install")
      continue
    fi
    cp requirements-compat.txt "$venv/.installed"
  fi
  echo "=== ansible-core $core, Python $py_version: unit ==="
  PYTHONPATH="$root" "$venv/bin/pytest" -q -n 2 -p tests.compat.core_shim tests/unit || failed+=("$core:unit")
  echo "=== ansible-core $core, Python $py_version: integration smoke ==="
  PYTHONPATH="$root" "$venv/bin/pytest" -q -p tests.compat.core_shim "${smoke[@]}" || failed+=("$core:smoke")
done
echo "compat: ansible-core ${tested[*]}; failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
