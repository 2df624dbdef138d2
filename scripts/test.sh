#!/usr/bin/env bash
# Every test layer, in order; a failed layer does not hide the later ones, and the
# exit code is non-zero when any layer failed. Called by `make test` (after set-up).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
layers=(unit vendor sanity lint changelog galaxy docs integration molecule compat)
failed=()
passed=()
started=$(date +%s)
for layer in "${layers[@]}"; do
  echo
  echo "=== make $layer ==="
  t0=$(date +%s)
  if make --no-print-directory "$layer"; then
    passed+=("$layer")
    echo "=== $layer: ok ($(( $(date +%s) - t0 )) s) ==="
  else
    failed+=("$layer")
    echo "=== $layer: FAILED ($(( $(date +%s) - t0 )) s) ==="
  fi
done
echo
echo "test layers passed: ${passed[*]:-none}; failed: ${failed[*]:-none}; $(( $(date +%s) - started )) s in all"
echo "layers: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
