"""Intrinsic clustering metrics: how well labels separate embedded data (Calinski-Harabasz, Davies-Bouldin, Dunn,
silhouette).

Every metric reduces the data per cluster with the compiled ops (any
integer labels, ranked by the counting pipeline's ranking stage; float64
sums, compensated and in a fixed order, whatever the input dtype), then
combines the per-cluster values here. The functions are re-exported by
:mod:`clustering_metrics.functional`.
"""

import math
from typing import Literal, Tuple

import torch
from torch import Tensor

from clustering_metrics import ops

__all__ = [
    "calinski_harabasz_from_moments",
    "calinski_harabasz_score",
    "check_embeddings",
    "davies_bouldin_score",
    "dunn_index",
    "silhouette_samples",
    "silhouette_score",
]

SilhouetteMetric = Literal["euclidean", "sqeuclidean"]
_OP_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# Pairwise centroid distances are formed in blocks of at most this many coordinate differences.
_PAIR_BLOCK = 1 << 22


def check_embeddings(data: Tensor, labels: Tensor) -> None:
    """torchmetrics' checks of intrinsic-metric inputs, with its messages, and the shapes and devices they leave out."""
    for name, value in (("data", data), ("labels", labels)):
        if not isinstance(value, Tensor):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor but got {type(value).__name__}.")
    if data.ndim != 2:
        raise ValueError(f"Expected 2D data, got {data.ndim}D data instead")
    if not data.is_floating_point():
        raise ValueError(f"Expected floating point data, got {data.dtype} data instead")
    if labels.ndim != 1:
        raise ValueError(f"Expected 1D labels, got {labels.ndim}D labels instead")
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"Expected integer labels, got {labels.dtype} labels instead")
    if data.shape[0] != labels.shape[0]:
        raise ValueError(f"Expected one label per row of data, got {data.shape[0]} rows and {labels.shape[0]} labels")
    if data.device != labels.device:
        raise RuntimeError(f"Expected `data` and `labels` on the same device but got {data.device} and {labels.device}.")


def _check_cluster_count(num_clusters: int, num_samples: int) -> None:
    # torchmetrics' message (without the space it lacks), for the drop-in.
    if not 1 < num_clusters < num_samples:
        raise ValueError(
            "Number of detected clusters must be greater than one and less than the number of samples. "
            f"Got {num_clusters} clusters and {num_samples} samples."
        )


def _op_data(data: Tensor) -> Tensor:
    # The ops read float16, bfloat16, float32 and float64; other float dtypes convert exactly to float64.
    return data if data.dtype in _OP_DTYPES else data.to(torch.float64)


def cluster_ids(data: Tensor, labels: Tensor) -> Tuple[Tensor, int]:
    """Checked inputs as (cluster id of each row, number of clusters)."""
    check_embeddings(data, labels)
    ids, distinct = ops.rank_labels(labels)
    return ids, distinct.numel()


def _result(value: Tensor) -> Tensor:
    return value.to(torch.get_default_dtype())


def calinski_harabasz_from_moments(counts: Tensor, means: Tensor, m2: Tensor) -> Tensor:
    """(B / (k - 1)) / (W / (n - k)) from each cluster's size, mean and centred second moment (float64).

    B = sum of n_k |mean_k - mean|^2 and W = sum of the clusters' moments; 1
    when W is 0, as scikit-learn and torchmetrics give.
    """
    k = counts.numel()
    ones = torch.zeros(k, dtype=torch.int64, device=counts.device)
    _, overall, _ = ops.cluster_moments(means, ones, 1, weights=counts, m2=m2)
    n = counts.sum().to(torch.float64)
    between = (counts.to(torch.float64) * ((means - overall) ** 2).sum(dim=1)).sum()
    within = m2.sum()
    value = between * (n - k) / (within * (k - 1))
    return torch.where(within == 0, torch.ones_like(value), value)


def calinski_harabasz_score(data: Tensor, labels: Tensor) -> Tensor:
    """The Calinski-Harabasz score (variance ratio): between-cluster over within-cluster dispersion, each per degree
    of freedom; higher is better.

    A drop-in for ``torchmetrics.functional.clustering.calinski_harabasz_score``,
    computed from per-cluster moments in float64 whatever the data's dtype
    (torchmetrics and scikit-learn sum in the data's dtype).

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import calinski_harabasz_score
        >>> data = torch.tensor([[0.0, 0.0], [0.0, 1.0], [4.0, 0.0], [4.0, 1.0]])
        >>> calinski_harabasz_score(data, torch.tensor([0, 0, 1, 1]))
        tensor(32.)
    """
    ids, k = cluster_ids(data, labels)
    _check_cluster_count(k, data.shape[0])
    return _result(calinski_harabasz_from_moments(*ops.cluster_moments(_op_data(data), ids, k)))


def _centroid_pairs(means: Tensor, p: float, reduce_block) -> None:
    """Calls reduce_block(first_row, distances) for blocks of rows of the (k, k) matrix of p-norm centroid distances.

    Each distance comes from its coordinate differences in float64, never
    from the GEMM expansion (torch.cdist's default for many rows).
    """
    k, d = means.shape
    rows = max(1, _PAIR_BLOCK // max(1, k * d))
    for first in range(0, k, rows):
        differences = means[first:first + rows][:, None, :] - means[None, :, :]
        if p in (1.0, 2.0, math.inf):
            reduce_block(first, torch.linalg.vector_norm(differences, ord=p, dim=2))
            continue
        # |d|^p leaves float64's range for a large p (3.3^600 > 1e308): the sum is taken of the differences over
        # their largest, as the ops' p-norm does (csrc/common/distance_terms.h). A scale of 0 or inf (or NaN)
        # divides nothing: the sum is then 0, inf (or NaN), as is the norm.
        magnitudes = differences.abs()
        scale = magnitudes.amax(dim=2)
        usable = torch.where((scale > 0) & torch.isfinite(scale), scale, torch.ones_like(scale))
        scaled_sum = ((magnitudes / usable[:, :, None]) ** p).sum(dim=2)
        norms = (usable**p * scaled_sum) ** (1 / p) if p < 1 else usable * scaled_sum ** (1 / p)
        reduce_block(first, norms)


def davies_bouldin_score(data: Tensor, labels: Tensor) -> Tensor:
    """The Davies-Bouldin index: the mean over clusters of the largest (S_i + S_j) / M_ij, lower is better.

    S_i is the mean Euclidean distance of cluster i's points to its centroid
    and M_ij the distance between centroids. 0 when every S_i or every M_ij is
    within 1e-8 of 0 (scikit-learn's and torchmetrics' ``allclose`` test). A
    drop-in for ``torchmetrics.functional.clustering.davies_bouldin_score``,
    in float64 whatever the data's dtype.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import davies_bouldin_score
        >>> data = torch.tensor([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
        >>> davies_bouldin_score(data, torch.tensor([0, 0, 1, 1]))
        tensor(0.5000)
    """
    ids, k = cluster_ids(data, labels)
    _check_cluster_count(k, data.shape[0])
    data = _op_data(data)
    counts, means, _ = ops.cluster_moments(data, ids, k)
    sum_euclidean, _ = ops.cluster_distances(data, ids, means)
    return _result(_davies_bouldin(counts, means, sum_euclidean))


def _davies_bouldin(counts: Tensor, means: Tensor, sum_euclidean: Tensor) -> Tensor:
    intra = sum_euclidean / counts.to(torch.float64)
    worst = torch.empty_like(intra)
    largest_distance = torch.zeros((), dtype=torch.float64, device=means.device)

    def reduce_block(first: int, distances: Tensor) -> None:
        nonlocal largest_distance
        largest_distance = torch.maximum(largest_distance, distances.max())
        ratios = (intra[first:first + distances.shape[0], None] + intra[None, :]) / distances.masked_fill(
            distances == 0, math.inf)
        worst[first:first + distances.shape[0]] = ratios.max(dim=1).values

    _centroid_pairs(means, 2.0, reduce_block)
    degenerate = (intra.abs().max() <= 1e-8) | (largest_distance <= 1e-8)
    return torch.where(degenerate, torch.zeros_like(intra[0]), worst.mean())


def dunn_index(data: Tensor, labels: Tensor, p: float = 2) -> Tensor:
    """torchmetrics' Dunn index: the smallest distance between two centroids over the largest distance of a point to
    its centroid, both in the ``p``-norm; higher is better.

    The textbook index (Dunn, 1974) divides the smallest distance between two
    points of different clusters by the largest cluster diameter instead; this
    follows torchmetrics' definition, so that the drop-in gives the same
    numbers, for any p > 0: each p-norm other than p = 2 is scaled by its
    largest term, so that it leaves float64's range only where its value
    does (torchmetrics' ``|d|^p`` gives 0 or NaN past p of a few hundred).
    Inf when every point sits on its centroid and no two centroids
    coincide; NaN (0 / 0, as torchmetrics gives) when two also coincide.

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import dunn_index
        >>> dunn_index(torch.tensor([[0, 0], [0.5, 0], [1, 0], [0.5, 1]]), torch.tensor([0, 0, 0, 1]))
        tensor(2.)
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"Expected argument `p` to be a positive number (or math.inf), but got {p!r}")
    ids, k = cluster_ids(data, labels)
    if k < 2:
        raise ValueError(f"The Dunn index needs at least two clusters, but the labels have {k}.")
    data = _op_data(data)
    _, means, _ = ops.cluster_moments(data, ids, k)
    _, max_norm = ops.cluster_distances(data, ids, means, p)
    return _result(_dunn(means, max_norm, p))


def _dunn(means: Tensor, max_norm: Tensor, p: float) -> Tensor:
    closest = torch.full((), math.inf, dtype=torch.float64, device=means.device)
    k = means.shape[0]

    def reduce_block(first: int, distances: Tensor) -> None:
        nonlocal closest
        rows = torch.arange(first, first + distances.shape[0], device=means.device)
        upper = torch.arange(k, device=means.device)[None, :] > rows[:, None]  # pairs a < b
        if bool(upper.any()):
            closest = torch.minimum(closest, distances[upper].min())

    _centroid_pairs(means, float(p), reduce_block)
    return closest / max_norm.max()


def _silhouette_cluster_sums(data: Tensor, ids: Tensor, k: int, metric: str) -> Tuple[Tensor, Tensor]:
    """(sums, counts): sums[i, c] is the sum of distances from row i to the rows of cluster c (float64)."""
    data = _op_data(data)
    if metric == "euclidean":
        return ops.silhouette_sums(data, ids, k), torch.bincount(ids, minlength=k)
    # Squared Euclidean distances sum in closed form around each cluster's mean:
    # sum over j in c of |x_i - x_j|^2 = n_c |x_i - mean_c|^2 + m2_c. Each mean is
    # kept as a row of its cluster (the reference) plus the mean's offset from
    # it, and x_i - mean_c is formed as (x_i - reference_c) - offset_c: a mean
    # 1e8 from every row it is compared with would otherwise carry 1e-8 of
    # rounding into |x_i - mean_c|^2. A difference from a reference is one
    # rounding of the difference (none for float32 data within 2^29 of it).
    n, d = data.shape
    first_rows = torch.full((k,), n, dtype=torch.int64, device=data.device).scatter_reduce(
        0, ids, torch.arange(n, device=data.device), "amin")
    references = data[first_rows].to(torch.float64)
    counts, offsets, m2 = ops.cluster_moments(data.to(torch.float64) - references[ids], ids, k)
    sums = torch.empty((n, k), dtype=torch.float64, device=data.device)
    rows = max(1, _PAIR_BLOCK // max(1, k * d))
    for first in range(0, n, rows):
        block = data[first:first + rows].to(torch.float64)
        squared = (((block[:, None, :] - references[None, :, :]) - offsets[None, :, :]) ** 2).sum(dim=2)
        sums[first:first + rows] = counts.to(torch.float64) * squared + m2
    return sums, counts


def silhouette_samples(data: Tensor, labels: Tensor, metric: SilhouetteMetric = "euclidean") -> Tensor:
    """The silhouette of every sample, (b - a) / max(a, b), as scikit-learn's ``silhouette_samples``.

    a is the mean distance from the sample to the other members of its
    cluster, b the least mean distance to another cluster's members. A
    sample alone in its cluster scores 0, as does one whose a and b are both
    0. Needs 2 <= k <= n - 1 clusters. A NaN or infinite coordinate makes
    every sample outside a singleton cluster NaN (scikit-learn refuses such
    data). With ``metric="euclidean"`` every
    distance is the square root of its summed squared coordinate differences
    (never the GEMM expansion, whose rounding moves scikit-learn's value with
    its thread count), in O(n^2 d) time and O(n k) memory, the same bits at
    any thread count; ``metric="sqeuclidean"`` takes the closed form around
    each cluster's mean, O(n k d).

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import silhouette_samples
        >>> data = torch.tensor([[0.0], [1.0], [5.0], [6.0]])
        >>> silhouette_samples(data, torch.tensor([0, 0, 1, 1]))
        tensor([0.8182, 0.7778, 0.7778, 0.8182])
    """
    return _result(_silhouette_values(data, labels, metric))


def _silhouette_values(data: Tensor, labels: Tensor, metric: str) -> Tensor:
    if metric not in ("euclidean", "sqeuclidean"):
        raise ValueError(f"Expected argument `metric` to be 'euclidean' or 'sqeuclidean' but got {metric!r}")
    ids, k = cluster_ids(data, labels)
    n = data.shape[0]
    if not 2 <= k <= n - 1:
        raise ValueError(f"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)")
    sums, counts = _silhouette_cluster_sums(data, ids, k, metric)
    return _silhouette(sums, counts, ids)


def _silhouette(sums: Tensor, counts: Tensor, ids: Tensor) -> Tensor:
    own_size = counts[ids].to(torch.float64)
    own = sums.gather(1, ids[:, None]).squeeze(1)
    intra = own / (own_size - 1)
    means = sums / counts.to(torch.float64)
    means.scatter_(1, ids[:, None], math.inf)
    inter = means.min(dim=1).values
    value = (inter - intra) / torch.maximum(intra, inter)
    # A singleton, or a = b = 0 (duplicates). Not every NaN: those of NaN or
    # infinite data stay NaN, where scikit-learn refuses such data.
    undefined = (own_size == 1) | ((intra == 0) & (inter == 0))
    return torch.where(undefined, torch.zeros_like(value), value)


def silhouette_score(data: Tensor, labels: Tensor, metric: SilhouetteMetric = "euclidean") -> Tensor:
    """The mean silhouette of all samples (see :func:`silhouette_samples`); higher is better, in [-1, 1].

    Example:
        >>> import torch
        >>> from clustering_metrics.functional import silhouette_score
        >>> silhouette_score(torch.tensor([[0.0], [1.0], [5.0], [6.0]]), torch.tensor([0, 0, 1, 1]))
        tensor(0.7980)
    """
    return _result(_silhouette_values(data, labels, metric).mean())
