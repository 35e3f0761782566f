"""The metrics' histogram state: bounded memory, O(batch) updates, persistence, merging, training-loop use."""

import pytest
import torch
from sklearn.metrics import mutual_info_score as sklearn_mi

import clustering_metrics
from clustering_metrics import AdjustedRandScore, MutualInfoScore, RandScore
from clustering_metrics.functional import adjusted_rand_score, mutual_info_score


def random_batch(generator, size=100_000, clusters=10):
    return (
        torch.randint(0, clusters, (size,), generator=generator),
        torch.randint(0, clusters, (size,), generator=generator),
    )


def state_rows(metric):
    return sum(h.shape[0] for h in metric.histogram)


def pending_labels(metric):
    return sum(p.shape[0] for p in metric.pending)


def state_bytes(metric):
    tensors = [*metric.histogram, *metric.pending]
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.fixture
def small_pending(monkeypatch):
    """Gather at most 1000 labels before counting, so that small tests cross that boundary often."""
    monkeypatch.setattr(clustering_metrics.metric_state, "PENDING_LABELS", 1000)
    return 1000


@pytest.mark.parametrize("use_forward", [False, True])
def test_state_stays_bounded_by_distinct_pairs(use_forward):
    # torchmetrics would hold 2e7 labels (160 MB) after this loop.
    generator = torch.Generator().manual_seed(0)
    metric = MutualInfoScore()
    for _ in range(100):
        preds, target = random_batch(generator)
        metric(preds, target) if use_forward else metric.update(preds, target)
        assert state_rows(metric) < 2 * 10 * 10  # the levels hold under twice one merged histogram
    assert state_bytes(metric) < 2 * 100 * 3 * 8


@pytest.mark.parametrize("batch_size", [1, 7, 333, 5_000])
def test_small_updates_equal_one_call(small_pending, batch_size):
    # Crosses the pending limit and the level merges many times; exact throughout.
    generator = torch.Generator().manual_seed(batch_size)
    metric = AdjustedRandScore()
    batches = [random_batch(generator, size=batch_size, clusters=300) for _ in range(20_000 // batch_size)]
    for k, (preds, target) in enumerate(batches):
        metric.update(preds, target)
        if k % 97 == 0:
            seen = batches[: k + 1]
            expected = adjusted_rand_score(torch.cat([p for p, _ in seen]), torch.cat([t for _, t in seen]))
            assert torch.equal(metric.compute(), expected)
        assert pending_labels(metric) < small_pending
        levels = [h.shape[0] for h in metric.histogram]
        assert all(later * 2 < earlier for earlier, later in zip(levels, levels[1:])), levels


def test_update_work_is_proportional_to_the_batch(monkeypatch, small_pending):
    # 2000 updates of 10 labels into a state of ~10^5 distinct pairs. Merging
    # the whole state at every update would count 2 * 10^8 rows; gathering
    # small batches and merging levels by size counts a few hundred thousand.
    counted = []
    original = clustering_metrics.ops.pair_histogram

    def counting_pair_histogram(preds, target, counts=None):
        counted.append(preds.numel())
        return original(preds, target, counts)

    generator = torch.Generator().manual_seed(5)
    metric = MutualInfoScore()
    metric.update(*random_batch(generator, size=300_000, clusters=1000))
    state = state_rows(metric)
    assert state > 90_000
    monkeypatch.setattr(clustering_metrics.ops, "pair_histogram", counting_pair_histogram)
    for _ in range(2_000):
        metric.update(*random_batch(generator, size=10, clusters=1000))
    assert sum(counted) < 5 * (state + 2_000 * 10), sum(counted)
    assert state_rows(metric) < 2 * 1000 * 1000


def test_lightning_style_epoch_loop():
    generator = torch.Generator().manual_seed(1)
    metric = MutualInfoScore()
    logged = []
    for _epoch in range(2):
        epoch_data = [random_batch(generator, size=5_000, clusters=13) for _ in range(4)]
        for preds, target in epoch_data:
            metric.update(preds, target)
        logged.append(metric.compute())
        metric.reset()
        preds = torch.cat([p for p, _ in epoch_data])
        target = torch.cat([t for _, t in epoch_data])
        assert logged[-1].item() == pytest.approx(sklearn_mi(preds.numpy(), target.numpy()), rel=1e-6)
        assert torch.equal(logged[-1], mutual_info_score(preds, target))
    assert state_rows(metric) == 0 and pending_labels(metric) == 0


def test_state_dict_round_trip_when_persistent():
    generator = torch.Generator().manual_seed(2)
    metric = MutualInfoScore()
    metric.persistent(True)
    metric.update(*random_batch(generator, size=2_000, clusters=50))
    restored = MutualInfoScore()
    restored.persistent(True)
    restored.load_state_dict(metric.state_dict())
    assert torch.equal(restored.compute(), metric.compute())


def test_state_is_not_saved_unless_persistent():
    metric = MutualInfoScore()
    metric.update(torch.tensor([0, 1]), torch.tensor([1, 0]))
    assert "histogram" not in metric.state_dict()


def test_merge_state_refuses_a_foreign_state_clearly():
    metric = MutualInfoScore()
    with pytest.raises(ValueError, match="Expected the state of a clustering_metrics metric"):
        metric.merge_state({"preds": [torch.tensor([1])], "target": [torch.tensor([1])]})
    with pytest.raises(ValueError, match="shape \\(n, 3\\) and dtype int64 but got \\(4,\\)"):
        metric.merge_state({"histogram": [torch.zeros(4)], "pending": []})


def test_merge_state_across_metric_classes():
    # Every metric of the package keeps the same state, so any may merge any.
    generator = torch.Generator().manual_seed(6)
    first, second = RandScore(), AdjustedRandScore()
    a, b = random_batch(generator, size=3_000, clusters=40), random_batch(generator, size=500, clusters=40)
    first.update(*a)
    second.update(*b)
    second.merge_state(first)
    expected = adjusted_rand_score(torch.cat([a[0], b[0]]), torch.cat([a[1], b[1]]))
    assert torch.equal(second.compute(), expected)


def test_merge_state_between_metrics():
    generator = torch.Generator().manual_seed(3)
    first, second = MutualInfoScore(), MutualInfoScore()
    a, b = random_batch(generator, size=3_000, clusters=40), random_batch(generator, size=500, clusters=40)
    first.update(*a)
    second.update(*b)
    first.merge_state(second)
    expected = mutual_info_score(torch.cat([a[0], b[0]]), torch.cat([a[1], b[1]]))
    assert torch.equal(first.compute(), expected)
    assert state_rows(first) < 2 * 40 * 40


def test_compute_on_cpu_keeps_state_on_cpu():
    generator = torch.Generator().manual_seed(4)
    metric = MutualInfoScore(compute_on_cpu=True)
    data = [random_batch(generator, size=1_000, clusters=9) for _ in range(3)]
    for preds, target in data:
        metric.update(preds, target)
    assert all(t.device.type == "cpu" for t in [*metric.histogram, *metric.pending])
    expected = mutual_info_score(torch.cat([p for p, _ in data]), torch.cat([t for _, t in data]))
    assert torch.equal(metric.compute(), expected)
