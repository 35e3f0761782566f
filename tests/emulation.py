"""The CUDA pipeline of csrc/cuda compiled for the host SIMT emulator (tests/emulator).

``emulated_ops()`` builds, once per source change, every ``csrc/cuda/*.cu``
with ``CM_EMULATE`` by the host compiler into a library whose ops,
``torch.ops.clustering_metrics_emulated.*``, have the schemas of
``torch.ops.clustering_metrics.*`` and run the CUDA op bodies, launch code and
kernels on CPU tensors, each GPU thread a fiber of the emulator. Library
algorithms (CUB's sort, run-length encoding, ...) run as the plain host
implementations of device_algorithms.cuh.

``Emulator`` sets the emulated device and schedule and reads the launch
counts, through the library's C interface.
"""

import ctypes
import glob
import os
from typing import Dict

import torch
import torch.utils.cpp_extension

import clustering_metrics  # noqa: F401  (defines torch.ops.clustering_metrics, whose schemas are copied)
from clustering_metrics import _build_info, _C

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
EMULATOR = os.path.join(ROOT, "tests", "emulator")
NAMESPACE = "clustering_metrics_emulated"

_library = None


def _torch_target_flag() -> str:
    # The stable-ABI target the package was built for.
    major, minor = (int(part) for part in _build_info.TORCH_ABI_TARGET.split("."))
    return f"-DTORCH_TARGET_VERSION=0x{major:02x}{minor:02x}000000000000"


def _wrappers(build_dir: str):
    # One translation unit per .cu, as in the real build (their anonymous
    # namespaces may reuse names), compiled as C++.
    sources = []
    for cu in sorted(glob.glob(os.path.join(CSRC, "cuda", "*.cu"))):
        path = os.path.join(build_dir, "emulated_" + os.path.basename(cu)[:-3] + ".cpp")
        text = f'#include "{cu}"\n'
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as f:
                f.write(text)
        sources.append(path)
    return sources


class Emulator:
    def __init__(self, path: str):
        self._lib = ctypes.CDLL(path)
        self._lib.cm_emulator_launch_counts.restype = ctypes.c_size_t
        self._lib.cm_emulator_launch_counts.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

    def set_device(self, multiprocessors=3, shared_bytes_per_block=48 * 1024, shared_bytes_per_multiprocessor=100 * 1024,
                   max_blocks_per_multiprocessor=4) -> None:
        self._lib.cm_emulator_set_device(multiprocessors, shared_bytes_per_block, shared_bytes_per_multiprocessor,
                                         max_blocks_per_multiprocessor)

    def set_reverse_schedule(self, reverse: bool) -> None:
        self._lib.cm_emulator_set_reverse_schedule(int(reverse))

    def launch_counts(self) -> Dict[str, int]:
        size = self._lib.cm_emulator_launch_counts(None, 0)
        buffer = ctypes.create_string_buffer(size)
        self._lib.cm_emulator_launch_counts(buffer, size)
        return {name: int(count) for name, count in (line.split() for line in buffer.value.decode().splitlines())}

    def run_probe(self, name: str):
        """(failure message or None, the two int64 the probe kernel wrote) for a kernel of emulator_probes.cpp."""
        out = (ctypes.c_longlong * 2)()
        message = ctypes.create_string_buffer(1024)
        status = self._lib.cm_emulator_run_probe(name.encode(), out, message, len(message))
        if status < 0:
            raise ValueError(f"no emulator probe named {name!r}")
        return (message.value.decode() if status else None), list(out)


def launch_counts_so_far():
    """Kernel launches emulated in this process, by kernel; None when the library was never built."""
    return None if _library is None else _library[2].launch_counts()


def emulated_ops():
    """(torch.ops.clustering_metrics_emulated, Emulator), building the library on first use."""
    global _library
    if _library is None:
        if not os.path.isfile(os.path.join(CSRC, "cuda", "ops_cuda.cu")):
            raise RuntimeError(
                f"the emulator tests compile the CUDA sources of a source checkout, and {ROOT} has no csrc/cuda; "
                "run them from the repository (make test), not from an installed wheel"
            )
        build_dir = os.path.join(ROOT, "build", "emulator")
        os.makedirs(build_dir, exist_ok=True)
        definitions = torch.library.Library(NAMESPACE, "DEF")
        for name in _C.OP_NAMES:
            schema = str(getattr(torch.ops.clustering_metrics, name).default._schema)
            definitions.define(schema.split("::", 1)[1])
        path = torch.utils.cpp_extension.load(
            name="clustering_metrics_emulated",
            sources=_wrappers(build_dir)
            + [os.path.join(EMULATOR, "simt_emulator.cpp"), os.path.join(EMULATOR, "emulator_control.cpp"),
               os.path.join(EMULATOR, "emulator_probes.cpp")]
            + sorted(glob.glob(os.path.join(CSRC, "host", "*.cpp"))),
            extra_include_paths=[CSRC, EMULATOR],
            # -O1: the emulated kernels run fast enough, and build in a minute.
            extra_cflags=["-O1", "-DCM_EMULATE", "-fvisibility=hidden", "-Wno-unknown-pragmas", _torch_target_flag()],
            build_directory=build_dir,
            is_python_module=False,
            verbose=False,
        )
        _library = (definitions, getattr(torch.ops, NAMESPACE), Emulator(path))
    return _library[1], _library[2]
