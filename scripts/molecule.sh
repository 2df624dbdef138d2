#!/usr/bin/env bash
# Run every Molecule scenario under extensions/molecule (collection mode). The scenarios'
# instances are lab network namespaces, so they need root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "molecule: skipped: the scenarios build network namespaces, which needs root"
  exit 0
fi
if ! compgen -G "extensions/molecule/*/molecule.yml" >/dev/null; then
  echo "molecule: no scenarios under extensions/molecule"
  exit 0
fi
# molecule and ansible-compat call ansible-config, ansible-playbook ... by name.
export PATH="$PWD/.venv/bin:$PATH"
exec molecule test --all
