#!/usr/bin/env bash
# Run `ansible-test sanity` offline on a copy of the collection laid out as
# ansible_collections/netdevops/icmp (where ansible-test insists it lives).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
work="$root/.build/sanity/ansible_collections/netdevops/icmp"
pip_version=$("$bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import PythonConfig
class _P:  # the default pip pin does not depend on the interpreter version
    version = "3.11"
print(get_venv_packages(_P())["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$root/tests/sanity/get_pip_offline.py" "$cache"

rm -rf "$work"
mkdir -p "$work"
# Tracked and new (not ignored) files only: what a clone would hold.
(cd "$root" && git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done | tar -cf - -T -) | tar -xf - -C "$work"
cd "$work"
git init -q && git add -A && git -c user.email=ci@example.invalid -c user.name=ci commit -qm sanity
python_version=$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
exec "$bin/ansible-test" sanity --color no --python "$python_version" "$@"
