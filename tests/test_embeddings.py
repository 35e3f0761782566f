"""The intrinsic metrics (Calinski-Harabasz, Davies-Bouldin, Dunn, silhouette) and their ops.

References: scikit-learn on exact float64 copies of the data (shifted by the
offset where scikit-learn's own arithmetic would lose it), direct NumPy
float64 evaluations of the definitions, torchmetrics' Dunn index, and exact
rational or 50-digit arithmetic on small cases.
"""

import fractions
import math
import sys

import mpmath
import numpy as np
import pytest
import sklearn.metrics as sk
import torch
import torchmetrics.functional.clustering as tm

import clustering_metrics
from clustering_metrics import functional, ops
from labels import LABEL_DTYPES, distinct_values, make_labels

OFFSET = 1e7


def blobs(seed, n=600, d=5, k=4, offset=0.0, dtype=torch.float32):
    """Float data in k Gaussian blobs, the labels shuffled over arbitrary integers."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(0, k, n)
    data = centers[labels] + rng.normal(size=(n, d)) + offset
    names = rng.permutation(np.array([-7, 3, 1000, 2**40, 5, -(2**50), 9, 11])[:k]) if k <= 8 else np.arange(k) * 3 - 5
    return torch.from_numpy(data).to(dtype), torch.from_numpy(names[labels])


def shifted_float64(data, offset):
    """The same values in float64 minus the offset: exact for float32 values near 1e7 (their ulp is 1)."""
    return data.to(torch.float64).numpy() - offset


# ------------------------------------------------------------------ rank_labels


@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
@pytest.mark.parametrize("mode", ["small", "negative", "extremes", "sparse"])
def test_rank_labels_equals_torch_unique(dtype, mode):
    rng = np.random.default_rng(LABEL_DTYPES.index(dtype) * 4 + len(mode))
    labels = make_labels(rng, dtype, 5_000, distinct_values(rng, dtype, 300, mode))
    ids, distinct = ops.rank_labels(labels)
    expected_distinct, expected_ids = np.unique(labels.numpy(), return_inverse=True)
    assert distinct.dtype == dtype and distinct.numpy().tolist() == expected_distinct.tolist()
    assert ids.dtype == torch.int64 and ids.numpy().tolist() == expected_ids.reshape(-1).tolist()


def test_rank_labels_of_nothing_and_opcheck():
    ids, distinct = ops.rank_labels(torch.empty(0, dtype=torch.int16))
    assert ids.shape == distinct.shape == (0,) and distinct.dtype == torch.int16
    torch.library.opcheck(torch.ops.clustering_metrics.rank_labels.default, (torch.tensor([5, -1, 5, 2**40]),))


# ------------------------------------------------------------------ moments and distances ops


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_cluster_moments_and_distances_equal_numpy(dtype):
    data, labels = blobs(1, n=700, d=6, k=5, dtype=dtype)
    ids, distinct = ops.rank_labels(labels)
    counts, means, m2 = ops.cluster_moments(data, ids, 5)
    x, y = data.to(torch.float64).numpy(), ids.numpy()
    for k in range(5):
        rows = x[y == k]
        assert counts[k] == len(rows)
        np.testing.assert_allclose(means[k].numpy(), rows.mean(0), rtol=1e-14, atol=1e-14)
        assert m2[k].item() == pytest.approx(((rows - rows.mean(0)) ** 2).sum(), rel=1e-13)
    for p in (1, 2, 3.5, math.inf, 700):
        sum_euclidean, max_norm = ops.cluster_distances(data, ids, means, p)
        for k in range(5):
            differences = x[y == k] - means[k].numpy()
            assert sum_euclidean[k].item() == pytest.approx(np.sqrt((differences**2).sum(1)).sum(), rel=1e-13)
            if p == 700:  # numpy's norm overflows there
                mpmath.mp.dps = 30
                expected = max(float(sum(abs(mpmath.mpf(float(v))) ** p for v in row) ** (mpmath.mpf(1) / p))
                               for row in differences)
            else:
                expected = np.linalg.norm(differences, ord=p, axis=1).max()
            assert max_norm[k].item() == pytest.approx(expected, rel=1e-13)


def test_cluster_moments_keep_the_nan_of_a_non_finite_point():
    # The clip of m2 at 0 (against rounding) must not turn NaN into 0.
    data, labels = blobs(3, n=300, d=4, k=3, dtype=torch.float64)
    data[11, 1] = math.nan
    ids, _ = ops.rank_labels(labels)
    counts, means, m2 = ops.cluster_moments(data, ids, 3)
    x, y = data.numpy(), ids.numpy()
    for k in range(3):
        rows = x[y == k]
        np.testing.assert_allclose(means[k].numpy(), rows.mean(0), rtol=1e-13, equal_nan=True)
        np.testing.assert_allclose(m2[k].item(), ((rows - rows.mean(0)) ** 2).sum(), rtol=1e-12, equal_nan=True)
    assert math.isnan(m2[y[11]].item())


@pytest.mark.parametrize("bad_value", [math.nan, math.inf])
@pytest.mark.parametrize("p", [1, 2, 3.5, math.inf])
def test_cluster_distances_keep_the_nan_of_a_non_finite_point(bad_value, p):
    # Given finite centroids, a cluster with a non-finite point has a NaN or
    # infinite largest distance (numpy's max keeps NaN, also across one
    # point's coordinates for p = inf), never the largest of its other
    # points; the other clusters are untouched. (Its sum of distances is
    # NaN, where numpy's is infinite for an infinite point: the compensated
    # sum's correction term is inf - inf.) The NaN cases test the NaN-keeping
    # maximum; the infinite ones guard the rest, which a plain max passed.
    data, labels = blobs(2, n=300, d=4, k=3, dtype=torch.float64)
    ids, _ = ops.rank_labels(labels)
    _, means, _ = ops.cluster_moments(data, ids, 3)
    data[17, 2] = bad_value
    sum_euclidean, max_norm = ops.cluster_distances(data, ids, means, p)
    x, y = data.numpy(), ids.numpy()
    with np.errstate(invalid="ignore"):
        for k in range(3):
            distances = np.linalg.norm(x[y == k] - means[k].numpy(), ord=p, axis=1)
            np.testing.assert_allclose(max_norm[k].item(), distances.max(), rtol=1e-13, equal_nan=True)
            euclidean = np.sqrt(((x[y == k] - means[k].numpy()) ** 2).sum(1)).sum()
            if k == y[17]:
                assert not math.isfinite(sum_euclidean[k].item()) and not math.isfinite(euclidean)
            else:
                assert sum_euclidean[k].item() == pytest.approx(euclidean, rel=1e-13)
    assert not math.isfinite(max_norm[y[17]].item())


def test_weighted_moments_merge_groups_exactly_as_one_pass():
    # Chan's update: moments of parts, merged, equal the moments of the whole.
    data, labels = blobs(2, n=900, offset=OFFSET)
    ids, _ = ops.rank_labels(labels)
    whole = ops.cluster_moments(data, ids, 4)
    parts = [ops.cluster_moments(data[s], ids[s], 4) for s in (slice(0, 100), slice(100, 650), slice(650, 900))]
    sizes = torch.cat([p[0] for p in parts])
    keep = sizes > 0
    merged = ops.cluster_moments(torch.cat([p[1] for p in parts])[keep], torch.arange(4).repeat(3)[keep], 4,
                                 weights=sizes[keep], m2=torch.cat([p[2] for p in parts])[keep])
    assert torch.equal(merged[0], whole[0])
    torch.testing.assert_close(merged[1], whole[1], rtol=1e-15, atol=0)
    # Means near 1e7 carry ~1e-9 of float64 rounding into the merge's n |mean_b - mean|^2 terms.
    torch.testing.assert_close(merged[2], whole[2], rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ops.cluster_moments(torch.zeros(3, 2), torch.tensor([0, 1, 5]), 2), r"cluster ids in \[0, 2\) but found 5"),
        (lambda: ops.cluster_moments(torch.zeros(3, 2), torch.tensor([0, -1, 0]), 2), "but found -1"),
        (lambda: ops.cluster_moments(torch.zeros(3), torch.tensor([0, 1, 0]), 2), "data to be a 2-d tensor"),
        (lambda: ops.cluster_moments(torch.zeros(3, 2, dtype=torch.int64), torch.tensor([0, 1, 0]), 2), "floating-point"),
        (lambda: ops.cluster_moments(torch.zeros(3, 2), torch.tensor([0, 1]), 2), "ids to be an int64 1-d tensor of 3"),
        (lambda: ops.cluster_moments(torch.zeros(2, 2), torch.tensor([0, 1]), 2, weights=torch.tensor([1, -2])),
         "non-negative"),
        (lambda: ops.cluster_distances(torch.zeros(2, 2), torch.tensor([0, 1]), torch.zeros(2, 3, dtype=torch.float64)),
         r"centroids to be a float64 tensor of shape \[2, 2\]"),
        (lambda: ops.cluster_distances(torch.zeros(2, 2), torch.tensor([0, 1]), torch.zeros(2, 2, dtype=torch.float64),
                                       0.0), "positive number"),
        (lambda: ops.silhouette_sums(torch.zeros(2, 2), torch.tensor([0, 3]), 2), r"\[0, 2\) but found 3"),
    ],
)
def test_op_errors_name_the_problem(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_opcheck_of_the_reduction_ops():
    data, labels = blobs(3, n=50, d=3, k=3)
    ids, _ = ops.rank_labels(labels)
    counts, means, m2 = ops.cluster_moments(data, ids, 3)
    torch.library.opcheck(torch.ops.clustering_metrics.cluster_moments.default, (data, ids, 3))
    torch.library.opcheck(torch.ops.clustering_metrics.cluster_moments.default, (means, torch.tensor([0, 1, 1]), 2, counts, m2))
    torch.library.opcheck(torch.ops.clustering_metrics.cluster_distances.default, (data, ids, means, 3.0))
    torch.library.opcheck(torch.ops.clustering_metrics.silhouette_sums.default, (data, ids, 3))


# ------------------------------------------------------------------ Calinski-Harabasz and Davies-Bouldin


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("seed", range(4))
def test_calinski_harabasz_and_davies_bouldin_on_float32_data_offset_by_1e7(seed):
    # torchmetrics sums in float32 (Davies-Bouldin 94% off here, torchmetrics #3467), and scikit-learn's own
    # Davies-Bouldin on the offset data loses the centroid distances to its GEMM expansion: the reference is
    # scikit-learn on the same values shifted back to the origin, exactly.
    data, labels = blobs(seed, n=2_000, d=8, k=5, offset=OFFSET, dtype=torch.float32)
    reference = shifted_float64(data, OFFSET)
    assert functional.calinski_harabasz_score(data, labels).item() == pytest.approx(
        sk.calinski_harabasz_score(reference, labels.numpy()), rel=1e-7)
    assert functional.davies_bouldin_score(data, labels).item() == pytest.approx(
        sk.davies_bouldin_score(reference, labels.numpy()), rel=1e-7)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_calinski_harabasz_and_davies_bouldin_equal_sklearn_on_the_same_values(dtype):
    data, labels = blobs(7, n=1_500, d=6, k=6, dtype=dtype)
    x = data.to(torch.float64).numpy()
    assert functional.calinski_harabasz_score(data, labels).item() == pytest.approx(
        sk.calinski_harabasz_score(x, labels.numpy()), rel=1e-10)
    assert functional.davies_bouldin_score(data, labels).item() == pytest.approx(
        sk.davies_bouldin_score(x, labels.numpy()), rel=1e-10)


def test_calinski_harabasz_equals_exact_rational_arithmetic():
    # Integer data: B and W are exact rationals, and so is the score.
    rng = np.random.default_rng(8)
    points = rng.integers(-20, 20, (40, 3))
    labels = rng.integers(0, 4, 40)
    exact_points = [[fractions.Fraction(int(v)) for v in row] for row in points]
    n, k = len(points), 4

    def mean(rows):
        return [sum(c) / len(rows) for c in zip(*rows)]

    overall = mean(exact_points)
    between = within = fractions.Fraction(0)
    for c in range(k):
        rows = [p for p, l in zip(exact_points, labels) if l == c]
        centre = mean(rows)
        between += len(rows) * sum((a - b) ** 2 for a, b in zip(centre, overall))
        within += sum(sum((a - b) ** 2 for a, b in zip(row, centre)) for row in rows)
    exact = between * (n - k) / (within * (k - 1))
    with clustering_metrics_default(torch.float64):
        got = functional.calinski_harabasz_score(torch.from_numpy(points).to(torch.float64), torch.from_numpy(labels))
    assert got.item() == pytest.approx(float(exact), rel=1e-14)


def test_davies_bouldin_equals_50_digit_arithmetic():
    rng = np.random.default_rng(9)
    points = rng.normal(size=(30, 2)) * 3
    labels = np.arange(30) % 3
    mpmath.mp.dps = 50
    centres, spreads = [], []
    for c in range(3):
        rows = [[mpmath.mpf(float(v)) for v in p] for p, l in zip(points, labels) if l == c]
        centre = [sum(column) / len(rows) for column in zip(*rows)]
        centres.append(centre)
        spreads.append(sum(mpmath.sqrt(sum((a - b) ** 2 for a, b in zip(r, centre))) for r in rows) / len(rows))
    worst = []
    for i in range(3):
        worst.append(max((spreads[i] + spreads[j]) / mpmath.sqrt(sum((a - b) ** 2 for a, b in zip(centres[i], centres[j])))
                         for j in range(3) if j != i))
    exact = sum(worst) / 3
    with clustering_metrics_default(torch.float64):
        got = functional.davies_bouldin_score(torch.from_numpy(points), torch.from_numpy(labels))
    assert got.item() == pytest.approx(float(exact), rel=1e-14)


class clustering_metrics_default:
    """torch's default dtype for the block (the results' dtype)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.previous = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *args):
        torch.set_default_dtype(self.previous)


@pytest.mark.usefixtures("float64_default")
def test_edge_cases_follow_sklearn():
    # Every point on its centroid: W = 0 gives 1 (CH), the intra distances 0 give 0 (DB).
    data = torch.tensor([[1.0, 1.0], [1.0, 1.0], [5.0, 5.0], [5.0, 5.0], [9.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    assert functional.calinski_harabasz_score(data, labels).item() == sk.calinski_harabasz_score(data, labels) == 1.0
    assert functional.davies_bouldin_score(data, labels).item() == sk.davies_bouldin_score(data, labels) == 0.0
    # All centroids in one place: DB 0.
    data = torch.tensor([[0.0], [2.0], [1.0], [1.0]])
    assert functional.davies_bouldin_score(data, torch.tensor([0, 0, 1, 1])).item() == 0.0


@pytest.mark.parametrize("bad_value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("function", [functional.calinski_harabasz_score, functional.davies_bouldin_score,
                                      functional.dunn_index])
def test_non_finite_data_give_nan(function, bad_value):
    # scikit-learn refuses such data; the edge-case values (1 for W = 0, 0 for
    # zero intra distances) must not stand in for the NaN they make.
    data, labels = blobs(24, n=50, d=3, k=3)
    data[7, 2] = bad_value
    assert math.isnan(function(data, labels).item())
    # Clusters of repeated points (W = 0, whose Calinski-Harabasz value is 1)
    # and one NaN point: its cluster's m2 must stay NaN, not be clipped to 0.
    repeated = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 1.0], [3.0, 1.0], [bad_value, 1.0]])
    assert math.isnan(function(repeated, torch.tensor([0, 0, 1, 1, 1])).item())


@pytest.mark.parametrize("bad_value", [math.nan, math.inf])
def test_calinski_harabasz_class_with_a_non_finite_batch_is_nan(bad_value):
    # The class merges per-batch moments (weights = sizes, m2 = moments): a
    # NaN moment of one batch must reach the result.
    metric = clustering_metrics.CalinskiHarabaszScore()
    metric.update(torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 1.0]]), torch.tensor([0, 0, 1]))
    metric.update(torch.tensor([[3.0, 1.0], [bad_value, 1.0]]), torch.tensor([1, 1]))
    assert math.isnan(metric.compute().item())


@pytest.mark.parametrize("function", [functional.calinski_harabasz_score, functional.davies_bouldin_score])
def test_argument_checks_match_torchmetrics(function):
    reference = getattr(tm, function.__name__)
    cases = [
        (torch.zeros(4), torch.tensor([0, 1, 0, 1])),
        (torch.zeros(4, 2, dtype=torch.int64), torch.tensor([0, 1, 0, 1])),
        (torch.zeros(4, 2), torch.zeros(4, 1, dtype=torch.int64)),
        (torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64)),  # one cluster
        (torch.zeros(4, 2), torch.arange(4)),  # as many clusters as samples
    ]
    for data, labels in cases:
        with pytest.raises(ValueError) as theirs:
            reference(data, labels)
        with pytest.raises(ValueError) as ours:
            function(data, labels)
        assert str(ours.value).split(".")[0].replace(" ", "") == str(theirs.value).split(".")[0].replace(" ", "")


# ------------------------------------------------------------------ Dunn


def numpy_dunn(data: np.ndarray, labels: np.ndarray, p: float) -> float:
    """torchmetrics' definition in float64 NumPy: least centroid distance over the largest point-centroid distance."""
    clusters = [data[labels == c] for c in np.unique(labels)]
    centroids = [c.mean(0) for c in clusters]
    inter = min(np.linalg.norm(a - b, ord=p) for i, a in enumerate(centroids) for b in centroids[i + 1:])
    intra = max(np.linalg.norm(c - mu, ord=p, axis=1).max() for c, mu in zip(clusters, centroids))
    return inter / intra


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("p", [1, 2, 3, math.inf])
def test_dunn_index_equals_torchmetrics_definition_in_float64(p):
    data, labels = blobs(12, n=800, d=4, k=6, offset=OFFSET)
    expected = numpy_dunn(data.to(torch.float64).numpy(), labels.numpy(), p)
    assert functional.dunn_index(data, labels, p).item() == pytest.approx(expected, rel=1e-9)
    small, small_labels = blobs(13, n=200, d=3, k=3, dtype=torch.float64)
    assert functional.dunn_index(small, small_labels, p).item() == pytest.approx(
        tm.dunn_index(small, small_labels, p).item(), rel=1e-12)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("p", [0.5, 3, 500, 1000, 1e5])
def test_dunn_index_of_any_p_equals_50_digit_arithmetic(p):
    # |d|^p leaves float64's range past p of a few hundred (torchmetrics then
    # gives 0 or NaN); mpmath's numbers have no such limit.
    data, labels = blobs(14, n=60, d=3, k=3, dtype=torch.float64)
    mpmath.mp.dps = 50
    rows = [[mpmath.mpf(v) for v in row] for row in data.tolist()]
    groups = {c: [r for r, l in zip(rows, labels.tolist()) if l == c] for c in set(labels.tolist())}
    centroids = {c: [sum(column) / len(members) for column in zip(*members)] for c, members in groups.items()}
    norm = lambda a, b: sum(abs(x - y) ** p for x, y in zip(a, b)) ** (1 / mpmath.mpf(p))
    names = sorted(groups)
    inter = min(norm(centroids[a], centroids[b]) for i, a in enumerate(names) for b in names[i + 1:])
    intra = max(norm(r, centroids[c]) for c, members in groups.items() for r in members)
    assert functional.dunn_index(data, labels, p).item() == pytest.approx(float(inter / intra), rel=1e-13)


@pytest.mark.parametrize("p", [0.001, 0.5, 3, 700])
def test_p_norms_leave_float64_only_where_their_value_does(p):
    # Row 0's norm is 6^(1/p) * 1e-300 (1e778 at p = 0.001): a sum of |d|^p
    # alone, or its 1/p-th power, leaves the range where the norm may not.
    data = torch.tensor([[1e-300, 2e-300, 3e-300], [1e-300, 1e-300, 1e-300], [1e300, -1e300, 1.0],
                         [1e308, -1e308, 0.0]], dtype=torch.float64)
    ids = torch.tensor([0, 0, 1, 2])
    _, max_norm = ops.cluster_distances(data, ids, torch.zeros(3, 3, dtype=torch.float64), p)
    mpmath.mp.dps = 50
    norm = lambda row: sum(abs(mpmath.mpf(v)) ** p for v in row) ** (1 / mpmath.mpf(p))
    for k, rows in ((0, [0, 1]), (1, [2]), (2, [3])):
        expected = max(norm(data[i].tolist()) for i in rows)
        if expected > mpmath.mpf(sys.float_info.max):
            assert max_norm[k].item() == math.inf
        else:
            assert max_norm[k].item() == pytest.approx(float(expected), rel=1e-13)
    # Differences past float64's range are infinite, as torch.linalg.norm gives them, not NaN.
    far = torch.tensor([[1.5e308, -1.5e308], [-1.5e308, 1.5e308]], dtype=torch.float64)
    _, max_norm = ops.cluster_distances(far[:1], torch.tensor([0]), far[1:], p)
    assert max_norm.item() == math.inf == torch.linalg.vector_norm(far[0] - far[1], ord=p).item()


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("p", [0.5, 3])  # (p = 2 squares its differences, which overflow past 1e154: docs/usage.md)
def test_dunn_index_of_centroids_further_apart_than_float64_holds(p):
    data = torch.tensor([[1e308], [1.5e308], [-1e308], [-1.5e308]], dtype=torch.float64)
    assert functional.dunn_index(data, torch.tensor([0, 0, 1, 1]), p).item() == math.inf


def test_dunn_index_of_points_on_their_centroids_follows_torchmetrics():
    # Every point on its centroid: the largest distance to a centroid is 0.
    apart = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert functional.dunn_index(apart, labels).item() == math.inf
    assert tm.dunn_index(apart, labels).item() == math.inf
    # The centroids coincide too: 0 / 0.
    assert math.isnan(functional.dunn_index(torch.ones(4, 2), labels).item())
    assert math.isnan(tm.dunn_index(torch.ones(4, 2), labels).item())


def test_dunn_index_docstring_example_and_checks():
    data = torch.tensor([[0, 0], [0.5, 0], [1, 0], [0.5, 1]])
    assert functional.dunn_index(data, torch.tensor([0, 0, 0, 1])).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least two clusters"):
        functional.dunn_index(data, torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="`p` to be a positive number"):
        functional.dunn_index(data, torch.tensor([0, 0, 0, 1]), p=0)


# ------------------------------------------------------------------ silhouette


def direct_silhouette(data: np.ndarray, labels: np.ndarray, squared=False) -> np.ndarray:
    """The definition in float64: every distance from its differences, plain means."""
    differences = data[:, None, :] - data[None, :, :]
    distances = (differences**2).sum(-1)
    if not squared:
        distances = np.sqrt(distances)
    clusters = np.unique(labels)
    result = np.zeros(len(data))
    for i, own in enumerate(labels):
        size = (labels == own).sum()
        if size == 1:
            continue
        a = distances[i, labels == own].sum() / (size - 1)
        b = np.min([distances[i, labels == c].mean() for c in clusters if c != own])  # NaN if any is
        result[i] = 0.0 if a == b == 0 else (b - a) / np.maximum(a, b)
    return result


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
@pytest.mark.parametrize("offset", [0.0, OFFSET])
def test_every_silhouette_sample_within_1e10_of_direct_float64(metric, offset):
    data, labels = blobs(20, n=400, d=7, k=5, offset=offset)
    expected = direct_silhouette(data.to(torch.float64).numpy(), labels.numpy(), squared=metric == "sqeuclidean")
    got = functional.silhouette_samples(data, labels, metric=metric).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    assert functional.silhouette_score(data, labels, metric=metric).item() == pytest.approx(expected.mean(), abs=1e-10)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_silhouette_of_clusters_far_from_the_first_row_is_exact_in_any_row_order(metric):
    # Clusters 1e8 from the first row's cluster and 0.3 from each other: the
    # squared distances' closed form must not take the means relative to one
    # row for all clusters (their rounding at 1e8 is 1e-8).
    rng = np.random.default_rng(24)
    labels = np.array([0] * 4 + [1, 2] * 13)
    data = rng.normal(size=(30, 2))
    data[4:] += 1e8
    data[4:][labels[4:] == 2] += 0.3
    expected = direct_silhouette(data, labels, squared=metric == "sqeuclidean")
    for order in (np.arange(30), np.r_[4:30, 0:4], rng.permutation(30)):
        got = functional.silhouette_samples(torch.from_numpy(data[order]), torch.from_numpy(labels[order]), metric=metric)
        np.testing.assert_allclose(got.numpy(), expected[order], rtol=1e-12, atol=1e-15)


@pytest.mark.usefixtures("float64_default")
def test_silhouette_equals_sklearn_and_50_digit_arithmetic():
    data, labels = blobs(21, n=300, d=4, k=3, dtype=torch.float64)
    assert functional.silhouette_score(data, labels).item() == pytest.approx(
        sk.silhouette_score(data.numpy(), labels.numpy()), rel=1e-9)
    mpmath.mp.dps = 50
    small = data[:12].tolist()
    small_labels = [0, 0, 0, 1, 1, 1, 1, 2, 2, 0, 1, 2]
    points = [[mpmath.mpf(v) for v in row] for row in small]
    distance = lambda a, b: mpmath.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    for i, own in enumerate(small_labels):
        same = [distance(points[i], points[j]) for j, l in enumerate(small_labels) if l == own and j != i]
        a = sum(same) / len(same)
        b = min(sum(distance(points[i], points[j]) for j, l in enumerate(small_labels) if l == c)
                / small_labels.count(c) for c in (0, 1, 2) if c != own)
        expected = (b - a) / max(a, b)
        got = functional.silhouette_samples(torch.tensor(small), torch.tensor(small_labels))[i].item()
        assert got == pytest.approx(float(expected), rel=1e-14, abs=1e-15)


@pytest.mark.usefixtures("float64_default")
def test_silhouette_conventions_follow_sklearn():
    # A singleton cluster's sample scores 0; duplicates with a = b = 0 score 0.
    data = torch.tensor([[0.0], [0.1], [5.0], [9.0], [9.0]])
    labels = torch.tensor([0, 0, 1, 2, 2])
    np.testing.assert_allclose(functional.silhouette_samples(data, labels).numpy(),
                               sk.silhouette_samples(data.numpy(), labels.numpy()), rtol=1e-12, atol=1e-15)
    for bad in (torch.zeros(5, dtype=torch.int64), torch.arange(5)):
        with pytest.raises(ValueError, match="Valid values are 2 to n_samples - 1"):
            functional.silhouette_score(data, bad)
    with pytest.raises(ValueError, match="'euclidean' or 'sqeuclidean'"):
        functional.silhouette_score(data, labels, metric="cosine")


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("bad_value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_silhouette_of_non_finite_data_is_nan_not_zero(bad_value, metric):
    # The 0 that a = b = 0 gets must not swallow the NaNs of bad data. The
    # direct evaluation of the definition has NaN for every sample with a NaN
    # coordinate anywhere, and for those whose a or b is infinite with an
    # infinite one; we give NaN for every sample outside a singleton cluster
    # in both cases (the distances are taken relative to a shared origin),
    # never a number where the definition has none.
    data, labels = blobs(23, n=40, d=3, k=3, dtype=torch.float64)
    labels[-1] = 7  # a singleton, which keeps its 0
    data[5, 1] = bad_value
    with np.errstate(invalid="ignore"):
        expected = direct_silhouette(data.numpy(), labels.numpy(), squared=metric == "sqeuclidean")
    assert np.isnan(expected).sum() >= 10 and expected[-1] == 0
    if math.isnan(bad_value):
        assert np.isnan(expected[:-1]).all()
    got = functional.silhouette_samples(data, labels, metric=metric).numpy()
    assert np.isnan(got[:-1]).all() and got[-1] == 0
    assert math.isnan(functional.silhouette_score(data, labels, metric=metric).item())


def test_silhouette_is_the_same_bits_at_any_thread_count():
    data, labels = blobs(22, n=700, d=9, k=6, offset=OFFSET)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = ops.silhouette_sums(data, ops.rank_labels(labels)[0], 6)
        torch.set_num_threads(max(2, threads))
        many = ops.silhouette_sums(data, ops.rank_labels(labels)[0], 6)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)


# ------------------------------------------------------------------ the classes


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("name", ["CalinskiHarabaszScore", "DaviesBouldinScore", "DunnIndex", "SilhouetteScore"])
def test_classes_equal_the_functionals_on_all_batches(name):
    data, labels = blobs(30, n=1_000, d=5, k=5, offset=OFFSET)
    metric = getattr(clustering_metrics, name)()
    for part in (slice(0, 1), slice(1, 400), slice(400, 1_000)):
        metric.update(data[part], labels[part])
    function = {"CalinskiHarabaszScore": functional.calinski_harabasz_score,
                "DaviesBouldinScore": functional.davies_bouldin_score, "DunnIndex": functional.dunn_index,
                "SilhouetteScore": functional.silhouette_score}[name]
    expected = function(data, labels).item()
    # Calinski-Harabasz merges each batch's moments (Chan): its means near 1e7 round differently by ~1e-9.
    assert metric.compute().item() == pytest.approx(expected, rel=1e-9 if name == "CalinskiHarabaszScore" else 1e-12)


def test_class_flags_and_state_sizes():
    assert clustering_metrics.DaviesBouldinScore.higher_is_better is False
    assert all(getattr(clustering_metrics, n).higher_is_better for n in ("CalinskiHarabaszScore", "DunnIndex",
                                                                         "SilhouetteScore", "ClusterAccuracy"))
    data, labels = blobs(31, n=5_000, d=16, k=7)
    metric = clustering_metrics.CalinskiHarabaszScore()
    for start in range(0, 5_000, 500):
        metric.update(data[start:start + 500], labels[start:start + 500])
    state = [metric.cluster_labels, metric.cluster_sizes, metric.cluster_means, metric.cluster_m2]
    # O(k d): one merged tensor per state, however many batches.
    assert all(len(s) == 1 for s in state) and metric.cluster_means[0].shape == (7, 16)


@pytest.mark.usefixtures("float64_default")
def test_embedding_state_is_a_copy_and_shared_by_compute_groups():
    import torchmetrics

    data, labels = blobs(32, n=300, d=3, k=3)
    buffer = data.clone()
    collection = torchmetrics.MetricCollection(
        {"db": clustering_metrics.DaviesBouldinScore(), "dunn": clustering_metrics.DunnIndex(),
         "silhouette": clustering_metrics.SilhouetteScore()}, compute_groups=True)
    collection.update(buffer, labels)
    buffer.fill_(0)  # the caller reuses its buffer
    collection.update(data, labels)
    values = collection.compute()
    both, both_labels = torch.cat([data, data]), torch.cat([labels, labels])
    assert values["db"].item() == pytest.approx(functional.davies_bouldin_score(both, both_labels).item(), rel=1e-12)
    assert values["silhouette"].item() == pytest.approx(functional.silhouette_score(both, both_labels).item(), rel=1e-12)
    assert len(collection.compute_groups) == 1


def test_compute_before_update_says_so():
    for name in ("CalinskiHarabaszScore", "DaviesBouldinScore", "DunnIndex", "SilhouetteScore"):
        with pytest.raises(ValueError, match="call update"), pytest.warns(UserWarning):
            getattr(clustering_metrics, name)().compute()


def test_functionals_under_torch_compile():
    data, labels = blobs(33, n=200, d=3, k=3)
    for function in (functional.calinski_harabasz_score, functional.davies_bouldin_score, functional.dunn_index,
                     functional.silhouette_score, functional.cluster_accuracy):
        args = (data, labels) if function is not functional.cluster_accuracy else (labels, labels % 2)
        compiled = torch.compile(function, fullgraph=False)
        assert torch.equal(compiled(*args), function(*args)), function.__name__
