"""The linear-assignment op, cluster accuracy, the contingency matrix and the pair confusion matrix.

References: scipy's linear_sum_assignment, brute force over permutations,
scikit-learn's contingency_matrix and pair_confusion_matrix, and exact
integer arithmetic.
"""

import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from sklearn.metrics.cluster import contingency_matrix as sklearn_contingency_matrix
from sklearn.metrics.cluster import pair_confusion_matrix as sklearn_pair_confusion_matrix

import clustering_metrics
from clustering_metrics import functional, ops
from labels import LABEL_DTYPES, distinct_values, make_labels

OP = torch.ops.clustering_metrics.linear_sum_assignment.default


def brute_force_best(cost: np.ndarray, maximize: bool) -> int:
    """The best total over every one-to-one map of the shorter side into the longer one."""
    rows, cols = cost.shape
    if rows > cols:
        cost, (rows, cols) = cost.T, (cols, rows)
    totals = (sum(int(cost[i, j]) for i, j in enumerate(chosen)) for chosen in itertools.permutations(range(cols), rows))
    return max(totals) if maximize else min(totals)


# ------------------------------------------------------------------ the op


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (3, 5), (5, 3), (6, 6)])
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("values", ["random", "ties", "negative", "huge"])
def test_optimum_equals_brute_force(shape, maximize, values):
    rng = np.random.default_rng(hash((shape, maximize, values)) % 2**32)
    if values == "random":
        cost = rng.integers(0, 100, shape)
    elif values == "ties":
        cost = rng.integers(0, 2, shape)
    elif values == "negative":
        cost = rng.integers(-50, 50, shape)
    else:  # differences of 1 on top of 2^40: float32 costs could not tell them apart
        cost = 2**40 + rng.integers(0, 3, shape)
    rows, cols = ops.linear_sum_assignment(torch.from_numpy(cost), maximize=maximize)
    assert rows.tolist() == sorted(set(rows.tolist())) and len(set(cols.tolist())) == len(cols) == min(shape)
    assert int(cost[rows.numpy(), cols.numpy()].sum()) == brute_force_best(cost, maximize)


@pytest.mark.parametrize("shape", [(40, 40), (30, 90), (90, 30), (300, 200), (1, 500)])
@pytest.mark.parametrize("maximize", [False, True])
def test_optimum_and_rows_equal_scipy(shape, maximize):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1] + maximize)
    cost = rng.poisson(3.0, shape).astype(np.int64)
    rows, cols = ops.linear_sum_assignment(torch.from_numpy(cost), maximize=maximize)
    expected_rows, expected_cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize)
    assert rows.tolist() == expected_rows.tolist()
    assert cost[rows.numpy(), cols.numpy()].sum() == cost[expected_rows, expected_cols].sum()


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (4, 0)])
def test_empty_cost_assigns_nothing(shape):
    rows, cols = ops.linear_sum_assignment(torch.zeros(shape, dtype=torch.int64))
    assert rows.shape == cols.shape == (0,) and rows.dtype == cols.dtype == torch.int64


@pytest.mark.parametrize(
    "cost, message",
    [
        (torch.zeros(3, 3), "Expected cost to be a 2-d int64 tensor .* but got Float"),
        (torch.zeros(3, dtype=torch.int64), r"but got Long of shape \[3\]"),
        (torch.tensor([[0, 2**62], [1, 2]]), "the costs span"),
    ],
)
def test_bad_costs_are_refused(cost, message):
    with pytest.raises(RuntimeError, match=message):
        ops.linear_sum_assignment(cost)
    with pytest.raises(TypeError, match="`cost` to be a torch.Tensor"):
        ops.linear_sum_assignment([[1, 2]])


def test_opcheck():
    cost = torch.tensor([[4, 1, 3], [2, 0, 5], [3, 2, 2]])
    torch.library.opcheck(OP, (cost, True))
    torch.library.opcheck(OP, (cost.T.contiguous(), False))


# ------------------------------------------------------------------ cluster accuracy


def reference_accuracy(preds, target) -> float:
    table = sklearn_contingency_matrix(np.asarray(target), np.asarray(preds))
    rows, cols = scipy.optimize.linear_sum_assignment(table, maximize=True)
    return table[rows, cols].sum() / len(preds)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize(
    "pred_clusters, target_clusters, n",
    [(5, 5, 2_000), (1, 7, 300), (7, 1, 300), (3, 12, 1_000), (12, 3, 1_000), (40, 40, 5_000), (200, 150, 4_000)],
)
def test_cluster_accuracy_equals_scipy_on_random_and_rectangular_tables(pred_clusters, target_clusters, n):
    rng = np.random.default_rng(pred_clusters * 100 + target_clusters)
    preds = rng.integers(0, pred_clusters, n) * 7 - 3  # labels need not be 0 .. K - 1
    target = rng.integers(0, target_clusters, n)
    got = functional.cluster_accuracy(torch.from_numpy(preds), torch.from_numpy(target))
    assert got.item() == pytest.approx(reference_accuracy(preds, target), rel=1e-15)


@pytest.mark.usefixtures("float64_default")
def test_cluster_accuracy_on_tied_and_degenerate_tables():
    # Every cell equal: any assignment is optimal.
    preds = torch.arange(36) % 6
    target = torch.arange(36) // 6
    assert functional.cluster_accuracy(preds, target).item() == pytest.approx(reference_accuracy(preds, target))
    # One cluster, one class, and a perfect relabelling.
    assert functional.cluster_accuracy(torch.zeros(9, dtype=torch.int64), torch.zeros(9, dtype=torch.int8)).item() == 1
    assert functional.cluster_accuracy(torch.tensor([3, 3, 9, 1]), torch.tensor([0, 0, 2, 1])).item() == 1
    assert math.isnan(functional.cluster_accuracy(torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64)))


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
def test_cluster_accuracy_of_every_dtype(dtype):
    rng = np.random.default_rng(LABEL_DTYPES.index(dtype))
    preds = make_labels(rng, dtype, 800, distinct_values(rng, dtype, 6, "extremes"))
    target = make_labels(rng, torch.int64, 800, [-(2**63), 0, 5, 2**63 - 1])
    as_ints = lambda t: (t.view(torch.int64) if t.dtype == torch.uint64 else t.to(torch.int64)).numpy()
    expected = reference_accuracy(as_ints(preds), as_ints(target))
    assert functional.cluster_accuracy(preds, target).item() == pytest.approx(expected, rel=1e-15)


@pytest.mark.usefixtures("float64_default")
def test_cluster_accuracy_at_2000_by_2000_from_4e6_labels_equals_scipy():
    rng = np.random.default_rng(2000)
    preds, target = rng.integers(0, 2000, 4_000_000), rng.integers(0, 2000, 4_000_000)
    got = functional.cluster_accuracy(torch.from_numpy(preds), torch.from_numpy(target)).item()
    assert got == pytest.approx(reference_accuracy(preds, target), rel=1e-15)


def test_cluster_accuracy_num_classes_checks_as_torchmetrics():
    preds, target = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1])
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="Argument `num_classes` should be a positive integer"):
            functional.cluster_accuracy(preds, target, bad)
        with pytest.raises(ValueError, match="Argument `num_classes` should be a positive integer"):
            clustering_metrics.ClusterAccuracy(num_classes=bad)
    with pytest.raises(RuntimeError, match=r"the value 2 in `preds`, outside the range \[0, 2\)"):
        functional.cluster_accuracy(preds, target, 2)
    with pytest.raises(RuntimeError, match=r"the value -1 in `target`"):
        functional.cluster_accuracy(preds, torch.tensor([0, -1, 1]), 3)
    assert functional.cluster_accuracy(preds, target, 3).item() == pytest.approx(2 / 3)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("num_classes", [None, 12])
def test_cluster_accuracy_class_accumulates_batches(num_classes):
    rng = np.random.default_rng(5)
    batches = [(torch.from_numpy(rng.integers(0, 12, n)), torch.from_numpy(rng.integers(0, 9, n))) for n in (500, 1, 70_000)]
    metric = clustering_metrics.ClusterAccuracy(num_classes=num_classes)
    for preds, target in batches:
        metric.update(preds, target)
    preds, target = torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches])
    assert metric.compute().item() == pytest.approx(reference_accuracy(preds.numpy(), target.numpy()), rel=1e-15)
    assert metric.higher_is_better is True


# ------------------------------------------------------------------ contingency and pair confusion matrices


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtypes", [(torch.int64, torch.int64), (torch.int8, torch.uint64), (torch.bool, torch.int32)],
                         ids=str)
def test_contingency_matrix_equals_sklearn(sparse, dtypes):
    rng = np.random.default_rng(11)
    preds = make_labels(rng, dtypes[0], 3_000, distinct_values(rng, dtypes[0], 9, "negative"))
    target = make_labels(rng, dtypes[1], 3_000, distinct_values(rng, dtypes[1], 7, "extremes"))
    got = functional.contingency_matrix(preds, target, sparse=sparse)
    as_ints = lambda t: [int(v) % 2**64 if t.dtype == torch.uint64 else int(v) for v in t.to(torch.int64).tolist()] \
        if t.dtype != torch.uint64 else [int(v) % 2**64 for v in t.view(torch.int64).tolist()]
    expected = sklearn_contingency_matrix(as_ints(target), as_ints(preds))
    dense = got.to_dense() if sparse else got
    assert got.dtype == torch.int64 and dense.tolist() == expected.tolist()
    if sparse:
        # Operations that trust the coalesced flag read the cells in row-major order.
        assert got.to_sparse_csr().to_dense().tolist() == expected.tolist()
        assert got.to_sparse_csc().to_dense().tolist() == expected.tolist()
        torch.sparse_coo_tensor(got.indices(), got.values(), got.shape, is_coalesced=True, check_invariants=True)


@pytest.mark.parametrize("seed, n, pred_clusters, target_clusters", [(0, 1, 1, 1), (1, 2, 2, 1), (2, 500, 7, 3),
                                                                     (3, 10_000, 300, 200), (4, 0, 1, 1)])
def test_pair_confusion_matrix_equals_sklearn(seed, n, pred_clusters, target_clusters):
    rng = np.random.default_rng(seed)
    preds, target = rng.integers(0, pred_clusters, n), rng.integers(0, target_clusters, n)
    got = functional.pair_confusion_matrix(torch.from_numpy(preds), torch.from_numpy(target))
    assert got.dtype == torch.int64 and got.tolist() == sklearn_pair_confusion_matrix(target, preds).tolist()


def test_pair_confusion_matrix_is_exact_up_to_int64_and_refuses_beyond():
    # Expanded labels cost their storage, so N near 3e9 is cheap: one cell of N samples.
    largest = 3_037_000_500  # N (N - 1) <= 2^63 - 1 < (N + 1) N
    assert largest * (largest - 1) <= 2**63 - 1 < (largest + 1) * largest
    got = functional.pair_confusion_matrix(torch.tensor([1]).expand(largest), torch.tensor([2]).expand(largest))
    assert got.tolist() == [[0, 0], [0, largest * (largest - 1)]]
    with pytest.raises(ValueError, match="more than an int64 holds"):
        functional.pair_confusion_matrix(torch.tensor([1]).expand(largest + 1), torch.tensor([2]).expand(largest + 1))
