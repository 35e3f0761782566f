"""Known label bounds: count_into_table and the metrics' dense-table state (num_pred_clusters, num_target_clusters)."""

import numpy as np
import pytest
import sklearn.metrics as sk
import torch
from labels import LABEL_DTYPES, distinct_values, make_labels
from test_family import CLASSES, METRICS, SKLEARN

import clustering_metrics
from clustering_metrics import ClusteringScores, MutualInfoScore, ops

OP = torch.ops.clustering_metrics.count_into_table


def reference_table(preds, target, num_pred, num_target):
    """The table counted in Python ints: cells in row-major order, then the samples outside the bounds."""
    table = [0] * (num_pred * num_target + 1)
    as_ints = lambda t: [int(v) % 2**64 if t.dtype == torch.uint64 else int(v) for v in
                         (t.view(torch.int64) if t.dtype == torch.uint64 else t.to(torch.int64)).tolist()]
    for p, t in zip(as_ints(preds), as_ints(target)):
        inside = 0 <= p < num_pred and 0 <= t < num_target
        table[p * num_target + t if inside else -1] += 1
    return torch.tensor(table, dtype=torch.int64)


def batches(seed, num_pred, num_target, sizes):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, num_pred, (n,), generator=generator), torch.randint(0, num_target, (n,), generator=generator))
            for n in sizes]


# ------------------------------------------------------------------ the op


@pytest.mark.parametrize("pred_dtype", LABEL_DTYPES, ids=str)
@pytest.mark.parametrize("target_dtype", LABEL_DTYPES, ids=str)
def test_count_into_table_counts_every_dtype_pair(pred_dtype, target_dtype):
    rng = np.random.default_rng(LABEL_DTYPES.index(pred_dtype) * 9 + LABEL_DTYPES.index(target_dtype))
    preds = make_labels(rng, pred_dtype, 1_000, distinct_values(rng, pred_dtype, 8, "negative"))
    target = make_labels(rng, target_dtype, 1_000, distinct_values(rng, target_dtype, 5, "extremes"))
    table = torch.zeros(6 * 4 + 1, dtype=torch.int64)
    ops.count_into_table(preds, target, table, 6, 4)
    assert torch.equal(table, reference_table(preds, target, 6, 4))


def test_count_into_table_accumulates_and_keeps_the_table():
    preds, target = torch.tensor([0, 1, 1, 2]), torch.tensor([1, 0, 0, 1])
    table = torch.zeros(7, dtype=torch.int64)
    storage = table.data_ptr()
    ops.count_into_table(preds, target, table, 3, 2)
    ops.count_into_table(preds, target, table, 3, 2)
    assert table.data_ptr() == storage
    assert table.tolist() == [0, 2, 4, 0, 0, 2, 0]


def test_labels_outside_the_bounds_go_to_the_last_entry():
    preds = torch.tensor([-1, 0, 3, 2, 2**40, 1])
    target = torch.tensor([0, 5, 0, 1, 0, -(2**63)])
    table = torch.zeros(3 * 2 + 1, dtype=torch.int64)
    ops.count_into_table(preds, target, table, 3, 2)
    # Only (2, 1) is inside; -1, 5, 3, 2^40 and -2^63 are not, nor wrapped into a cell.
    assert table.tolist() == [0, 0, 0, 0, 0, 1, 5]
    uint64 = torch.tensor([-(2**63) + 1, 1], dtype=torch.int64).view(torch.uint64)  # 2^63 + 1: huge, not negative
    table = torch.zeros(3, dtype=torch.int64)
    ops.count_into_table(uint64, torch.zeros(2, dtype=torch.int64), table, 2, 1)
    assert table.tolist() == [0, 1, 1]


def test_bool_bytes_other_than_one_are_true():
    preds = torch.tensor([0, 1, 2, 255], dtype=torch.uint8).view(torch.bool)
    table = torch.zeros(5, dtype=torch.int64)
    ops.count_into_table(preds, torch.tensor([0, 0, 1, 1]), table, 2, 2)
    assert table.tolist() == [1, 0, 1, 2, 0]


def test_empty_batch_changes_nothing():
    table = torch.arange(7)
    ops.count_into_table(torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int8), table, 2, 3)
    assert table.tolist() == list(range(7))


@pytest.mark.parametrize(
    "table, bounds, message",
    [
        (torch.zeros(6, dtype=torch.int64), (2, 3), r"num_pred_clusters x num_target_clusters \+ 1 = 7 entries but got shape \[6\]"),
        (torch.zeros(7, dtype=torch.int32), (2, 3), "Expected table to be int64 but got Int"),
        (torch.zeros(7, 1, dtype=torch.int64), (2, 3), r"but got shape \[7, 1\]"),
        (torch.zeros(14, dtype=torch.int64)[::2], (2, 3), "contiguous"),
        (torch.zeros(7, dtype=torch.int64), (0, 3), "positive but got 0 and 3"),
        (torch.zeros(7, dtype=torch.int64), (2**16, 2**16), "below 2\\^32 - 1 but got 65536 x 65536"),
        (torch.zeros(7, dtype=torch.int64), (-(2**40), 3), "positive"),
    ],
)
def test_count_into_table_errors_name_the_problem(table, bounds, message):
    with pytest.raises(RuntimeError, match=message):
        ops.count_into_table(torch.tensor([0, 1]), torch.tensor([0, 1]), table, *bounds)


def test_count_into_table_checks_the_labels_like_every_op():
    table = torch.zeros(5, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="same length but got 2 and 3"):
        ops.count_into_table(torch.tensor([0, 1]), torch.tensor([0, 1, 1]), table, 2, 2)
    with pytest.raises(RuntimeError, match="real, discrete values"):
        ops.count_into_table(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), table, 2, 2)
    with pytest.raises(TypeError, match="`table` to be a torch.Tensor but got list"):
        ops.count_into_table(torch.tensor([0, 1]), torch.tensor([0, 1]), [0] * 5, 2, 2)


@pytest.mark.parametrize("dtypes", [(torch.int64, torch.int64), (torch.uint8, torch.int32), (torch.bool, torch.uint64)])
def test_count_into_table_opcheck(dtypes):
    preds = torch.tensor([0, 1, 1, 0, 1], dtype=torch.int64).to(dtypes[0])
    target = torch.tensor([2, 0, 1, 2, 5], dtype=torch.int64).to(dtypes[1])
    torch.library.opcheck(OP.default, (preds, target, torch.zeros(2 * 3 + 1, dtype=torch.int64), 2, 3))


def test_count_into_table_under_torch_compile():
    def update(preds, target, table):
        ops.count_into_table(preds, target, table, 4, 4)
        return table

    compiled = torch.compile(update, fullgraph=True, backend="inductor")
    preds, target = torch.tensor([0, 3, 3, 1]), torch.tensor([1, 1, 1, 3])
    table = compiled(preds, target, torch.zeros(17, dtype=torch.int64))
    assert torch.equal(table, reference_table(preds, target, 4, 4))


# ------------------------------------------------------------ the metrics


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("name", METRICS)
def test_bounded_metrics_match_sklearn_on_all_batches(name):
    data = batches(7, 12, 9, [1_000, 1, 0, 3_333])
    metric = getattr(clustering_metrics, CLASSES[name])(num_pred_clusters=12, num_target_clusters=9)
    for preds, target in data:
        metric.update(preds, target)
    preds = torch.cat([p for p, _ in data]).numpy()
    target = torch.cat([t for _, t in data]).numpy()
    assert metric.compute().item() == pytest.approx(SKLEARN[name](target, preds), rel=1e-12, abs=1e-12)


@pytest.mark.usefixtures("float64_default")
def test_bounded_and_unbounded_states_give_the_same_scores():
    data = batches(8, 30, 30, [5_000, 777])
    bounded = ClusteringScores(num_pred_clusters=30, num_target_clusters=30)
    unbounded = ClusteringScores()
    for preds, target in data:
        bounded.update(preds, target)
        unbounded.update(preds, target)
    got, expected = bounded.compute(), unbounded.compute()
    for name in METRICS:
        assert got[name].item() == pytest.approx(expected[name].item(), rel=1e-14, abs=1e-15), name
    assert bounded.table.shape == (30 * 30 + 1,) and bounded.table.dtype == torch.int64


def test_numpy_integer_bounds_are_accepted():
    metric = MutualInfoScore(num_pred_clusters=np.int64(3), num_target_clusters=np.int32(2))
    assert metric.label_bounds == (3, 2) and all(type(b) is int for b in metric.label_bounds)
    assert metric.table.shape == (7,)


@pytest.mark.parametrize("bound", [np.int32(70_000), np.int64(2**32)])
def test_numpy_integer_bounds_do_not_wrap_past_the_cell_limit(bound):
    # 70000^2 wraps to 605032704 in int32 and 2^64 to 0 in int64: both are over 2^32 - 1 cells.
    with pytest.raises(ValueError, match="below 2\\^32 - 1"):
        MutualInfoScore(num_pred_clusters=bound, num_target_clusters=bound)


def test_bounds_only_need_to_cover_the_labels_seen():
    # Clusters never seen are empty rows and columns: they change no score.
    metric = MutualInfoScore(num_pred_clusters=1_000, num_target_clusters=50)
    metric.update(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
    assert metric.compute().item() == pytest.approx(sk.mutual_info_score([0, 2, 1, 1, 0], [2, 1, 0, 1, 0]), rel=1e-6)


def test_forward_gives_the_batch_value_and_accumulates():
    data = batches(9, 5, 5, [400, 300])
    metric = MutualInfoScore(num_pred_clusters=5, num_target_clusters=5)
    for preds, target in data:
        batch_value = metric(preds, target)
        assert batch_value.item() == pytest.approx(sk.mutual_info_score(target.numpy(), preds.numpy()), rel=1e-6)
    preds = torch.cat([p for p, _ in data]).numpy()
    target = torch.cat([t for _, t in data]).numpy()
    assert metric.compute().item() == pytest.approx(sk.mutual_info_score(target, preds), rel=1e-6)


def test_a_label_outside_the_bounds_fails_compute_and_reset_clears_it():
    metric = MutualInfoScore(num_pred_clusters=3, num_target_clusters=3)
    metric.update(torch.tensor([0, 1, 3, -1]), torch.tensor([0, 1, 2, 2]))
    with pytest.raises(ValueError, match=r"2 samples had a label outside the bounds given, preds in \[0, 3\) and target in \[0, 3\)"):
        metric.compute()
    metric.reset()
    metric.update(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    assert metric.compute().item() == pytest.approx(sk.mutual_info_score([0, 1, 2], [0, 1, 2]), rel=1e-6)


@pytest.mark.parametrize(
    "bounds, message",
    [
        (dict(num_pred_clusters=3), "given together"),
        (dict(num_target_clusters=3), "given together"),
        (dict(num_pred_clusters=0, num_target_clusters=3), "positive integers"),
        (dict(num_pred_clusters=2.0, num_target_clusters=3), "positive integers"),
        (dict(num_pred_clusters=True, num_target_clusters=3), "positive integers"),
        (dict(num_pred_clusters=2**16, num_target_clusters=2**16), "below 2\\^32 - 1"),
    ],
)
def test_invalid_bounds_are_refused(bounds, message):
    with pytest.raises(ValueError, match=message):
        MutualInfoScore(**bounds)


def test_merge_state_adds_tables_and_refuses_other_states():
    first, second = (MutualInfoScore(num_pred_clusters=4, num_target_clusters=4) for _ in range(2))
    (p1, t1), (p2, t2) = batches(10, 4, 4, [500, 600])
    first.update(p1, t1)
    second.update(p2, t2)
    first.merge_state(second)
    expected = sk.mutual_info_score(torch.cat([t1, t2]).numpy(), torch.cat([p1, p2]).numpy())
    assert first.compute().item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"label bounds \(4, 4\), as this metric has, but got one with label bounds \(3, 3\)"):
        first.merge_state(MutualInfoScore(num_pred_clusters=3, num_target_clusters=3))
    with pytest.raises(ValueError, match="label bounds \\(4, 4\\), with entries bounds, table, but got one with bounds, histogram, pending"):
        first.merge_state(MutualInfoScore())


@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric MutualInfoScore was called before")
def test_bounded_state_dict_round_trip():
    metric = MutualInfoScore(num_pred_clusters=3, num_target_clusters=2)
    metric.persistent(True)
    metric.update(torch.tensor([0, 2, 2]), torch.tensor([1, 0, 0]))
    restored = MutualInfoScore(num_pred_clusters=3, num_target_clusters=2)
    restored.persistent(True)
    restored.load_state_dict(metric.state_dict())
    assert torch.equal(restored.table, metric.table)
    assert restored.compute().item() == pytest.approx(sk.mutual_info_score([1, 0, 0], [0, 2, 2]), rel=1e-6)
