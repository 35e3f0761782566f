"""Loads the compiled ops, refusing a torch older than the stable ABI the library targets."""

import torch


def _major_minor(version: str) -> tuple:
    return tuple(int(part) for part in version.split("+")[0].split(".")[:2])


def load_library() -> None:
    try:
        from clustering_metrics import _build_info
    except ImportError as err:
        raise ImportError(
            "clustering_metrics is not built: install it with `pip install --no-build-isolation .` "
            "from the source tree (see README.md)."
        ) from err
    # The library uses only torch's stable ABI (from _build_info.TORCH_ABI_TARGET on), which
    # every later torch keeps; an older torch lacks some of its functions.
    if _major_minor(torch.__version__) < _major_minor(_build_info.TORCH_ABI_TARGET):
        raise ImportError(
            f"clustering_metrics needs torch >= {_build_info.TORCH_ABI_TARGET} (it uses the LibTorch stable ABI "
            f"of that version) but torch {torch.__version__} is installed; upgrade torch, e.g. "
            f"`pip install 'torch>={_build_info.TORCH_ABI_TARGET}'`."
        )
    from clustering_metrics import _C  # noqa: F401  (runs the STABLE_TORCH_LIBRARY registrations)
