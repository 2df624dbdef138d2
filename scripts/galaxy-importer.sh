#!/usr/bin/env bash
# Run galaxy-importer (what Galaxy and Automation Hub run on upload) on the built tarball, offline,
# in its own pinned virtualenv. Fails on an import error, on any WARNING or ERROR line (ansible-lint
# findings included) and on a plugin or role without docs. Called by `make galaxy`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="$root/.build/galaxy-importer"
requirements="$root/requirements-galaxy-importer.txt"
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ]; then
  echo "galaxy: installing $(grep -i '^galaxy.importer' "$requirements") into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$work" "$root" >/dev/null
tarball=$(ls "$work"/netdevops-icmp-*.tar.gz)
# The importer calls ansible-doc and ansible-lint by name and writes importer_result.json to the
# working directory; its own ansible.cfg-free environment keeps the user's settings out.
(
  cd "$work"
  env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_CONFIG PATH="$venv/bin:$PATH" \
    GALAXY_IMPORTER_CONFIG="$root/tests/galaxy/galaxy-importer.cfg" \
    "$venv/bin/python" "$root/tests/galaxy/run_importer.py" "$tarball"
) > "$work/importer.log" 2>&1 || { cat "$work/importer.log"; echo "galaxy: the import failed"; exit 1; }
grep -v '^Loading ' "$work/importer.log"
"$venv/bin/python" "$root/tests/galaxy/check_import.py" "$work/importer.log" "$work/importer_result.json"
