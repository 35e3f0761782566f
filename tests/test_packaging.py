"""The package's guard against, and its metadata for, the torch it was compiled with."""

import importlib.metadata
import math
import sys

import pytest
import torch

import clustering_metrics
from clustering_metrics import _build_info, _loader


def _major_minor(version):
    return ".".join(version.split("+")[0].split(".")[:2])


def test_loader_refuses_another_torch_minor(monkeypatch):
    monkeypatch.setattr(_build_info, "TORCH_VERSION", "1.13.1")
    with pytest.raises(ImportError) as error:
        _loader.load_library()
    message = str(error.value)
    assert f"built against torch 1.13.1 but torch {torch.__version__} is installed" in message
    assert "pip install --no-build-isolation --force-reinstall --no-deps ." in message


def test_loader_accepts_another_patch_release(monkeypatch):
    # The C++ ABI is kept within a minor release, so only major.minor must match.
    monkeypatch.setattr(_build_info, "TORCH_VERSION", _major_minor(torch.__version__) + ".99+other")
    _loader.load_library()


def test_loader_explains_an_unbuilt_package(monkeypatch):
    # As if setup.py never generated _build_info.py: a None entry in
    # sys.modules makes the import raise ImportError.
    monkeypatch.delattr(clustering_metrics, "_build_info")
    monkeypatch.setitem(sys.modules, "clustering_metrics._build_info", None)
    with pytest.raises(ImportError, match="clustering_metrics is not built"):
        _loader.load_library()


def test_metadata_requires_the_torch_it_was_built_against():
    requires = importlib.metadata.requires("clustering-metrics")
    assert f"torch=={_major_minor(_build_info.TORCH_VERSION)}.*" in requires


def test_compiled_ops_are_registered():
    mi = clustering_metrics.ops.mutual_info_score(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0]))
    # Labels in one-to-one correspondence: MI is the entropy of (2/3, 1/3).
    assert mi.dtype == torch.float64
    assert mi.item() == pytest.approx(math.log(3) - 2 / 3 * math.log(2), rel=1e-14)
