"""The portability layer is free under nvcc: a kernel written through csrc/simt/simt.h
compiles to the same SASS as the same kernel written with CUDA's built-ins.

Needs nvcc and cuobjdump (a CUDA toolkit, or triton's copy of cuobjdump), not a GPU;
CI has both, and with CLUSTERING_METRICS_REQUIRE_CUDA_BUILD=1 their absence fails.
"""

import importlib.util
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "tests", "simt", "layer_against_intrinsics.cu")
pytestmark = pytest.mark.source_checkout


def _tool(name, find):
    path = find()
    if path is None:
        if os.environ.get("CLUSTERING_METRICS_REQUIRE_CUDA_BUILD") == "1":
            pytest.fail(f"CLUSTERING_METRICS_REQUIRE_CUDA_BUILD=1 but {name} was not found")
        pytest.skip(f"{name} not found")
    return path


def _nvcc():
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    candidate = os.path.join(cuda_home, "bin", "nvcc")
    return candidate if os.path.exists(candidate) else shutil.which("nvcc")


def _cuobjdump():
    spec = importlib.util.spec_from_file_location("kernel_resources", os.path.join(ROOT, "scripts", "kernel_resources.py"))
    kernel_resources = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kernel_resources)
    try:
        return kernel_resources.find_cuobjdump()
    except SystemExit:
        return None


def _sass_by_function(cubin, cuobjdump):
    """{function: [instruction, ...]}, the instructions without their addresses and encodings."""
    listing = subprocess.run([cuobjdump, "-sass", cubin], check=True, capture_output=True, text=True).stdout
    functions, current = {}, None
    for line in listing.splitlines():
        header = re.match(r"\s*Function : (\w+)", line)
        if header:
            current = functions.setdefault(header.group(1), [])
            continue
        instruction = re.match(r"\s*/\*[0-9a-f]{4,}\*/\s+(.*?)\s*;", line)
        if instruction and current is not None:
            current.append(instruction.group(1))
    return functions


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_the_layer_compiles_to_the_same_sass_as_the_intrinsics(tmp_path, arch):
    nvcc, cuobjdump = _tool("nvcc", _nvcc), _tool("cuobjdump", _cuobjdump)
    cubin = str(tmp_path / "layer.cubin")
    subprocess.run([nvcc, "-cubin", f"-arch={arch}", "-O3", "-std=c++20", "-I", os.path.join(ROOT, "csrc"), "-o", cubin,
                    SOURCE], check=True, capture_output=True)
    functions = _sass_by_function(cubin, cuobjdump)
    assert set(functions) == {"through_layer", "through_intrinsics"}, set(functions)
    layer, intrinsics = functions["through_layer"], functions["through_intrinsics"]
    # The listing really holds the body: the warp collectives, the barrier and the atomics.
    for opcode in ("MATCH.ANY", "VOTE", "SHFL.BFLY", "BAR.SYNC", "ATOMS", "POPC"):
        assert any(opcode in i for i in intrinsics), (opcode, intrinsics)
    assert layer == intrinsics
