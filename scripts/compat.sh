#!/usr/bin/env bash
# The unit layer and a smoke set of integration tests on the oldest ansible-core we support
# (meta/runtime.yml requires_ansible) and on the newest release in the package index that runs
# on this Python, each in its own virtualenv under .build/compat-<version>. Called by `make compat`.
#   CORES="2.16.19 2.19.14" scripts/compat.sh   other versions
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
floor=$(sed -n "s/^requires_ansible: '>=\([0-9.]*\)'.*/\1/p" meta/runtime.yml)
# The floor's newest patch release, pinned; the newest release as the index has it today.
floor_pin=2.19.14  # 2.16.19: units pass, the report action fails (see docs/development.md)
floor_minor=$(echo "$floor" | cut -d. -f1,2)
case "$floor_pin" in "$floor_minor".*) ;; *)
  echo "compat: meta/runtime.yml requires ansible-core >=$floor but scripts/compat.sh tests $floor_pin"; exit 1;;
esac
newest=$("$root/.venv/bin/python" -m pip index versions ansible-core 2>/dev/null | sed -n 's/^ansible-core (\(.*\))$/\1/p')
if [ -z "$newest" ]; then
  echo "compat: cannot ask the package index for the newest ansible-core"; exit 1
fi
read -r -a cores <<< "${CORES:-$floor_pin $newest}"
# Fast, loopback-only or namespace-free tests that go through ansible-playbook, the module
# runtime, role argument specs, filters and action plugins.
smoke=(
  tests/integration/test_galaxy.py
  "tests/integration/test_role_vars.py::test_pre_must_pass_as_a_string"
  "tests/integration/test_policy_ansible.py::test_rendered_and_parsed_never_touch_a_host"
  "tests/integration/test_ping_loopback.py::test_module_on_loopback_as_root"
)
failed=()
for core in "${cores[@]}"; do
  venv="$root/.build/compat-$core"
  if [ ! -f "$venv/.installed" ]; then
    echo "compat: installing ansible-core $core into $venv"
    if ! python3 -m venv "$venv" || ! "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        -r requirements-compat.txt "ansible-core==$core"; then
      failed+=("$core:install")
      continue
    fi
    touch "$venv/.installed"
  fi
  echo "=== ansible-core $core: unit ==="
  PYTHONPATH="$root" "$venv/bin/pytest" -q -n 2 -p tests.compat.core_shim tests/unit || failed+=("$core:unit")
  echo "=== ansible-core $core: integration smoke ==="
  PYTHONPATH="$root" "$venv/bin/pytest" -q -p tests.compat.core_shim "${smoke[@]}" || failed+=("$core:smoke")
done
echo "compat: ansible-core ${cores[*]}; failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
