"""The metric's histogram state: bounded memory, persistence, merging, training-loop use."""

import pytest
import torch
from sklearn.metrics import mutual_info_score as sklearn_mi

from clustering_metrics import MutualInfoScore
from clustering_metrics.functional import mutual_info_score


def random_batch(generator, size=100_000, clusters=10):
    return (
        torch.randint(0, clusters, (size,), generator=generator),
        torch.randint(0, clusters, (size,), generator=generator),
    )


def state_rows(metric):
    return sum(h.shape[0] for h in metric.histogram)


def state_bytes(metric):
    return sum(h.numel() * h.element_size() for h in metric.histogram)


@pytest.mark.parametrize("use_forward", [False, True])
def test_state_stays_bounded_by_distinct_pairs(use_forward):
    # torchmetrics would hold 2e7 labels (160 MB) after this loop.
    generator = torch.Generator().manual_seed(0)
    metric = MutualInfoScore()
    for _ in range(100):
        preds, target = random_batch(generator)
        metric(preds, target) if use_forward else metric.update(preds, target)
        assert state_rows(metric) <= 10 * 10
    assert state_bytes(metric) <= 100 * 3 * 8


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
    assert state_rows(metric) == 0


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


def test_merge_state_between_metrics():
    generator = torch.Generator().manual_seed(3)
    first, second = MutualInfoScore(), MutualInfoScore()
    a, b = random_batch(generator, size=3_000, clusters=40), random_batch(generator, size=500, clusters=40)
    first.update(*a)
    second.update(*b)
    first.merge_state(second)
    expected = mutual_info_score(torch.cat([a[0], b[0]]), torch.cat([a[1], b[1]]))
    assert torch.equal(first.compute(), expected)
    assert state_rows(first) <= 40 * 40


def test_compute_on_cpu_keeps_state_on_cpu():
    generator = torch.Generator().manual_seed(4)
    metric = MutualInfoScore(compute_on_cpu=True)
    data = [random_batch(generator, size=1_000, clusters=9) for _ in range(3)]
    for preds, target in data:
        metric.update(preds, target)
    assert all(h.device.type == "cpu" for h in metric.histogram)
    expected = mutual_info_score(torch.cat([p for p, _ in data]), torch.cat([t for _, t in data]))
    assert torch.equal(metric.compute(), expected)
