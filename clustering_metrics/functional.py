"""Functional interface, a drop-in for ``torchmetrics.functional.clustering``."""

import torch
from torch import Tensor

from clustering_metrics import ops

__all__ = ["mutual_info_score", "check_cluster_labels"]


def check_cluster_labels(preds: Tensor, target: Tensor) -> None:
    """Validate two label vectors, raising the errors torchmetrics raises for the same input."""
    for name, value in (("preds", preds), ("target", target)):
        if not isinstance(value, Tensor):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor but got {type(value).__name__}.")
    if preds.shape != target.shape:
        raise RuntimeError(
            f"Predictions and targets are expected to have the same shape, but got {preds.shape} and {target.shape}."
        )
    if preds.ndim != 1:
        raise ValueError(f"Expected arguments to be 1-d tensors but got {preds.ndim}-d tensors.")
    if any(t.is_floating_point() or t.is_complex() for t in (preds, target)):
        raise ValueError(f"Expected real, discrete values for x but received {preds.dtype} and {target.dtype}.")
    if preds.device != target.device:
        raise RuntimeError(f"Expected `preds` and `target` on the same device but got {preds.device} and {target.device}.")


def mutual_info_score(preds: Tensor, target: Tensor) -> Tensor:
    """Mutual information between two clusterings, computed exactly.

    MI(U, V) = sum_ij (n_ij / N) log(N n_ij / (a_i b_j)), natural log, where
    n_ij counts samples with pred label i and target label j, and a_i, b_j
    are the cluster sizes. Counts and products are exact integers; each term
    is evaluated in float64, and the result is returned in torch's default
    dtype on the device of ``preds``.

    Args:
        preds: 1-d integer tensor of predicted cluster labels.
        target: 1-d integer tensor of ground-truth cluster labels, same length.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import mutual_info_score
        >>> mutual_info_score(torch.tensor([1, 3, 2, 0, 1]), torch.tensor([0, 3, 2, 2, 1]))
        tensor(1.0549)
    """
    check_cluster_labels(preds, target)
    return ops.mutual_info_score(preds, target).to(torch.get_default_dtype())
