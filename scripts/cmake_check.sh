#!/usr/bin/env bash
# Configures, builds and tests the C++ library with CMake (CPU kernels), then
# installs it and builds a consumer project with find_package(clustering_metrics)
# to check the exported package config. Everything happens in a temp dir.
# Needs torch installed for `python` (as `make test` does) and the pip cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE_DIR=$PWD
PYTHON=${PYTHON:-python3}
JOBS=${MAX_JOBS:-2}

WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT

# Prefer the pip cmake: torch's CMake config sets CUDA20, which cmake 3.25
# (Debian's /usr/bin/cmake) rejects.
CMAKE_BIN_DIR=$("$PYTHON" -c 'import cmake; print(cmake.CMAKE_BIN_DIR)' 2>/dev/null || true)
if [[ -n "$CMAKE_BIN_DIR" ]]; then
  CMAKE=$CMAKE_BIN_DIR/cmake CTEST=$CMAKE_BIN_DIR/ctest
else
  CMAKE=$(command -v cmake || true) CTEST=$(command -v ctest || true)
fi
CMAKE_VERSION=$([[ -n "$CMAKE" ]] && "$CMAKE" --version | head -1 | awk '{print $3}' || true)
if [[ -z "$CMAKE_VERSION" || "$(printf '3.26\n%s\n' "$CMAKE_VERSION" | sort -V | head -1)" != 3.26 ]]; then
  echo "cmake_check: needs CMake >= 3.26 (found '${CMAKE_VERSION:-none}'); install it with: $PYTHON -m pip install 'cmake>=3.26'" >&2
  exit 1
fi
"$CMAKE" --version | head -1
GENERATOR=()
command -v ninja > /dev/null && GENERATOR=(-G Ninja)

TORCH_CMAKE_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_CUDA=$("$PYTHON" -c 'import torch; print(torch.version.cuda or "")')
echo "torch: $("$PYTHON" -c 'import torch; print(torch.__version__)') at $TORCH_CMAKE_PREFIX"

CMAKE_ARGS=("${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$TORCH_CMAKE_PREFIX")
if [[ -n "$TORCH_CUDA" ]]; then
  # TorchConfig of a CUDA torch enables CUDA even for this CPU-only build: it
  # needs the toolkit root (the nvcc on PATH may be a wrapper that misleads
  # it) and the libnvrtc that the torch wheel ships under nvidia/cu*/lib.
  CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
  NVRTC=$("$PYTHON" - <<'PY'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
found = sorted(glob.glob(os.path.join(site, "nvidia", "cu*", "lib", "libnvrtc.so*")) +
               glob.glob(os.path.join(site, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so*")))
print(found[0] if found else "")
PY
)
  CMAKE_ARGS+=("-DCUDA_TOOLKIT_ROOT_DIR=$CUDA_HOME" "-DCMAKE_CUDA_COMPILER=$CUDA_HOME/bin/nvcc")
  [[ -n "$NVRTC" ]] && CMAKE_ARGS+=("-DCUDA_nvrtc_LIBRARY=$NVRTC")
  echo "CUDA torch: toolkit $CUDA_HOME, nvrtc ${NVRTC:-from the toolkit}"
fi

echo "== configure, build and test the library"
"$CMAKE" -S "$SOURCE_DIR" -B "$WORK_DIR/build" "${CMAKE_ARGS[@]}" > "$WORK_DIR/configure.log" 2>&1 \
  || { cat "$WORK_DIR/configure.log"; exit 1; }
"$CMAKE" --build "$WORK_DIR/build" --parallel "$JOBS"
"$CTEST" --test-dir "$WORK_DIR/build" --output-on-failure

echo "== install, then build and test a find_package(clustering_metrics) consumer"
"$CMAKE" --install "$WORK_DIR/build" --prefix "$WORK_DIR/prefix" > /dev/null
"$CMAKE" -S "$SOURCE_DIR/tests/cpp/consumer" -B "$WORK_DIR/consumer" "${CMAKE_ARGS[@]}" \
  "-DCMAKE_PREFIX_PATH=$WORK_DIR/prefix;$TORCH_CMAKE_PREFIX" > "$WORK_DIR/consumer.log" 2>&1 \
  || { cat "$WORK_DIR/consumer.log"; exit 1; }
"$CMAKE" --build "$WORK_DIR/consumer" --parallel "$JOBS"
"$CTEST" --test-dir "$WORK_DIR/consumer" --output-on-failure
echo "cmake check passed"
