"""Functional interface, a drop-in for ``torchmetrics.functional.clustering``.

Every function checks its labels as torchmetrics does, builds one contingency
summary of them (:mod:`clustering_metrics.summary`) and applies its formula
(:mod:`clustering_metrics.formulas`). Results have torch's default float dtype
and the device of ``preds``.
"""

import math
import numbers
from typing import Dict, Literal, Optional, Sequence, Union

import torch
from torch import Tensor

from clustering_metrics import formulas, ops
from clustering_metrics.embeddings import (
    calinski_harabasz_score,
    davies_bouldin_score,
    dunn_index,
    silhouette_samples,
    silhouette_score,
)
from clustering_metrics.formulas.assignment import cluster_accuracy_of_cells, dense_table, pair_confusion_of_summary
from clustering_metrics.formulas.information import AVERAGE_METHODS
from clustering_metrics.resampling import BootstrapInterval, bootstrap_scores, pairwise_scores
from clustering_metrics.summary import contingency_summary

__all__ = [
    "BootstrapInterval",
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "bootstrap_scores",
    "calinski_harabasz_score",
    "check_cluster_labels",
    "cluster_accuracy",
    "clustering_scores",
    "completeness_score",
    "contingency_matrix",
    "davies_bouldin_score",
    "dunn_index",
    "fowlkes_mallows_index",
    "homogeneity_score",
    "mutual_info_score",
    "normalized_mutual_info_score",
    "pair_confusion_matrix",
    "pairwise_scores",
    "rand_score",
    "silhouette_samples",
    "silhouette_score",
    "v_measure_score",
]

AverageMethod = Literal["min", "geometric", "arithmetic", "max"]


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


def check_average_method(average_method: str) -> None:
    """torchmetrics' check of ``average_method``, with its message."""
    if average_method not in AVERAGE_METHODS:
        raise ValueError(
            "Expected argument `average_method` to be one of  `min`, `geometric`, `arithmetic`, `max`,"
            f"but got {average_method}"
        )


def check_beta(beta: float) -> None:
    """``beta`` weighs homogeneity against completeness: a positive, finite real number.

    Written with comparisons only, so that it also checks a symbolic ``beta``
    under ``torch.compile(dynamic=True)`` (NaN fails both comparisons).
    """
    is_real = isinstance(beta, (numbers.Real, torch.SymFloat, torch.SymInt)) and not isinstance(beta, bool)
    if not is_real or not (0 < beta < math.inf):
        raise ValueError(f"Argument `beta` should be a positive float. Got {beta}.")


def _score(preds: Tensor, target: Tensor, metric: str, average_method: str = "arithmetic", beta: float = 1.0) -> Tensor:
    check_cluster_labels(preds, target)
    summary = contingency_summary(preds, target, expected_mutual_info=formulas.needs_expected_mutual_info([metric]),
                                  mutual_info=formulas.needs_mutual_info([metric]))
    return formulas.METRICS[metric](summary, average_method, beta).to(torch.get_default_dtype())


def mutual_info_score(preds: Tensor, target: Tensor) -> Tensor:
    """Mutual information between two clusterings, computed exactly.

    MI(U, V) = sum_ij (n_ij / N) log(N n_ij / (a_i b_j)), natural log, where
    n_ij counts samples with pred label i and target label j, and a_i, b_j
    are the cluster sizes. Counts and products are exact integers; the result
    is within 1e-13 relative of the exact value (see the README), in torch's
    default dtype on the device of ``preds``.

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


def normalized_mutual_info_score(preds: Tensor, target: Tensor, average_method: AverageMethod = "arithmetic") -> Tensor:
    """MI normalised by a mean of the two entropies: ``min``, ``geometric``, ``arithmetic`` or ``max``.

    1 for a perfect match (two single clusters and empty input included), 0 when the MI is 0.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import normalized_mutual_info_score
        >>> normalized_mutual_info_score(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(0.4744)
    """
    check_average_method(average_method)
    return _score(preds, target, "normalized_mutual_info_score", average_method=average_method)


def adjusted_mutual_info_score(preds: Tensor, target: Tensor, average_method: AverageMethod = "arithmetic") -> Tensor:
    """MI adjusted for chance: (MI - E[MI]) / (mean(H(preds), H(target)) - E[MI]).

    E[MI] is the MI expected under random labelings with the same cluster
    sizes, computed exactly (see the README for the method and its error
    bound). 1 for a perfect match; 0 when one side is one cluster or all
    singletons.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import adjusted_mutual_info_score
        >>> adjusted_mutual_info_score(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(-0.2500)
    """
    check_average_method(average_method)
    return _score(preds, target, "adjusted_mutual_info_score", average_method=average_method)


def rand_score(preds: Tensor, target: Tensor) -> Tensor:
    """The fraction of sample pairs on which the two clusterings agree; 1 for a perfect match.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import rand_score
        >>> rand_score(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(0.6000)
    """
    return _score(preds, target, "rand_score")


def adjusted_rand_score(preds: Tensor, target: Tensor) -> Tensor:
    """The Rand index adjusted for chance, from exact pair counts (no overflow at any N); 1 for a perfect match.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import adjusted_rand_score
        >>> adjusted_rand_score(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(-0.2500)
    """
    return _score(preds, target, "adjusted_rand_score")


def homogeneity_score(preds: Tensor, target: Tensor) -> Tensor:
    """MI / H(target): whether each predicted cluster holds members of one target class only.

    1 when the target has one class (or there is no input), as in scikit-learn.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import homogeneity_score
        >>> homogeneity_score(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 0, 1, 1]))
        tensor(1.)
    """
    return _score(preds, target, "homogeneity_score")


def completeness_score(preds: Tensor, target: Tensor) -> Tensor:
    """MI / H(preds): whether all members of each target class fall in one predicted cluster.

    1 when the prediction has one cluster (or there is no input), as in scikit-learn.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import completeness_score
        >>> completeness_score(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 2]))
        tensor(1.)
    """
    return _score(preds, target, "completeness_score")


def v_measure_score(preds: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """(1 + beta) h c / (beta h + c) of homogeneity h and completeness c; 0 when h + c is 0.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import v_measure_score
        >>> v_measure_score(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 0, 1, 1]))
        tensor(0.8000)
    """
    check_beta(beta)
    return _score(preds, target, "v_measure_score", beta=beta)


def fowlkes_mallows_index(preds: Tensor, target: Tensor) -> Tensor:
    """The geometric mean of pair precision and pair recall; 0 when no two samples share both clusters.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import fowlkes_mallows_index
        >>> fowlkes_mallows_index(torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0, 0, 1, 1, 2, 2]))
        tensor(0.4714)
    """
    return _score(preds, target, "fowlkes_mallows_index")


def clustering_scores(
    preds: Tensor,
    target: Tensor,
    metrics: Union[str, Sequence[str], None] = None,
    average_method: AverageMethod = "arithmetic",
    beta: float = 1.0,
) -> Dict[str, Tensor]:
    """Several metrics of the family from one histogram: {name: value}, names as the functions above.

    ``metrics`` picks some (default: all nine); the expected MI, the costliest part,
    is computed only when ``adjusted_mutual_info_score`` is among them, and the MI
    only when one of the information metrics is.
    """
    names = formulas.metric_names(metrics)
    check_average_method(average_method)
    check_beta(beta)
    check_cluster_labels(preds, target)
    summary = contingency_summary(preds, target, expected_mutual_info=formulas.needs_expected_mutual_info(names),
                                  mutual_info=formulas.needs_mutual_info(names))
    dtype = torch.get_default_dtype()
    return {name: value.to(dtype) for name, value in formulas.scores(summary, names, average_method, beta).items()}


def check_num_classes(num_classes: Optional[int]) -> Optional[int]:
    """torchmetrics' check of ``num_classes`` (a positive int), which is optional here."""
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes <= 0:
        raise ValueError("Argument `num_classes` should be a positive integer")
    return int(num_classes)


def _check_labels_below(preds: Tensor, target: Tensor, num_classes: int) -> None:
    # torchmetrics' confusion matrix refuses labels outside [0, num_classes) with these messages.
    for name, labels in (("preds", preds), ("target", target)):
        if labels.numel() == 0:
            continue
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise RuntimeError(
                f"Detected the value {low if low < 0 else high} in `{name}`, outside the range [0, {num_classes}) "
                f"that `num_classes={num_classes}` allows."
            )


def cluster_accuracy(preds: Tensor, target: Tensor, num_classes: Optional[int] = None) -> Tensor:
    """The accuracy of the best one-to-one map from clusters to classes: the largest fraction of samples it labels right.

    The map is an exact maximum-weight assignment on the integer counts of
    the contingency table (:func:`clustering_metrics.ops.linear_sum_assignment`;
    torchmetrics solves it with float32 costs, inexact past 2^24 samples). The
    numbers of clusters and classes may differ (extra ones map to nothing),
    and labels may be any integers; with ``num_classes`` they must lie in
    ``[0, num_classes)``, as torchmetrics requires. NaN for no samples.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import cluster_accuracy
        >>> cluster_accuracy(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([1, 1, 0, 0, 0]))
        tensor(0.8000)
    """
    num_classes = check_num_classes(num_classes)
    check_cluster_labels(preds, target)
    if num_classes is not None:
        _check_labels_below(preds, target, num_classes)
    return cluster_accuracy_of_cells(*ops.pair_histogram(preds, target)).to(torch.get_default_dtype())


def contingency_matrix(preds: Tensor, target: Tensor, sparse: bool = False) -> Tensor:
    """The contingency table as scikit-learn's ``contingency_matrix(target, preds)`` gives it: int64, one row per
    target class and one column per predicted cluster, both in increasing label order.

    ``sparse=True`` gives it as a sparse COO tensor of the non-empty cells
    (coalesced), which a table of many clusters needs: the dense one takes 8
    bytes a cell.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import contingency_matrix
        >>> contingency_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([5, 5, 5, 7]))
        tensor([[2, 1, 0],
                [0, 0, 1]])
    """
    check_cluster_labels(preds, target)
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    if not sparse:
        return dense_table(pred_labels, target_labels, counts, "contingency_matrix")[0]
    pred_ids, pred_clusters = ops.rank_labels(pred_labels)
    target_ids, target_classes = ops.rank_labels(target_labels)
    size = (target_classes.numel(), pred_clusters.numel())
    # The histogram's cells come in (pred, target) order, not in this table's
    # row-major order: coalesce() sorts them, so that the flag it sets is true
    # for the operations that trust it (CSR conversion, products).
    return torch.sparse_coo_tensor(torch.stack([target_ids, pred_ids]), counts, size).coalesce()


def pair_confusion_matrix(preds: Tensor, target: Tensor) -> Tensor:
    """scikit-learn's pair confusion matrix ``pair_confusion_matrix(target, preds)``: a 2 x 2 int64 tensor counting
    ordered pairs of distinct samples: ``[0, 0]`` apart in both, ``[0, 1]`` together in ``preds`` only, ``[1, 0]``
    together in ``target`` only, ``[1, 1]`` together in both.

    Exact (from the 128-bit pair counts of the summary); it fits int64 up to
    N = 3,037,000,500 samples, beyond which it raises.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import pair_confusion_matrix
        >>> pair_confusion_matrix(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 2]))
        tensor([[8, 2],
                [0, 2]])
    """
    check_cluster_labels(preds, target)
    return pair_confusion_of_summary(contingency_summary(preds, target, mutual_info=False))
