"""Loads the compiled ops, refusing a torch whose C++ ABI differs from the one we were built against."""

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
    if _major_minor(torch.__version__) != _major_minor(_build_info.TORCH_VERSION):
        raise ImportError(
            f"clustering_metrics was built against torch {_build_info.TORCH_VERSION} but torch "
            f"{torch.__version__} is installed; C++ extensions are tied to the torch they were built with. "
            "Rebuild it with `pip install --no-build-isolation --force-reinstall --no-deps .`, "
            f"or install torch {_build_info.TORCH_VERSION}."
        )
    from clustering_metrics import _C  # noqa: F401  (runs the TORCH_LIBRARY registrations)
