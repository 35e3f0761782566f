#!/usr/bin/env bash
# Builds the wheel and runs the test suite against it, installed in a fresh
# venv, with neither the source tree nor an editable install importable, so
# the tests see exactly what a user of the wheel gets.
#
# The venv uses --system-site-packages so torch, torchmetrics and the test
# dependencies come from the environment (`make test` installs them) rather
# than a second multi-GB download; the wheel, installed into the venv,
# shadows any clustering_metrics there. The build honours FORCE_ONLY_CPU,
# FORCE_CUDA, TORCH_CUDA_ARCH_LIST and MAX_JOBS like any setup.py build.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE_DIR=$PWD
PYTHON=${PYTHON:-python3}
unset PYTHONPATH

WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT

echo "== build the wheel"
# The wheel is assembled from build/lib*; clear it so files left there by an
# earlier build cannot slip in. build/temp* stays, so ninja reuses objects.
rm -rf build/lib.* build/bdist.*
"$PYTHON" -m pip wheel --no-build-isolation --no-deps -w "$WORK_DIR/dist" . > "$WORK_DIR/wheel.log" 2>&1 \
  || { cat "$WORK_DIR/wheel.log"; echo "check_wheel: the wheel build failed" >&2; exit 1; }
WHEELS=("$WORK_DIR"/dist/clustering_metrics-*.whl)
[[ ${#WHEELS[@]} -eq 1 && -f ${WHEELS[0]} ]] || { echo "check_wheel: expected one wheel, got: ${WHEELS[*]}" >&2; exit 1; }
WHEEL=${WHEELS[0]}
echo "built $(basename "$WHEEL")"
"$PYTHON" - "$WHEEL" <<'PY'
import re, sys, zipfile
if not any(re.fullmatch(r"clustering_metrics/_C\..*\.so", name) for name in zipfile.ZipFile(sys.argv[1]).namelist()):
    sys.exit("check_wheel: the wheel has no compiled clustering_metrics/_C library")
PY

echo "== install it into a fresh venv"
VENV=$WORK_DIR/venv
"$PYTHON" -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-index --no-deps --force-reinstall "$WHEEL"

# Everything below runs from a directory holding no package source.
RUN_DIR=$WORK_DIR/run
mkdir "$RUN_DIR"
cp -r "$SOURCE_DIR/tests" "$RUN_DIR/tests"
cp "$SOURCE_DIR/pyproject.toml" "$RUN_DIR/"  # pytest's settings (markers, -m 'not slow')
cd "$RUN_DIR"

"$VENV/bin/python" - "$VENV" <<'PY'
import importlib.metadata
import os
import sys

import torch

import clustering_metrics
from clustering_metrics import _build_info

venv = os.path.realpath(sys.argv[1])
location = os.path.realpath(clustering_metrics.__file__)
if not location.startswith(venv + os.sep):
    sys.exit(f"check_wheel: imported clustering_metrics from {location}, not from the wheel in {venv}")
requires = importlib.metadata.requires("clustering-metrics")
major_minor = ".".join(torch.__version__.split("+")[0].split(".")[:2])
if f"torch=={major_minor}.*" not in requires:
    sys.exit(f"check_wheel: the wheel's Requires-Dist {requires} does not pin torch=={major_minor}.*")
print(f"clustering_metrics {clustering_metrics.__version__} from {location}")
print(f"built against torch {_build_info.TORCH_VERSION} (CUDA kernels: {_build_info.WITH_CUDA}); requires {requires[0]}")
PY

echo "== the console script"
"$VENV/bin/python" -c 'import numpy as np; np.save("preds.npy", np.array([2, 1, 0, 1, 0])); np.save("target.npy", np.array([0, 2, 1, 1, 0]))'
"$VENV/bin/clustering-metrics" score preds.npy target.npy --json
rm preds.npy target.npy

echo "== the test suite against the installed wheel"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests
echo "wheel check passed"
