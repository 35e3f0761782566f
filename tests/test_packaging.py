"""The package's metadata and its guard for the torch it runs under (the stable ABI's floor)."""

import importlib.metadata
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import clustering_metrics
from clustering_metrics import _build_info, _loader


def test_loader_refuses_a_torch_older_than_the_abi_target(monkeypatch):
    monkeypatch.setattr(torch, "__version__", "2.9.1+cpu")
    with pytest.raises(ImportError) as error:
        _loader.load_library()
    message = str(error.value)
    assert f"needs torch >= {_build_info.TORCH_ABI_TARGET}" in message
    assert "torch 2.9.1+cpu is installed" in message


@pytest.mark.parametrize("version", ["2.10.0", "2.11.0+cu130", "2.14.1", "3.0.0"])
def test_loader_accepts_every_torch_from_the_abi_target_on(monkeypatch, version):
    monkeypatch.setattr(torch, "__version__", version)
    _loader.load_library()


def test_loader_explains_an_unbuilt_package(monkeypatch):
    # As if setup.py never generated _build_info.py: a None entry in
    # sys.modules makes the import raise ImportError.
    monkeypatch.delattr(clustering_metrics, "_build_info")
    monkeypatch.setitem(sys.modules, "clustering_metrics._build_info", None)
    with pytest.raises(ImportError, match="clustering_metrics is not built"):
        _loader.load_library()


def test_build_info_states_the_abi_target():
    assert _build_info.TORCH_ABI_TARGET == "2.10"
    assert isinstance(_build_info.BUILT_WITH_TORCH, str) and isinstance(_build_info.WITH_CUDA, bool)


def test_metadata_requires_torch_from_the_abi_target_on():
    requires = importlib.metadata.requires("clustering-metrics")
    assert f"torch>={_build_info.TORCH_ABI_TARGET}" in requires
    assert not any(r.startswith("torch==") for r in requires)


def test_the_library_uses_only_the_stable_abi_and_the_limited_api():
    # Every symbol the library imports from torch is one of the stable C
    # shim's (aoti_torch_*, torch_*), and from Python one of the limited
    # API's: no C++ symbol of at::, c10:: or torch:: (which change between
    # releases) is imported. nm comes with the linker that built the library.
    library = Path(clustering_metrics._C.__file__)
    assert library.name.endswith(".abi3.so"), library.name
    listing = subprocess.run(["nm", "-D", "--undefined-only", str(library)], capture_output=True, text=True,
                             check=True).stdout
    imported = [line.split()[-1] for line in listing.splitlines() if line.strip()]
    assert any(name.startswith("aoti_torch_") for name in imported)
    # libc's, libgcc's and libstdc++'s symbols carry versions (@GLIBC_...) or
    # are std:: ones (_ZSt..., _ZNSt..., _ZNKRSt...).
    from_torch_or_python = [name for name in imported if "@" not in name and not re.match(r"_ZN[KRO]*St|_ZSt", name)]
    unexpected = [name for name in from_torch_or_python
                  if not name.startswith(("aoti_torch_", "torch_", "Py", "_ITM_", "__gmon_start__"))
                  # Py_DECREF under the limited API calls this function of the stable ABI (since 3.8).
                  and name != "_Py_Dealloc"]
    assert not unexpected, unexpected
    assert not any(name.startswith(("_ZN2at", "_ZN3c10", "_ZN5torch")) for name in imported)


def test_compiled_ops_are_registered():
    mi = clustering_metrics.ops.mutual_info_score(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0]))
    # Labels in one-to-one correspondence: MI is the entropy of (2/3, 1/3).
    assert mi.dtype == torch.float64
    assert mi.item() == pytest.approx(math.log(3) - 2 / 3 * math.log(2), rel=1e-14)


# ------------------------------------------------------------- constants written once, in C++ or one file


def test_summary_fields_are_the_slots_the_extension_exports():
    from clustering_metrics.summary import slot_fields

    assert slot_fields() == (clustering_metrics._C.SUMMARY_INTEGER_SLOTS, clustering_metrics._C.SUMMARY_REAL_SLOTS)
    assert clustering_metrics.ops.NUM_SUMMARY_INTEGERS == len(clustering_metrics._C.SUMMARY_INTEGER_SLOTS) == 10
    summary = clustering_metrics.contingency_summary(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]))
    assert summary.integers.shape == (len(clustering_metrics._C.SUMMARY_INTEGER_SLOTS),)
    assert summary.reals.shape == (len(clustering_metrics._C.SUMMARY_REAL_SLOTS),)


def test_every_exported_op_has_a_wrapper_and_a_fake_kernel():
    from torch._library.simple_registry import singleton

    names = clustering_metrics._C.OP_NAMES
    assert sorted(clustering_metrics.ops.__all__) == sorted(names)
    for name in names:
        assert callable(getattr(clustering_metrics.ops, name))
        assert singleton.find(f"clustering_metrics::{name}").fake_impl.kernel is not None, name
        assert hasattr(torch.ops.clustering_metrics, name)


@pytest.mark.source_checkout
def test_the_torch_abi_target_is_written_once():
    # csrc/TORCH_ABI_TARGET is read by setup.py, CMakeLists.txt and torch_matrix.sh; the two
    # requirement lists that cannot read a file must name the same torch.
    root = Path(__file__).resolve().parent.parent
    target = (root / "csrc" / "TORCH_ABI_TARGET").read_text().strip()
    assert target == _build_info.TORCH_ABI_TARGET
    assert f'"torch>={target}"' in (root / "pyproject.toml").read_text()
    assert f'"torch>={target}"' in (root / "Makefile").read_text()


def test_functionals_ops_and_cli_load_no_torchmetrics_scipy_or_matplotlib():
    # The classes load torchmetrics (about a second: it imports scipy.signal) on first use only.
    script = (
        "import sys, torch\n"
        "import clustering_metrics, clustering_metrics.functional, clustering_metrics.ops, clustering_metrics.cli\n"
        "heavy = [m for m in ('torchmetrics', 'scipy', 'matplotlib', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from clustering_metrics import MutualInfoScore, SilhouetteScore\n"
        "assert 'torchmetrics' in sys.modules and MutualInfoScore.__module__ == 'clustering_metrics.metric'\n"
        "assert set(clustering_metrics.__all__) <= set(dir(clustering_metrics))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
