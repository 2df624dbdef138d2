#!/usr/bin/env bash
# The collection's release notes with antsibull-changelog.
#   scripts/release.sh          release the version in galaxy.yml: changelogs/changelog.yaml gets the
#                               release, CHANGELOG.rst is written, the fragments are removed (make release)
#   scripts/release.sh --check  lint the fragments and do that release in a temporary copy, then check
#                               the CHANGELOG.rst it produced (make changelog; a layer of make test)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin="$root/.venv/bin"
version=$("$bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
# antsibull-changelog lists new plugins and roles with ansible-doc, found by name on PATH.
export PATH="$bin:$PATH"

"$bin/antsibull-changelog" lint
if [ "${1:-}" != "--check" ]; then
  export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
  mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/netdevops"
  ln -sfn "$root" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/netdevops/icmp"
  "$bin/antsibull-changelog" release --version "$version"
  echo "release $version: changelogs/changelog.yaml and CHANGELOG.rst written; commit them with the removed fragments"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy="$work/ansible_collections/netdevops/icmp"
mkdir -p "$copy"
# Tracked and new (not ignored) files only: what a clone would hold.
git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done \
  | tar -cf - -T - | tar -xf - -C "$copy"
(cd "$copy" && ANSIBLE_COLLECTIONS_PATH="$work" "$bin/antsibull-changelog" release --version "$version")
"$bin/python" "$root/tests/galaxy/check_changelog.py" "$copy" "$version"
