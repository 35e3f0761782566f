"""Metrics of the contingency table itself: the table, its pair counts and the cluster accuracy.

They need the table's cells (or its exact pair counts), not only the summary's
sums, and follow scikit-learn's orientation: rows are the target's classes,
columns the predicted clusters, both in increasing label order.
"""

from typing import Tuple

import torch
from torch import Tensor

from clustering_metrics import ops
from clustering_metrics.summary import ContingencySummary

__all__ = ["INT64_MAX", "cluster_accuracy_of_cells", "dense_table", "pair_confusion_of_summary"]

INT64_MAX = 2**63 - 1


def _table_bytes_check(rows: int, cols: int, what: str) -> None:
    from clustering_metrics.metric_state import _available_memory_bytes

    table_bytes = 8 * rows * cols
    available = _available_memory_bytes()
    if available is not None and table_bytes > available:
        raise ValueError(
            f"{what} needs a dense table of {rows} x {cols} cells ({table_bytes} bytes), more than the {available} "
            "bytes of memory available."
        )


def dense_table(pred_labels: Tensor, target_labels: Tensor, counts: Tensor, what: str) -> Tuple[Tensor, Tensor, Tensor]:
    """(table, target classes, pred clusters): the cells as a dense int64 (classes x clusters) table."""
    pred_ids, pred_clusters = ops.rank_labels(pred_labels)
    target_ids, target_classes = ops.rank_labels(target_labels)
    rows, cols = target_classes.numel(), pred_clusters.numel()
    _table_bytes_check(rows, cols, what)
    table = torch.zeros((rows, cols), dtype=torch.int64, device=counts.device)
    table.index_put_((target_ids, pred_ids), counts, accumulate=True)
    return table, target_classes, pred_clusters


def cluster_accuracy_of_cells(pred_labels: Tensor, target_labels: Tensor, counts: Tensor) -> Tensor:
    """The fraction of samples whose cluster maps to their class under the best one-to-one map (float64).

    The map is an exact maximum-weight assignment on the integer counts of
    the table (any shape: clusters and classes may differ in number); NaN for
    no samples, as torchmetrics gives.
    """
    table, _, _ = dense_table(pred_labels, target_labels, counts, "cluster_accuracy")
    total = counts.sum()
    if table.numel() == 0:
        return torch.full((), float("nan"), dtype=torch.float64, device=counts.device)
    rows, cols = ops.linear_sum_assignment(table, maximize=True)
    return table[rows, cols].sum().to(torch.float64) / total.to(torch.float64)


def pair_confusion_of_summary(summary: ContingencySummary) -> Tensor:
    """scikit-learn's pair confusion matrix: ordered pairs of distinct samples, [[C00, C01], [C10, C11]] (int64).

    C11 counts the pairs together in both clusterings, C01 those together in
    the prediction only, C10 those together in the target only, C00 the rest;
    each unordered pair counts twice. From the summary's exact 128-bit pair
    counts; they fit int64 while N (N - 1) does, up to N = 3,037,000,500.
    """
    in_cells, in_pred, in_target = summary.exact_pair_counts()
    n = int(summary.n_samples)
    ordered = n * (n - 1)
    if ordered > INT64_MAX:
        raise ValueError(
            f"pair_confusion_matrix: {n} samples make {ordered} ordered pairs, more than an int64 holds "
            "(N (N - 1) <= 2^63 - 1 up to N = 3,037,000,500)."
        )
    together = 2 * in_cells
    pred_only = 2 * (in_pred - in_cells)
    target_only = 2 * (in_target - in_cells)
    values = [[ordered - together - pred_only - target_only, pred_only], [target_only, together]]
    return torch.tensor(values, dtype=torch.int64, device=summary.integers.device)
