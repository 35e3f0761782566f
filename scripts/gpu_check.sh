#!/usr/bin/env bash
# GPU check for a machine with a GPU and torch but no network: installs the
# package (the given wheel, the same file that was tested here under other
# torch versions, or else a build from source, which needs nvcc), runs the
# CUDA tests and the CPU suite (without the kernel emulator's tests: the
# kernels run for real here), runs compute-sanitizer memcheck on a small
# case, runs the GPU benchmark and the metric-update benchmark (with CUDA-
# graph replay of bounded updates), and writes OUTDIR/gpu_check.log and
# OUTDIR/gpu_check.md (a results table). Every step has a time limit drawn
# from one overall budget of 7 minutes (GPU_CHECK_BUDGET_S; a build from
# source alone gets GPU_CHECK_BUILD_S, default 240).
#
#   scripts/gpu_check.sh OUTDIR [WHEEL]
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 OUTDIR [WHEEL]" >&2
  exit 2
fi
WHEEL="${2:+$(realpath "$2")}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
OUTDIR="$(cd "$1" && pwd)"
LOG="$OUTDIR/gpu_check.log"
SUMMARY="$OUTDIR/gpu_check.md"
PYTHON="${PYTHON:-python}"
BUDGET_S="${GPU_CHECK_BUDGET_S:-420}"
START=$(date +%s)
: >"$LOG"
ROWS=()
FAILED=0

log() { echo "[$(date +%T)] $*" | tee -a "$LOG"; }

# Seconds a step may take: its own cap, or what is left of the budget.
step_limit() {
  local cap=$1 left=$((BUDGET_S - ($(date +%s) - START)))
  ((left < cap)) && cap=$left
  ((cap < 1)) && cap=1
  echo "$cap"
}

# run_step NAME CAP_SECONDS COMMAND...: runs in $OUTDIR (so the installed
# package is imported, not the source tree), logs, and records a table row.
run_step() {
  local name=$1 cap
  cap=$(step_limit "$2")
  shift 2
  log "== $name (limit ${cap}s): $*"
  local begin=$(date +%s)
  (cd "$OUTDIR" && timeout --kill-after=10 "$cap" "$@") >>"$LOG" 2>&1
  local rc=$? seconds=$(($(date +%s) - begin)) status=pass
  if ((rc == 124 || rc == 137)); then
    status="TIMEOUT after ${cap}s"
    FAILED=1
  elif ((rc == 5)) && [[ "$name" == pytest* ]]; then
    status="no tests collected"
  elif ((rc != 0)); then
    status="FAIL (exit $rc)"
    FAILED=1
  fi
  log "== $name: $status in ${seconds}s"
  ROWS+=("| $name | $status | $seconds |")
}

skip_step() {
  log "== $1: skipped ($2)"
  ROWS+=("| $1 | skipped: $2 | 0 |")
}

# The toolkit root: CUDA_HOME, else /usr/local/cuda, else the nvcc on PATH
# resolved through symlinks (a wrapper script there would mislead torch).
if [[ -z "${CUDA_HOME:-}" ]]; then
  if [[ -x /usr/local/cuda/bin/nvcc ]]; then
    CUDA_HOME=/usr/local/cuda
  elif command -v nvcc >/dev/null; then
    CUDA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
  fi
fi
export CUDA_HOME
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
export FORCE_CUDA=1
export CLUSTERING_METRICS_REQUIRE_CUDA_BUILD=1

log "repo $REPO, CUDA_HOME=${CUDA_HOME:-unset}, MAX_JOBS=$MAX_JOBS"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >>"$LOG" 2>&1
DEVICE="$("$PYTHON" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU visible")' 2>>"$LOG")"
TORCH="$("$PYTHON" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>>"$LOG")"
log "device: $DEVICE; torch $TORCH"

if [[ -n "$WHEEL" ]]; then
  # The stable-ABI wheel loads under this machine's torch, whatever its version.
  run_step "install $(basename "$WHEEL")" 60 "$PYTHON" -m pip install --no-deps --no-index --force-reinstall "$WHEEL"
else
  # With a GPU visible, setup.py builds for that GPU's architecture only.
  run_step "build + install" "${GPU_CHECK_BUILD_S:-240}" "$PYTHON" -m pip install --no-build-isolation --no-deps --no-index -v "$REPO"
fi
run_step "import check" 30 "$PYTHON" -c \
  'import clustering_metrics as c, clustering_metrics._build_info as b; print(c.__file__, "WITH_CUDA", b.WITH_CUDA); assert b.WITH_CUDA'

PYTEST=("$PYTHON" -m pytest --rootdir "$REPO" -p no:cacheprovider -q -rfEs)
run_step "pytest tests/test_cuda.py" 180 "${PYTEST[@]}" --junitxml "$OUTDIR/test_cuda.xml" "$REPO/tests/test_cuda.py"
run_step "pytest CPU suite" 90 "${PYTEST[@]}" --junitxml "$OUTDIR/test_cpu.xml" "$REPO/tests" \
  --ignore "$REPO/tests/test_cuda.py" --ignore "$REPO/tests/test_cuda_emulation.py"

if [[ -f "$REPO/benchmarks/bench.py" ]]; then
  run_step "benchmark" 200 "$PYTHON" "$REPO/benchmarks/bench.py" --device cuda --sizes 100000000 \
    --clusters 10,1000,100000 --dtypes int64 --peers ours,torchmetrics,floor --repeats 10 --out "$OUTDIR"
else
  skip_step "benchmark" "benchmarks/bench.py not found"
fi

run_step "metric updates" 60 sh -c '"$0" "$1" --device cuda --repeats 3 > metric_updates.md' \
  "$PYTHON" "$REPO/benchmarks/metric_updates.py"

SANITIZER="$(command -v compute-sanitizer || true)"
for candidate in "${CUDA_HOME:-}/bin/compute-sanitizer" "${CUDA_HOME:-}/compute-sanitizer/compute-sanitizer"; do
  [[ -z "$SANITIZER" && -x "$candidate" ]] && SANITIZER="$candidate"
done
if [[ -n "$SANITIZER" ]]; then
  # Without the caching allocator every buffer is its own allocation, so an
  # out-of-bounds access cannot land silently in a neighbouring one.
  run_step "compute-sanitizer memcheck" 90 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 \
    "$SANITIZER" --tool memcheck --error-exitcode 1 "$PYTHON" "$REPO/scripts/gpu_sanitizer_case.py"
else
  skip_step "compute-sanitizer memcheck" "compute-sanitizer not found"
fi

{
  echo "# GPU check"
  echo
  echo "- device: $DEVICE"
  echo "- torch: $TORCH"
  echo "- commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- total: $(($(date +%s) - START)) s; full output in gpu_check.log"
  echo
  echo "| step | result | seconds |"
  echo "|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [[ -f "$OUTDIR/results.md" ]]; then
    echo
    echo "## Benchmark"
    echo
    cat "$OUTDIR/results.md"
  fi
  if [[ -f "$OUTDIR/metric_updates.md" ]]; then
    echo
    echo "## Metric updates"
    echo
    cat "$OUTDIR/metric_updates.md"
  fi
} >"$SUMMARY"
log "summary written to $SUMMARY"
cat "$SUMMARY"
exit "$FAILED"
