"""MutualInfoScore as a torchmetrics Metric, against torchmetrics' own implementation."""

import copy
import pickle

import matplotlib
import pytest
import torch
import torchmetrics
from sklearn.metrics import mutual_info_score as sklearn_mi
from torchmetrics.clustering import AdjustedRandScore, NormalizedMutualInfoScore
from torchmetrics.clustering import MutualInfoScore as TorchmetricsMutualInfoScore

from clustering_metrics import MutualInfoScore
from clustering_metrics.functional import mutual_info_score

matplotlib.use("Agg")


def batches(num_batches=5, size=1_000, clusters=(7, 11), seed=0, dtype=torch.int64):
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randint(-clusters[0], clusters[0], (size,), generator=generator).to(dtype),
            torch.randint(0, clusters[1], (size,), generator=generator).to(dtype),
        )
        for _ in range(num_batches)
    ]


def test_is_a_torchmetrics_metric():
    assert isinstance(MutualInfoScore(), torchmetrics.Metric)


def test_examples_match_torchmetrics():
    ours, theirs = MutualInfoScore(), TorchmetricsMutualInfoScore()
    preds, target = torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0])
    assert round(ours(preds, target).item(), 4) == 0.5004
    assert ours.compute().item() == pytest.approx(theirs(preds, target).item(), rel=1e-6)


def test_forward_update_compute_reset_follow_torchmetrics(float64_default):
    ours, theirs = MutualInfoScore(), TorchmetricsMutualInfoScore()
    data = batches()
    for preds, target in data[:3]:
        batch_value = ours(preds, target)
        assert batch_value.item() == pytest.approx(theirs(preds, target).item(), rel=1e-9)
        assert batch_value.item() == pytest.approx(sklearn_mi(preds.numpy(), target.numpy()), rel=1e-9)
    for preds, target in data[3:]:
        ours.update(preds, target)
        theirs.update(preds, target)
    assert ours.compute().item() == pytest.approx(theirs.compute().item(), rel=1e-9)
    ours.reset()
    preds, target = data[0]
    ours.update(preds, target)
    assert ours.compute().item() == pytest.approx(sklearn_mi(preds.numpy(), target.numpy()), rel=1e-9)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.uint64])
def test_batches_equal_one_concatenated_call(dtype):
    metric = MutualInfoScore()
    data = batches(num_batches=7, size=3_001, clusters=(120, 90), seed=1, dtype=dtype)
    for preds, target in data:
        metric.update(preds, target)
    all_preds = torch.cat([p for p, _ in data])
    all_target = torch.cat([t for _, t in data])
    assert torch.equal(metric.compute(), mutual_info_score(all_preds, all_target))


def test_forward_returns_batch_value_and_accumulates():
    metric = MutualInfoScore()
    data = batches(num_batches=4, seed=2)
    for preds, target in data:
        assert torch.equal(metric(preds, target), mutual_info_score(preds, target))
    assert torch.equal(
        metric.compute(), mutual_info_score(torch.cat([p for p, _ in data]), torch.cat([t for _, t in data]))
    )


def _bad_forward_cases():
    import clustering_metrics as cm
    from sklearn import metrics as sk

    generator = torch.Generator().manual_seed(5)
    labels = [torch.randint(0, 3, (40,), generator=generator) for _ in range(3)]
    points = [torch.randn(40, 2, generator=generator, dtype=torch.float64) + 3 * l[:, None] for l in labels]
    all_labels, all_points = torch.cat(labels).numpy(), torch.cat(points).numpy()
    pairs = list(zip(labels, [l.flip(0) for l in labels]))
    all_target = torch.cat([t for _, t in pairs]).numpy()
    return [
        # (metric, good batches, a batch whose forward raises, the reference on the good batches)
        (lambda **kw: cm.MutualInfoScore(**kw), pairs, (torch.tensor([0.5]), torch.tensor([0])),
         sk.mutual_info_score(all_target, all_labels)),
        (lambda **kw: cm.AdjustedRandScore(num_pred_clusters=3, num_target_clusters=3, **kw), pairs,
         (torch.tensor([5]), torch.tensor([0])), sk.adjusted_rand_score(all_target, all_labels)),
        (lambda **kw: cm.DaviesBouldinScore(**kw), list(zip(points, labels)),
         (torch.randn(1, 2, dtype=torch.float64), torch.tensor([0])), sk.davies_bouldin_score(all_points, all_labels)),
        (lambda **kw: cm.CalinskiHarabaszScore(**kw), list(zip(points, labels)),
         (torch.randn(4, 2, dtype=torch.float64), torch.zeros(4, dtype=torch.int64)),
         sk.calinski_harabasz_score(all_points, all_labels)),
    ]


@pytest.mark.parametrize("options", [{}, {"dist_sync_on_step": True}, {"compute_on_cpu": True}],
                         ids=["set-aside", "added-first", "compute-on-cpu"])
@pytest.mark.parametrize("case", range(4), ids=["mi", "bounded-ari", "davies-bouldin", "calinski-harabasz"])
def test_forward_that_raises_keeps_the_state_it_had(case, options, float64_default):
    # torchmetrics' forward scores the batch on its own, with the state moved
    # aside or the batch added first; a batch whose score raises (a float
    # label, a label outside the bounds, one cluster) must not take the
    # batches before it with it, nor change the settings forward restores.
    make, good, bad, expected = _bad_forward_cases()[case]
    metric = make(**options)
    for batch in good[:-1]:
        metric.update(*batch)
    last_value = metric(*good[-1])
    computed = metric.compute()  # cached in _computed
    settings = {name: getattr(metric, name) for name in ("_update_count", "_computed", "_forward_cache", "_to_sync",
                                                         "_should_unsync", "compute_on_cpu", "_enable_grad",
                                                         "_is_synced")}
    with pytest.raises(ValueError):
        metric(*bad)
    for name, value in settings.items():
        assert getattr(metric, name) is value or getattr(metric, name) == value, name
    assert metric._forward_cache is last_value and metric.compute() is computed
    metric._computed = None  # computed afresh from the state
    assert metric.compute().item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated", "ignore:This property will be removed")
def test_a_module_holding_a_metric_can_be_scripted():
    # torchmetrics marks Metric.forward unused by TorchScript; our forward must be marked so too.
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.metric = MutualInfoScore()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.linear(x)

    scripted = torch.jit.script(Model())
    assert scripted(torch.ones(1, 2)).shape == (1, 2)


def test_rejects_float_labels_at_update():
    metric = MutualInfoScore()
    with pytest.raises(ValueError, match="Expected real, discrete values"):
        metric.update(torch.rand(4), torch.tensor([0, 1, 0, 1]))


def test_result_dtype_and_empty_state():
    metric = MutualInfoScore()
    with pytest.warns(UserWarning, match="compute"):
        value = metric.compute()
    assert value.item() == 0.0 and value.dtype == torch.float32


def test_metric_collection_with_compute_groups():
    collection = torchmetrics.MetricCollection(
        {
            "mi": MutualInfoScore(),
            "tm_mi": TorchmetricsMutualInfoScore(),
            "nmi": NormalizedMutualInfoScore(),
            "ari": AdjustedRandScore(),
        },
        compute_groups=True,
    )
    data = batches(num_batches=3, seed=3)
    for preds, target in data:
        collection.update(preds, target)
    result = collection.compute()
    assert result["mi"].item() == pytest.approx(result["tm_mi"].item(), rel=1e-5)
    all_preds = torch.cat([p for p, _ in data]).numpy()
    all_target = torch.cat([t for _, t in data]).numpy()
    assert result["mi"].item() == pytest.approx(sklearn_mi(all_preds, all_target), rel=1e-6)


def test_pickle_and_deepcopy_keep_the_state():
    metric = MutualInfoScore()
    for preds, target in batches(num_batches=2, seed=4):
        metric.update(preds, target)
    expected = metric.compute()
    for clone in (pickle.loads(pickle.dumps(metric)), copy.deepcopy(metric)):
        assert torch.equal(clone.compute(), expected)
        clone.update(*batches(num_batches=1, seed=5)[0])
        assert not torch.equal(clone.compute(), expected)
    assert torch.equal(metric.compute(), expected)


def test_plot_single_value_and_sequence():
    metric = MutualInfoScore()
    values = [metric(preds, target) for preds, target in batches(num_batches=3, seed=6)]
    fig, ax = metric.plot(values[0])
    assert isinstance(fig, matplotlib.figure.Figure) and ax is not None
    fig, ax = metric.plot(values)
    assert isinstance(fig, matplotlib.figure.Figure)
    fig, _ = metric.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
