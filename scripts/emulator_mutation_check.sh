#!/usr/bin/env bash
# Shows that the emulated kernel tests catch real kernel bugs: plants one
# bug at a time in a scratch copy of the source (never in this tree), runs
# tests/test_cuda_emulation.py there, and reports how many tests failed and
# the first failure. Every plant must fail tests; the script exits non-zero
# if one does not.
#
#   scripts/emulator_mutation_check.sh
#
# Needs the package built in place (clustering_metrics/_C*.so): the CPU ops
# are the reference the emulated kernels are compared with.
set -uo pipefail
SOURCE=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# name|file|exact text|replacement
PLANTS=(
  "barrier removed after zeroing the shared histogram|csrc/cuda/dense_counting.cuh|shared_counts[c] = 0;
  simt::sync_block();|shared_counts[c] = 0;"
  "barrier removed in the summary's block reduction|csrc/cuda/ordered_reduction.cuh|values[t] = mine;
  simt::sync_block();|values[t] = mine;"
  "off by one at the tail of the grid-stride loop|csrc/cuda/cuda_utils.cuh|const bool valid = i < n;|const bool valid = i <= n;"
  "wrong match_any leader|csrc/cuda/dense_counting.cuh|lane) == simt::lowest_set_lane(peers)|lane) == simt::lowest_set_lane(peers) + 1"
)

status=0
for plant in "${PLANTS[@]}"; do
  IFS='|' read -r -d '' name file text replacement <<<"$plant" || true
  replacement=${replacement%$'\n'}
  copy="$SCRATCH/copy"
  rm -rf "$copy" && mkdir -p "$copy"
  (cd "$SOURCE" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$copy"
  cp "$SOURCE"/clustering_metrics/_C*.so "$SOURCE"/clustering_metrics/_build_info.py "$copy/clustering_metrics/"
  "$PYTHON" - "$copy/$file" "$text" "$replacement" <<'PY' || { echo "plant '$name': text not found in $file" >&2; exit 1; }
import sys
path, text, replacement = sys.argv[1:]
source = open(path).read()
assert source.count(text) == 1, source.count(text)
open(path, "w").write(source.replace(text, replacement))
PY
  echo "== planted: $name ($file)"
  (cd "$copy" && diff -u "$SOURCE/$file" "$file" | tail -n +3 | grep '^[-+]')
  output=$(cd "$copy" && "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda_emulation.py 2>&1)
  rc=$?
  echo "$output" | grep -m1 -E "^E +(RuntimeError|AssertionError)" | cut -c1-240
  if ((rc == 1)); then
    echo "   caught: $(echo "$output" | tail -1)"
  elif ((rc != 0)); then
    # Reading past the end of a host buffer can crash the emulated run
    # outright: the suite fails all the same.
    echo "   caught: the test run crashed (exit $rc): $(echo "$output" | grep -m1 -E "Fatal Python error|Segmentation" )"
  else
    echo "   NOT CAUGHT: every test passed" >&2
    status=1
  fi
done
exit $status
