"""Python entry points and fake kernels for the ``torch.ops.clustering_metrics`` ops.

The fake kernels describe output shapes and dtypes without computing, so the
ops trace under ``torch.compile`` and ``torch.library.opcheck``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from clustering_metrics import _C

__all__ = ["pair_histogram", "mutual_info_from_histogram", "mutual_info_score", "contingency_summary", "count_into_table"]

# The summary op's output sizes, from the slots the extension exports (csrc/common/summary.h).
NUM_SUMMARY_INTEGERS = len(_C.SUMMARY_INTEGER_SLOTS)
NUM_SUMMARY_REALS = len(_C.SUMMARY_REAL_SLOTS)


def _check_tensors(**arguments: object) -> None:
    # The dispatcher would report a non-tensor as "UNKNOWN_SCALAR"; name it instead.
    for name, value in arguments.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor but got {type(value).__name__}.")


def pair_histogram(preds: Tensor, target: Tensor, counts: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Sparse contingency table of two label vectors.

    Returns ``(pred_labels, target_labels, counts)``: every distinct
    (pred, target) pair with a positive count, sorted by pred label then
    target label, labels in the input dtypes and counts in int64.

    ``counts`` optionally gives an int64 multiplicity per sample, so two
    histograms merge by calling this op on their concatenation.
    """
    _check_tensors(preds=preds, target=target, **({} if counts is None else {"counts": counts}))
    return torch.ops.clustering_metrics.pair_histogram.default(preds, target, counts)


def mutual_info_from_histogram(pred_labels: Tensor, target_labels: Tensor, counts: Tensor) -> Tensor:
    """Mutual information (float64 scalar) of a label-pair histogram.

    The pairs need not be sorted or distinct: repeated pairs are added, so
    the concatenation of several histograms is a valid input.
    """
    _check_tensors(pred_labels=pred_labels, target_labels=target_labels, counts=counts)
    return torch.ops.clustering_metrics.mutual_info_from_histogram.default(pred_labels, target_labels, counts)


def mutual_info_score(preds: Tensor, target: Tensor) -> Tensor:
    """Mutual information (float64 scalar) of two label vectors, in one fused op."""
    _check_tensors(preds=preds, target=target)
    return torch.ops.clustering_metrics.mutual_info_score.default(preds, target)


def contingency_summary(
    preds: Tensor, target: Tensor, counts: Optional[Tensor] = None, expected_mutual_info: bool = False
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The contingency summary of two label vectors, or of a histogram given ``counts`` per pair.

    Returns ``(pred_totals, target_totals, integers, reals)``: the cluster sizes
    of each side in label order (int64), and the int64 and float64 slots that
    :class:`clustering_metrics.summary.ContingencySummary` names. The expected
    MI slot is NaN unless ``expected_mutual_info`` is set.
    """
    _check_tensors(preds=preds, target=target, **({} if counts is None else {"counts": counts}))
    return torch.ops.clustering_metrics.contingency_summary.default(preds, target, counts, expected_mutual_info)


def count_into_table(preds: Tensor, target: Tensor, table: Tensor, num_pred_clusters: int, num_target_clusters: int) -> None:
    """Add two label vectors with labels in ``[0, num_pred_clusters)`` and ``[0, num_target_clusters)`` to a dense table.

    ``table`` is a contiguous int64 tensor of ``num_pred_clusters *
    num_target_clusters + 1`` entries on the labels' device: entry
    ``p * num_target_clusters + t`` counts the samples labelled ``(p, t)``,
    and the last entry the samples with a label outside its range (which
    are not counted elsewhere). The op checks shapes and dtypes only, never
    label values, so it does not synchronise with a GPU and can be captured
    in a CUDA graph: one kernel launch per call.
    """
    _check_tensors(preds=preds, target=target, table=table)
    torch.ops.clustering_metrics.count_into_table.default(preds, target, table, num_pred_clusters, num_target_clusters)


def _check_fake_labels(preds: Tensor, target: Tensor) -> None:
    torch._check(preds.dim() == 1 and target.dim() == 1, lambda: "labels must be 1-d tensors")
    torch._check(preds.shape[0] == target.shape[0], lambda: "labels must have the same length")
    torch._check(not preds.dtype.is_floating_point and not preds.dtype.is_complex, lambda: "labels must be integers")
    torch._check(not target.dtype.is_floating_point and not target.dtype.is_complex, lambda: "labels must be integers")


@torch.library.register_fake("clustering_metrics::pair_histogram")
def _pair_histogram_fake(preds, target, counts=None):
    _check_fake_labels(preds, target)
    # The number of distinct pairs is only known after running the kernel.
    num_pairs = torch.library.get_ctx().new_dynamic_size()
    return (
        preds.new_empty(num_pairs),
        target.new_empty(num_pairs),
        preds.new_empty(num_pairs, dtype=torch.int64),
    )


@torch.library.register_fake("clustering_metrics::mutual_info_from_histogram")
def _mutual_info_from_histogram_fake(pred_labels, target_labels, counts):
    _check_fake_labels(pred_labels, target_labels)
    return pred_labels.new_empty((), dtype=torch.float64)


@torch.library.register_fake("clustering_metrics::mutual_info_score")
def _mutual_info_score_fake(preds, target):
    _check_fake_labels(preds, target)
    return preds.new_empty((), dtype=torch.float64)


@torch.library.register_fake("clustering_metrics::contingency_summary")
def _contingency_summary_fake(preds, target, counts=None, expected_mutual_info=False):
    _check_fake_labels(preds, target)
    ctx = torch.library.get_ctx()
    return (
        preds.new_empty(ctx.new_dynamic_size(), dtype=torch.int64),
        preds.new_empty(ctx.new_dynamic_size(), dtype=torch.int64),
        preds.new_empty(NUM_SUMMARY_INTEGERS, dtype=torch.int64),
        preds.new_empty(NUM_SUMMARY_REALS, dtype=torch.float64),
    )


@torch.library.register_fake("clustering_metrics::count_into_table")
def _count_into_table_fake(preds, target, table, num_pred_clusters, num_target_clusters):
    _check_fake_labels(preds, target)
    torch._check(
        table.dtype == torch.int64 and table.dim() == 1 and table.shape[0] == num_pred_clusters * num_target_clusters + 1,
        lambda: "table must be int64 with num_pred_clusters * num_target_clusters + 1 entries",
    )
    return None
