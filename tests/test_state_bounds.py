"""A metric's state says how to read it: states of other label bounds or malformed states are refused, never scored.

The reference values are scikit-learn's on the labels themselves.
"""

import itertools
import os

import pytest
import sklearn.metrics as sk
import torch
from torchmetrics import MetricCollection

from clustering_metrics import AdjustedRandScore, MutualInfoScore, RandScore, metric_state

# preds=[1,3,2,0,1], target=[0,3,2,2,1] gives MI 1.0549 (the README's example); here with labels that fit 4 x 4.
PREDS = torch.tensor([0, 1, 2, 3, 3])
TARGET = torch.tensor([0, 1, 1, 2, 2])
TRUE_MI = sk.mutual_info_score(TARGET.numpy(), PREDS.numpy())


def factor_pairs(product):
    return [(a, product // a) for a in range(1, product + 1) if product % a == 0]


# Every ordered pair of distinct bounds with the same number of cells, for a few cell counts: the case the
# old check (cell count only) let through, plus pairs with other cell counts.
SAME_CELLS = [(a, b) for product in (12, 16, 30) for a, b in itertools.permutations(factor_pairs(product), 2)]
OTHER_CELLS = [((4, 3), (5, 4)), ((4, 4), (4, 5)), ((4, 3), (1, 1))]
BOUND_PAIRS = SAME_CELLS + OTHER_CELLS


def bounded(bounds, persistent=False, cls=MutualInfoScore):
    metric = cls(num_pred_clusters=bounds[0], num_target_clusters=bounds[1])
    metric.persistent(persistent)
    return metric


def fits(bounds):
    return int(PREDS.max()) < bounds[0] and int(TARGET.max()) < bounds[1]


@pytest.mark.parametrize("ours, theirs", BOUND_PAIRS, ids=str)
def test_merge_state_refuses_other_bounds_whatever_the_cell_count(ours, theirs):
    source = bounded(theirs)
    if fits(theirs):
        source.update(PREDS, TARGET)
    metric = bounded(ours)
    for incoming in (source, source.metric_state):
        with pytest.raises(ValueError, match=rf"label bounds \({ours[0]}, {ours[1]}\), as this metric has, but got "
                                             rf"one with label bounds \({theirs[0]}, {theirs[1]}\)"):
            metric.merge_state(incoming)
    assert int(metric.table.sum()) == 0  # nothing was added


@pytest.mark.parametrize("ours, theirs", BOUND_PAIRS, ids=str)
def test_load_state_dict_refuses_other_bounds_whatever_the_cell_count(ours, theirs):
    source = bounded(theirs, persistent=True)
    if fits(theirs):
        source.update(PREDS, TARGET)
    metric = bounded(ours, persistent=True)
    with pytest.raises(ValueError, match=rf"label bounds \({ours[0]}, {ours[1]}\), as this metric has"):
        metric.load_state_dict(source.state_dict())
    assert metric.table.shape == (ours[0] * ours[1] + 1,) and int(metric.table.sum()) == 0


@pytest.mark.usefixtures("float64_default")
def test_the_issue_reproducers_now_refuse_or_score_right():
    a = bounded((4, 3), persistent=True)
    a.update(PREDS, TARGET)
    assert a.compute().item() == pytest.approx(TRUE_MI, rel=1e-12)
    b = bounded((3, 4))
    with pytest.raises(ValueError, match="label bounds"):
        b.merge_state(a)
    for other in ((3, 4), (2, 6), (5, 4), (4, 5)):
        with pytest.raises(ValueError, match="label bounds"):
            bounded(other, persistent=True).load_state_dict(a.state_dict())
    same = bounded((4, 3), persistent=True)
    same.load_state_dict(a.state_dict())
    same.merge_state(a)
    doubled = torch.cat([PREDS, PREDS]), torch.cat([TARGET, TARGET])
    assert same.compute().item() == pytest.approx(sk.mutual_info_score(doubled[1].numpy(), doubled[0].numpy()), rel=1e-12)


def test_states_without_and_with_bounds_do_not_mix():
    unbounded, table = MutualInfoScore(), bounded((4, 4))
    unbounded.persistent(True)
    table.persistent(True)
    with pytest.raises(ValueError, match="with no label bounds, with entries histogram, pending, but got one with bounds, table"):
        unbounded.merge_state(table)
    with pytest.raises(ValueError, match="with no label bounds, with entries histogram, pending, but got one with bounds, table"):
        unbounded.load_state_dict(table.state_dict())
    with pytest.raises(ValueError, match=r"label bounds \(4, 4\), with entries bounds, table, but got one with bounds, histogram"):
        table.load_state_dict(unbounded.state_dict())


# ------------------------------------------------------------------ compute groups


@pytest.mark.parametrize(
    "first, second",
    # The group's first metric is the one updated, so it must accept the labels.
    [((4, 3), None), (None, (4, 3))] + [(a, b) for a, b in SAME_CELLS if fits(a)][:8],
    ids=str,
)
def test_a_forced_compute_group_of_other_bounds_is_refused(first, second):
    make = lambda bounds: MutualInfoScore() if bounds is None else bounded(bounds)
    collection = MetricCollection({"a": make(first), "b": make(second)}, compute_groups=[["a", "b"]])
    collection.update(PREDS, TARGET)
    with pytest.raises(ValueError, match="compute group"):
        collection.compute()


@pytest.mark.usefixtures("float64_default")
def test_automatic_compute_groups_keep_other_bounds_apart():
    metrics = {
        "free": MutualInfoScore(),
        "wide": bounded((4, 3)),
        "tall": bounded((4, 6)),
        "rand": bounded((4, 3), cls=RandScore),
        "adjusted": AdjustedRandScore(),
    }
    collection = MetricCollection(metrics, compute_groups=True)
    for _ in range(2):
        collection.update(PREDS, TARGET)
    values = collection.compute()
    doubled = torch.cat([PREDS, PREDS]).numpy(), torch.cat([TARGET, TARGET]).numpy()
    for name in ("free", "wide", "tall"):
        assert values[name].item() == pytest.approx(sk.mutual_info_score(doubled[1], doubled[0]), rel=1e-12), name
    assert values["rand"].item() == pytest.approx(sk.rand_score(doubled[1], doubled[0]), rel=1e-12)
    assert values["adjusted"].item() == pytest.approx(sk.adjusted_rand_score(doubled[1], doubled[0]), rel=1e-12)
    groups = [sorted(g) for g in collection.compute_groups.values()]
    assert ["rand", "wide"] in groups and ["tall"] in groups and ["adjusted", "free"] in groups


# ------------------------------------------------------------------ malformed states, key by key


def unbounded_state():
    metric = MutualInfoScore()
    metric.persistent(True)
    metric.update(PREDS, TARGET)
    metric.update(torch.arange(70_000) % 7, torch.arange(70_000) % 5)  # a histogram level and pending labels
    return metric.state_dict()


def table_state():
    metric = bounded((4, 3), persistent=True)
    metric.update(PREDS, TARGET)
    return metric.state_dict()


UNBOUNDED_MALFORMED = {
    "histogram 1-d row": ("histogram", [torch.tensor([1, 2, 3])], r"shape \(n, 3\) and dtype int64 but got \(3,\)"),
    "histogram width 2": ("histogram", [torch.zeros(4, 2, dtype=torch.int64)], r"shape \(n, 3\).*got \(4, 2\)"),
    "histogram float": ("histogram", [torch.zeros(4, 3)], r"dtype int64 but got \(4, 3\) torch.float32"),
    "histogram not a tensor": ("histogram", [[1, 2, 3]], "but got list"),
    "histogram negative count": ("histogram", [torch.tensor([[0, 0, -5]])], "negative"),
    "pending shape (3,)": ("pending", [torch.tensor([1, 2, 3])], r"shape \(n, 2\) and dtype int64 but got \(3,\)"),
    "pending float": ("pending", [torch.zeros(3, 2)], r"shape \(n, 2\).*torch.float32"),
    "pending int32": ("pending", [torch.zeros(3, 2, dtype=torch.int32)], "torch.int32"),
    "bounds float": ("bounds", torch.zeros(2), r"int64 tensor of shape \(2,\) but got \(2,\) torch.float32"),
    "bounds shape": ("bounds", torch.zeros(3, dtype=torch.int64), r"shape \(2,\) but got \(3,\)"),
    "bounds given": ("bounds", torch.tensor([4, 3]), r"no label bounds, as this metric has, but got one with label bounds \(4, 3\)"),
}
TABLE_MALFORMED = {
    "table short": ("table", torch.zeros(12, dtype=torch.int64), r"shape \(13,\).*but got \(12,\)"),
    "table 2-d": ("table", torch.zeros(13, 1, dtype=torch.int64), r"but got \(13, 1\)"),
    "table float": ("table", torch.zeros(13), r"but got \(13,\) torch.float32"),
    "table negative": ("table", torch.tensor([0] * 12 + [-1]), "negative"),
    "table not a tensor": ("table", [0] * 13, "but got list"),
    "bounds swapped": ("bounds", torch.tensor([3, 4]), r"label bounds \(4, 3\), as this metric has, but got one with label bounds \(3, 4\)"),
    "bounds none": ("bounds", torch.tensor([0, 0]), "but got one with no label bounds"),
    "bounds int32": ("bounds", torch.tensor([4, 3], dtype=torch.int32), "torch.int32"),
}


@pytest.mark.parametrize("case", UNBOUNDED_MALFORMED, ids=str)
def test_malformed_unbounded_states_are_refused_by_load_and_merge(case):
    key, value, message = UNBOUNDED_MALFORMED[case]
    state = unbounded_state()
    state[key] = value
    target = MutualInfoScore()
    target.persistent(True)
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(state)
    with pytest.raises(ValueError, match=message):
        MutualInfoScore().merge_state(state)


@pytest.mark.parametrize("case", TABLE_MALFORMED, ids=str)
def test_malformed_table_states_are_refused_by_load_and_merge(case):
    key, value, message = TABLE_MALFORMED[case]
    state = table_state()
    state[key] = value
    with pytest.raises(ValueError, match=message):
        bounded((4, 3), persistent=True).load_state_dict(state)
    with pytest.raises(ValueError, match=message):
        bounded((4, 3)).merge_state(state)


@pytest.mark.parametrize("key", ["bounds", "table"])
def test_a_table_state_missing_an_entry_is_refused(key):
    state = table_state()
    del state[key]
    with pytest.raises(ValueError, match="with entries bounds, table, but got one with"):
        bounded((4, 3), persistent=True).load_state_dict(state)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric MutualInfoScore was called before")
def test_well_formed_states_still_load_and_score():
    state = unbounded_state()
    metric = MutualInfoScore()
    metric.persistent(True)
    metric.load_state_dict(state)
    preds = torch.cat([PREDS, torch.arange(70_000) % 7]).numpy()
    target = torch.cat([TARGET, torch.arange(70_000) % 5]).numpy()
    assert metric.compute().item() == pytest.approx(sk.mutual_info_score(target, preds), rel=1e-12)
    # An unbounded state written without `bounds` (a hand-made dict) still merges.
    merged = MutualInfoScore()
    merged.merge_state({"histogram": [torch.tensor([[1, 2, 5]])], "pending": [torch.tensor([[1, 3]])]})
    assert merged.compute().item() == pytest.approx(sk.mutual_info_score([2] * 5 + [3], [1] * 6), abs=1e-15)


# ------------------------------------------------------------------ bounds that cannot be allocated


def test_available_memory_is_read():
    available = metric_state._available_memory_bytes()
    assert available is not None and 0 < available <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("bounds", [(65536, 65535), (2**32 - 2, 1), (1, 2**32 - 2), (3, 1000), (1000, 3)])
def test_bounds_whose_table_does_not_fit_memory_are_refused_naming_its_bytes(monkeypatch, bounds):
    # The issue's (65536, 65535) and (2^32 - 2, 1) need 34 GB; the budget is set here so the test
    # means the same on any machine, and allocates nothing when it passes.
    monkeypatch.setattr(metric_state, "_available_memory_bytes", lambda: 8 * 3000)
    cells = bounds[0] * bounds[1] + 1
    with pytest.raises(ValueError, match=rf"need a table of {8 * cells} bytes .* more than the 24000 bytes"):
        MutualInfoScore(num_pred_clusters=bounds[0], num_target_clusters=bounds[1])


def test_bounds_whose_table_just_fits_are_accepted(monkeypatch):
    monkeypatch.setattr(metric_state, "_available_memory_bytes", lambda: 8 * (3 * 999 + 1))
    assert MutualInfoScore(num_pred_clusters=3, num_target_clusters=999).table.shape == (3 * 999 + 1,)
    with pytest.raises(ValueError, match="need a table of"):
        MutualInfoScore(num_pred_clusters=3, num_target_clusters=1000)
