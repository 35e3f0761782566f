"""Python entry points and fake kernels for the ``torch.ops.clustering_metrics`` ops.

The fake kernels describe output shapes and dtypes without computing, so the
ops trace under ``torch.compile`` and ``torch.library.opcheck``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from clustering_metrics import _C

__all__ = [
    "pair_histogram",
    "mutual_info_from_histogram",
    "mutual_info_score",
    "contingency_summary",
    "count_into_table",
    "rank_labels",
    "cluster_moments",
    "cluster_distances",
    "silhouette_sums",
    "linear_sum_assignment",
    "bootstrap_counts",
]

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
    preds: Tensor,
    target: Tensor,
    counts: Optional[Tensor] = None,
    expected_mutual_info: bool = False,
    mutual_info: bool = True,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The contingency summary of two label vectors, or of a histogram given ``counts`` per pair.

    Returns ``(pred_totals, target_totals, integers, reals)``: the cluster sizes
    of each side in label order (int64), and the int64 and float64 slots that
    :class:`clustering_metrics.summary.ContingencySummary` names. The expected
    MI slot is NaN unless ``expected_mutual_info`` is set, the MI slot NaN when
    ``mutual_info`` is not (the pair-counting metrics do without it).
    """
    _check_tensors(preds=preds, target=target, **({} if counts is None else {"counts": counts}))
    return torch.ops.clustering_metrics.contingency_summary.default(preds, target, counts, expected_mutual_info,
                                                                    mutual_info)


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


def rank_labels(labels: Tensor) -> Tuple[Tensor, Tensor]:
    """``(ids, distinct)``: each label's rank (int64) among the distinct labels, and those labels in increasing order.

    As ``torch.unique(labels, return_inverse=True)`` with the outputs swapped,
    by the ranking stage of the counting pipeline: direct indexing of small
    label ranges, hashing or sorting of wide ones, so that no choice of label
    values makes it slow.

    Example:
        >>> from clustering_metrics import ops
        >>> ops.rank_labels(torch.tensor([30, 10, 30, 20]))
        (tensor([2, 0, 2, 1]), tensor([10, 20, 30]))
    """
    _check_tensors(labels=labels)
    return torch.ops.clustering_metrics.rank_labels.default(labels)


def cluster_moments(
    data: Tensor, ids: Tensor, num_clusters: int, weights: Optional[Tensor] = None, m2: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """``(counts, means, m2)`` of each cluster of the rows of ``data`` (``(n, d)``, any float dtype).

    ``ids`` (int64, in ``[0, num_clusters)``) names each row's cluster. Per
    cluster: the total weight (int64; a row weighs 1 unless ``weights``
    gives int64 weights), the weighted mean of its rows (float64, ``(k,
    d)``), and the centred second moment ``sum of w |x - mean|^2`` (float64),
    plus the rows' own ``m2`` when given: rows that are themselves the means
    of groups (``weights`` their sizes, ``m2`` their moments) merge into the
    moments of the union. Sums are compensated float64 in a fixed order, so
    the result does not depend on the thread count.

    Example (rows 0 and 2 in cluster 0, row 10 in cluster 1):
        >>> from clustering_metrics import ops
        >>> counts, means, m2 = ops.cluster_moments(torch.tensor([[0.0], [2.0], [10.0]]), torch.tensor([0, 0, 1]), 2)
        >>> counts, means.flatten(), m2
        (tensor([2, 1]), tensor([ 1., 10.], dtype=torch.float64), tensor([2., 0.], dtype=torch.float64))
    """
    _check_tensors(data=data, ids=ids, **({} if weights is None else {"weights": weights}),
                   **({} if m2 is None else {"m2": m2}))
    return torch.ops.clustering_metrics.cluster_moments.default(data, ids, num_clusters, weights, m2)


def cluster_distances(data: Tensor, ids: Tensor, centroids: Tensor, p: float = 2.0) -> Tuple[Tensor, Tensor]:
    """``(sum_euclidean, max_norm)`` per cluster: the sum of the Euclidean distances of its rows to its centroid,
    and the largest ``p``-norm distance (float64), ``centroids`` being float64 ``(k, d)``.

    A row with a NaN coordinate makes its cluster's sum and largest distance
    NaN (a plain maximum would skip a NaN), as does a NaN centroid, such as
    ``cluster_moments`` gives a cluster with a NaN row; a row with an infinite
    coordinate makes the sum NaN (the compensated sum's correction is
    inf - inf) and the largest distance infinite.

    Example (rows 0 and 2 about the centroid 1, row 10 alone):
        >>> from clustering_metrics import ops
        >>> centroids = torch.tensor([[1.0], [10.0]], dtype=torch.float64)
        >>> ops.cluster_distances(torch.tensor([[0.0], [2.0], [10.0]]), torch.tensor([0, 0, 1]), centroids)
        (tensor([2., 0.], dtype=torch.float64), tensor([1., 0.], dtype=torch.float64))
    """
    _check_tensors(data=data, ids=ids, centroids=centroids)
    return torch.ops.clustering_metrics.cluster_distances.default(data, ids, centroids, float(p))


def silhouette_sums(data: Tensor, ids: Tensor, num_clusters: int) -> Tensor:
    """The ``(n, num_clusters)`` float64 sums of the Euclidean distances from each row to the rows of each cluster.

    Each distance is the square root of its summed squared coordinate
    differences (never the ``|x|^2 + |y|^2 - 2 x.y`` expansion), summed in a
    fixed order: the same bits at any thread count. Costs ``O(n^2 d)`` time
    and ``O(n k)`` memory.

    Example (row 0 lies 0 and 1 from cluster 0's rows, 10 and 11 from cluster 1's):
        >>> from clustering_metrics import ops
        >>> ops.silhouette_sums(torch.tensor([[0.0], [1.0], [10.0], [11.0]]), torch.tensor([0, 0, 1, 1]), 2)[0]
        tensor([ 1., 21.], dtype=torch.float64)
    """
    _check_tensors(data=data, ids=ids)
    return torch.ops.clustering_metrics.silhouette_sums.default(data, ids, num_clusters)


def linear_sum_assignment(cost: Tensor, maximize: bool = False) -> Tuple[Tensor, Tensor]:
    """``(row_ind, col_ind)`` of an assignment of least (or most) total cost, as ``scipy.optimize.linear_sum_assignment``.

    ``cost`` is a 2-d int64 tensor, any shape: integer costs keep the
    shortest-augmenting-path solver (Jonker-Volgenant, in Crouse's
    rectangular form) exact. ``row_ind`` is increasing, and
    ``min(rows, cols)`` rows are assigned. On a GPU the matrix is copied to
    the host and solved there.

    Example (scipy's: the least total cost is 1 + 2 + 2 = 5):
        >>> from clustering_metrics import ops
        >>> ops.linear_sum_assignment(torch.tensor([[4, 1, 3], [2, 0, 5], [3, 2, 2]]))
        (tensor([0, 1, 2]), tensor([1, 0, 2]))
    """
    _check_tensors(cost=cost)
    return torch.ops.clustering_metrics.linear_sum_assignment.default(cost, maximize)


def bootstrap_counts(counts: Tensor, num_resamples: int, seed: int, first_resample: int = 0) -> Tensor:
    """``(num_resamples, len(counts))`` int64 bootstrap resamples of a histogram's counts.

    Drawing ``N = counts.sum()`` samples with replacement from the samples a
    histogram counts, and counting them again, gives its cells a
    multinomial draw; row ``b`` is that draw, made cell by cell as a chain of
    binomials from Philox stream ``first_resample + b`` under ``seed``. A
    resample costs O(cells), not O(N), and its bits depend only on the seed
    and its stream: not on the thread count, the GPU's grid, or how the
    resamples are split into calls. Counts must be non-negative and sum to
    at most 2^53 (the samplers count in doubles); each row sums to the same.

    Example (a one-cell histogram resamples to itself; two cells share the 10 samples):
        >>> from clustering_metrics import ops
        >>> ops.bootstrap_counts(torch.tensor([5]), 2, seed=0)
        tensor([[5],
                [5]])
        >>> ops.bootstrap_counts(torch.tensor([7, 3]), 4, seed=0).sum(dim=1)
        tensor([10, 10, 10, 10])
    """
    _check_tensors(counts=counts)
    return torch.ops.clustering_metrics.bootstrap_counts.default(counts, num_resamples, seed, first_resample)


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
def _contingency_summary_fake(preds, target, counts=None, expected_mutual_info=False, mutual_info=True):
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


@torch.library.register_fake("clustering_metrics::rank_labels")
def _rank_labels_fake(labels):
    torch._check(labels.dim() == 1, lambda: "labels must be a 1-d tensor")
    num_distinct = torch.library.get_ctx().new_dynamic_size()
    return labels.new_empty(labels.shape, dtype=torch.int64), labels.new_empty(num_distinct)


def _check_fake_embeddings(data, ids):
    torch._check(data.dim() == 2 and data.dtype.is_floating_point, lambda: "data must be a 2-d float tensor")
    torch._check(ids.dtype == torch.int64 and ids.dim() == 1 and ids.shape[0] == data.shape[0],
                 lambda: "ids must be int64, one per row of data")


@torch.library.register_fake("clustering_metrics::cluster_moments")
def _cluster_moments_fake(data, ids, num_clusters, weights=None, m2=None):
    _check_fake_embeddings(data, ids)
    return (
        data.new_empty(num_clusters, dtype=torch.int64),
        data.new_empty((num_clusters, data.shape[1]), dtype=torch.float64),
        data.new_empty(num_clusters, dtype=torch.float64),
    )


@torch.library.register_fake("clustering_metrics::cluster_distances")
def _cluster_distances_fake(data, ids, centroids, p=2.0):
    _check_fake_embeddings(data, ids)
    return (data.new_empty(centroids.shape[0], dtype=torch.float64),
            data.new_empty(centroids.shape[0], dtype=torch.float64))


@torch.library.register_fake("clustering_metrics::silhouette_sums")
def _silhouette_sums_fake(data, ids, num_clusters):
    _check_fake_embeddings(data, ids)
    return data.new_empty((data.shape[0], num_clusters), dtype=torch.float64)


@torch.library.register_fake("clustering_metrics::linear_sum_assignment")
def _linear_sum_assignment_fake(cost, maximize=False):
    torch._check(cost.dim() == 2 and cost.dtype == torch.int64, lambda: "cost must be a 2-d int64 tensor")
    assigned = min(cost.shape[0], cost.shape[1])
    return cost.new_empty(assigned), cost.new_empty(assigned)


@torch.library.register_fake("clustering_metrics::bootstrap_counts")
def _bootstrap_counts_fake(counts, num_resamples, seed, first_resample=0):
    torch._check(counts.dim() == 1 and counts.dtype == torch.int64, lambda: "counts must be a 1-d int64 tensor")
    return counts.new_empty((num_resamples, counts.shape[0]))
