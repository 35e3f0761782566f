"""The metric family (NMI, AMI, Rand, ARI, homogeneity, completeness, V-measure, Fowlkes-Mallows)
against 40-digit textbook formulas, exact fractions, scikit-learn and hand-worked edge cases."""

import functools
import math

import numpy as np
import pytest
import sklearn.metrics as sk
import torch
from hypothesis import given
from hypothesis import strategies as st

import clustering_metrics
from clustering_metrics import formulas, functional
from clustering_metrics.summary import contingency_summary, stack_summaries
from labels import LABEL_DTYPES, label_pairs, make_labels
from reference import as_python_ints, contingency, contingency_numpy, family_exact, pair_counts

METRICS = [
    "mutual_info_score",
    "normalized_mutual_info_score",
    "adjusted_mutual_info_score",
    "rand_score",
    "adjusted_rand_score",
    "homogeneity_score",
    "completeness_score",
    "v_measure_score",
    "fowlkes_mallows_index",
]
# scikit-learn's function for each, called as f(labels_true=target, labels_pred=preds).
SKLEARN = {
    "mutual_info_score": sk.mutual_info_score,
    "normalized_mutual_info_score": sk.normalized_mutual_info_score,
    "adjusted_mutual_info_score": sk.adjusted_mutual_info_score,
    "rand_score": sk.rand_score,
    "adjusted_rand_score": sk.adjusted_rand_score,
    "homogeneity_score": sk.homogeneity_score,
    "completeness_score": sk.completeness_score,
    "v_measure_score": sk.v_measure_score,
    "fowlkes_mallows_index": sk.fowlkes_mallows_score,
}
REL, ABS = 1e-12, 1e-15


def functional_of(name):
    return getattr(functional, name)


def assert_close_to_exact(got, exact, name):
    exact = float(exact)
    assert abs(got - exact) <= max(REL * abs(exact), ABS), (name, got, exact)


def sklearn_value(name, preds, target, **kwargs):
    as_text = lambda labels: np.array(as_python_ints(labels), dtype=object).astype(str)  # any integer dtype
    return SKLEARN[name](as_text(target), as_text(preds), **kwargs)


@pytest.mark.usefixtures("float64_default")
@given(label_pairs(max_size=3_000, max_clusters=60), st.sampled_from(["min", "geometric", "arithmetic", "max"]))
def test_every_metric_matches_its_textbook_formula(pair, average_method):
    preds, target = pair
    table = contingency(preds, target)
    exact = family_exact(table, average_method=average_method)
    got = functional.clustering_scores(preds, target, average_method=average_method)
    for name in METRICS:
        assert got[name].dtype == torch.float64
        assert_close_to_exact(got[name].item(), exact[name], name)


@pytest.mark.usefixtures("float64_default")
@given(label_pairs(max_size=20_000, max_clusters=300, dtypes=[torch.int64, torch.int32, torch.uint8]))
def test_every_metric_matches_sklearn(pair):
    preds, target = pair
    for name in METRICS:
        if preds.numel() == 0 and name == "mutual_info_score":
            continue  # scikit-learn raises "math domain error"; the edge-case test covers it
        got = functional_of(name)(preds, target).item()
        assert got == pytest.approx(sklearn_value(name, preds, target), rel=1e-9, abs=1e-9), name


@functools.lru_cache(maxsize=None)
def extreme_labels_case(dtype):
    """(preds, target, every metric's 40-digit reference) for labels at the extremes of dtype: once per dtype."""
    rng = np.random.default_rng(LABEL_DTYPES.index(dtype))
    if dtype == torch.bool:
        values = [0, 1]
    else:
        info = torch.iinfo(dtype)
        values = sorted({info.min, info.max, 0, 1, info.min + 1, info.max - 1})
    preds = make_labels(rng, dtype, 5_000, values)
    target = make_labels(rng, torch.int64, 5_000, [-(2**63), 2**63 - 1, -1, 3, 7])
    return preds, target, family_exact(contingency(preds, target))


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
def test_every_dtype_and_extreme_labels(name, dtype):
    preds, target, exact = extreme_labels_case(dtype)
    assert_close_to_exact(functional_of(name)(preds, target).item(), exact[name], name)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("num_clusters", [1, 2, 17, 300, 5_000])
def test_one_to_n_clusters(num_clusters):
    generator = torch.Generator().manual_seed(num_clusters)
    n = 5_000
    preds = torch.randint(0, num_clusters, (n,), generator=generator)
    target = (preds + torch.randint(0, 3, (n,), generator=generator)) % max(num_clusters, 1)
    exact = family_exact(contingency(preds, target))
    got = functional.clustering_scores(preds, target)
    for name in METRICS:
        assert_close_to_exact(got[name].item(), exact[name], name)


@pytest.mark.usefixtures("float64_default")
def test_all_singletons_against_few_clusters():
    # One side has n clusters: every labeling has MI = EMI = H(other side).
    preds = torch.arange(400)
    target = torch.arange(400) % 7
    exact = family_exact(contingency(preds, target))
    got = functional.clustering_scores(preds, target)
    for name in METRICS:
        assert_close_to_exact(got[name].item(), exact[name], name)
    assert got["adjusted_mutual_info_score"].item() == 0.0


@pytest.mark.usefixtures("float64_default")
def test_adjusted_mutual_info_at_a_million_samples():
    # Few clusters: wide hypergeometric distributions (thousands of terms per pair of sizes).
    generator = torch.Generator().manual_seed(1)
    n = 1_000_000
    preds = torch.randint(0, 4, (n,), generator=generator)
    target = torch.where(torch.rand(n, generator=generator) < 0.001, preds, torch.randint(0, 5, (n,), generator=generator))
    table = contingency_numpy(preds.numpy(), target.numpy())
    exact = family_exact(table)
    got = functional.clustering_scores(preds, target)
    for name in METRICS:
        assert_close_to_exact(got[name].item(), exact[name], name)


@pytest.mark.usefixtures("float64_default")
def test_adjusted_mutual_info_with_many_clusters_near_chance():
    # MI and EMI are both about 1 nat and agree to 3 digits: the adjusted MI
    # needs each to ~1e-16 to keep 1e-12.
    generator = torch.Generator().manual_seed(2)
    n = 20_000
    preds = torch.randint(0, 150, (n,), generator=generator)
    target = torch.randint(0, 150, (n,), generator=generator)
    exact = family_exact(contingency_numpy(preds.numpy(), target.numpy()))
    assert abs(float(exact["adjusted_mutual_info_score"])) < 1e-2
    got = functional.adjusted_mutual_info_score(preds, target).item()
    assert_close_to_exact(got, exact["adjusted_mutual_info_score"], "adjusted_mutual_info_score")


@pytest.mark.usefixtures("float64_default")
def test_adjusted_rand_where_int64_pair_products_overflow():
    # 3e5 samples: products of pair counts reach 1e21, beyond int64.
    rng = np.random.default_rng(3)
    n = 300_000
    target = rng.integers(0, 3, n)
    preds = np.where(rng.random(n) < 0.3, target, rng.integers(0, 3, n))
    table = contingency_numpy(preds, target)
    exact = family_exact(table)["adjusted_rand_score"]
    got = functional.adjusted_rand_score(torch.from_numpy(preds), torch.from_numpy(target)).item()
    assert got == pytest.approx(float(exact), rel=1e-14)
    assert got == pytest.approx(sk.adjusted_rand_score(target, preds), rel=1e-9)
    pairs_cells, pairs_pred, pairs_target, all_pairs = pair_counts(table)
    assert pairs_cells * all_pairs > 2**63  # the product that overflows int64


def test_exact_pair_counts_beyond_64_bits():
    # A weighted histogram with N = 3e12: C(N, 2) ~ 4.5e24 needs 128 bits, and
    # the adjusted Rand index's products 256.
    pred_labels = torch.tensor([0, 0, 1, 1])
    target_labels = torch.tensor([0, 1, 0, 1])
    counts = torch.tensor([10**12, 5 * 10**11 + 3, 7 * 10**11, 8 * 10**11 - 11])
    summary = contingency_summary(pred_labels, target_labels, counts)
    table = {(int(u), int(v)): int(c) for u, v, c in zip(pred_labels, target_labels, counts)}
    pairs_cells, pairs_pred, pairs_target, _ = pair_counts(table)
    assert summary.exact_pair_counts() == (pairs_cells, pairs_pred, pairs_target)
    assert summary.n_samples.item() == sum(table.values())
    exact = family_exact(table, adjusted_mutual_info=False)  # its reference would sum ~10^7 terms
    for name, formula in [("adjusted_rand_score", formulas.adjusted_rand_index), ("rand_score", formulas.rand_index),
                          ("fowlkes_mallows_index", formulas.fowlkes_mallows), ("mutual_info_score", formulas.mutual_info),
                          ("v_measure_score", formulas.v_measure)]:
        assert_close_to_exact(formula(summary).item(), exact[name], name)


# Edge cases: the expected values are worked out by hand from scikit-learn's
# conventions (the README lists where torchmetrics differs); scikit-learn is
# checked to agree. None marks a value left to the exact reference.
EDGE_CASES = {
    "empty": ([], [], dict(mutual_info_score=0, normalized_mutual_info_score=1, adjusted_mutual_info_score=1,
                           rand_score=1, adjusted_rand_score=1, homogeneity_score=1, completeness_score=1,
                           v_measure_score=1, fowlkes_mallows_index=0)),
    "one sample": ([4], [9], dict(mutual_info_score=0, normalized_mutual_info_score=1, adjusted_mutual_info_score=1,
                                  rand_score=1, adjusted_rand_score=1, homogeneity_score=1, completeness_score=1,
                                  v_measure_score=1, fowlkes_mallows_index=0)),
    "both one cluster": ([3, 3, 3], [5, 5, 5], dict(mutual_info_score=0, normalized_mutual_info_score=1,
                                                    adjusted_mutual_info_score=1, rand_score=1, adjusted_rand_score=1,
                                                    homogeneity_score=1, completeness_score=1, v_measure_score=1,
                                                    fowlkes_mallows_index=1)),
    # 6 pairs, 1 of them in one target class: Rand 1/6, FMI 1 / sqrt(6 * 1).
    "preds one cluster": ([7, 7, 7, 7], [0, 0, 1, 2], dict(mutual_info_score=0, normalized_mutual_info_score=0,
                                                           adjusted_mutual_info_score=0, rand_score=1 / 6,
                                                           adjusted_rand_score=0, homogeneity_score=0,
                                                           completeness_score=1, v_measure_score=0,
                                                           fowlkes_mallows_index=math.sqrt(1 / 6))),
    "target one cluster": ([0, 0, 1, 2], [7, 7, 7, 7], dict(mutual_info_score=0, normalized_mutual_info_score=0,
                                                            adjusted_mutual_info_score=0, rand_score=1 / 6,
                                                            adjusted_rand_score=0, homogeneity_score=1,
                                                            completeness_score=0, v_measure_score=0,
                                                            fowlkes_mallows_index=math.sqrt(1 / 6))),
    "perfect match, relabelled": ([1, 1, 0, 0, 2], [5, 5, 9, 9, 4], dict(
        mutual_info_score=None, normalized_mutual_info_score=1, adjusted_mutual_info_score=1, rand_score=1,
        adjusted_rand_score=1, homogeneity_score=1, completeness_score=1, v_measure_score=1, fowlkes_mallows_index=1)),
    "perfect match of singletons": ([0, 1, 2, 3], [3, 2, 1, 0], dict(
        mutual_info_score=math.log(4), normalized_mutual_info_score=1, adjusted_mutual_info_score=1, rand_score=1,
        adjusted_rand_score=1, homogeneity_score=1, completeness_score=1, v_measure_score=1, fowlkes_mallows_index=0)),
    # Independent: MI 0, so h = c = 0 and the V-measure is 0 (torchmetrics: 1).
    # 6 pairs, 2 agreeing (apart in both); ARI = 2 (0 - 4) / (4 * 6 - 8) = -1/2.
    "independent (h + c = 0)": ([0, 0, 1, 1], [0, 1, 0, 1], dict(
        mutual_info_score=0, normalized_mutual_info_score=0, adjusted_mutual_info_score=None, rand_score=1 / 3,
        adjusted_rand_score=-0.5, homogeneity_score=0, completeness_score=0, v_measure_score=0,
        fowlkes_mallows_index=0)),
}


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("case", list(EDGE_CASES), ids=str)
@pytest.mark.parametrize("name", METRICS)
def test_edge_cases_follow_sklearn(case, name):
    preds_list, target_list, expected = EDGE_CASES[case]
    preds, target = torch.tensor(preds_list, dtype=torch.int64), torch.tensor(target_list, dtype=torch.int64)
    got = functional_of(name)(preds, target).item()
    want = expected[name]
    if want is None:
        want = float(family_exact(contingency(preds, target))[name])
    assert got == pytest.approx(want, rel=1e-15, abs=1e-15)
    if not (case == "empty" and name == "mutual_info_score"):  # scikit-learn raises "math domain error"
        assert got == pytest.approx(sklearn_value(name, preds, target), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", METRICS)
def test_class_equals_functional_and_default_dtype(name):
    generator = torch.Generator().manual_seed(9)
    batches = [(torch.randint(0, 8, (700,), generator=generator), torch.randint(-3, 5, (700,), generator=generator))
               for _ in range(3)]
    metric = getattr(clustering_metrics, CLASSES[name])()
    for preds, target in batches:
        metric.update(preds, target)
    value = metric.compute()
    all_preds, all_target = torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches])
    assert value.dtype == torch.float32
    assert torch.equal(value, functional_of(name)(all_preds, all_target))


CLASSES = {
    "mutual_info_score": "MutualInfoScore",
    "normalized_mutual_info_score": "NormalizedMutualInfoScore",
    "adjusted_mutual_info_score": "AdjustedMutualInfoScore",
    "rand_score": "RandScore",
    "adjusted_rand_score": "AdjustedRandScore",
    "homogeneity_score": "HomogeneityScore",
    "completeness_score": "CompletenessScore",
    "v_measure_score": "VMeasureScore",
    "fowlkes_mallows_index": "FowlkesMallowsIndex",
}


def test_clustering_scores_metric_returns_every_metric():
    generator = torch.Generator().manual_seed(10)
    preds, target = torch.randint(0, 6, (2_000,), generator=generator), torch.randint(0, 4, (2_000,), generator=generator)
    metric = clustering_metrics.ClusteringScores(average_method="geometric", beta=2.0)
    metric.update(preds[:1000], target[:1000])
    metric.update(preds[1000:], target[1000:])
    got = metric.compute()
    assert sorted(got) == sorted(METRICS)
    assert torch.equal(got["v_measure_score"], functional.v_measure_score(preds, target, beta=2.0))
    assert torch.equal(got["adjusted_mutual_info_score"],
                       functional.adjusted_mutual_info_score(preds, target, average_method="geometric"))
    subset = clustering_metrics.ClusteringScores(metrics=["rand_score"])
    subset.update(preds, target)
    assert list(subset.compute()) == ["rand_score"]


class TestArgumentChecks:
    def test_average_method(self):
        preds = torch.tensor([0, 1])
        for fn in (functional.normalized_mutual_info_score, functional.adjusted_mutual_info_score):
            with pytest.raises(ValueError, match="Expected argument `average_method` to be one of"):
                fn(preds, preds, average_method="median")
        for cls in (clustering_metrics.NormalizedMutualInfoScore, clustering_metrics.AdjustedMutualInfoScore):
            with pytest.raises(ValueError, match="Expected argument `average_method` to be one of"):
                cls(average_method="median")

    @pytest.mark.parametrize("beta", [0, -1.0, float("nan"), float("inf"), "1", True])
    def test_beta(self, beta):
        preds = torch.tensor([0, 1])
        with pytest.raises(ValueError, match="Argument `beta` should be a positive float"):
            functional.v_measure_score(preds, preds, beta=beta)
        with pytest.raises(ValueError, match="Argument `beta` should be a positive float"):
            clustering_metrics.VMeasureScore(beta=beta)

    @pytest.mark.parametrize("name", METRICS)
    def test_label_checks(self, name):
        fn = functional_of(name)
        with pytest.raises(ValueError, match="Expected real, discrete values"):
            fn(torch.zeros(3), torch.zeros(3, dtype=torch.int64))
        with pytest.raises(RuntimeError, match="same shape"):
            fn(torch.zeros(3, dtype=torch.int64), torch.zeros(2, dtype=torch.int64))
        with pytest.raises(TypeError, match="preds"):
            fn([0, 1], torch.zeros(2, dtype=torch.int64))

    @pytest.mark.parametrize("name", METRICS)
    def test_a_single_metric_name_is_one_metric(self, name):
        preds, target = torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0])
        got = functional.clustering_scores(preds, target, metrics=name)
        assert list(got) == [name] and torch.equal(got[name], functional_of(name)(preds, target))
        metric = clustering_metrics.ClusteringScores(metrics=name)
        metric.update(preds, target)
        assert list(metric.compute()) == [name]

    def test_unknown_metric_name(self):
        with pytest.raises(ValueError, match="unknown metric\\(s\\) 'accuracy'; expected"):
            functional.clustering_scores(torch.tensor([0]), torch.tensor([0]), metrics="accuracy")
        with pytest.raises(ValueError, match="unknown metric"):
            functional.clustering_scores(torch.tensor([0]), torch.tensor([0]), metrics=["accuracy"])
        with pytest.raises(ValueError, match="unknown metric"):
            clustering_metrics.ClusteringScores(metrics=["accuracy"])


@pytest.mark.parametrize("beta", [0.5, 2.0, 3])
def test_beta_is_checked_under_a_dynamic_fullgraph_compile(beta):
    preds, target = torch.tensor([0, 0, 1, 2, 2, 1]), torch.tensor([0, 0, 1, 1, 2, 2])
    torch._dynamo.reset()
    v_measure = torch.compile(functional.v_measure_score, fullgraph=True, dynamic=True)
    scores = torch.compile(functional.clustering_scores, fullgraph=True, dynamic=True)
    h = sk.homogeneity_score(target.numpy(), preds.numpy())
    c = sk.completeness_score(target.numpy(), preds.numpy())
    expected = (1 + beta) * h * c / (beta * h + c)
    assert v_measure(preds, target, beta).item() == pytest.approx(expected, rel=1e-6)
    assert scores(preds, target, beta=beta)["v_measure_score"].item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="positive float"):
        torch.compile(functional.v_measure_score, dynamic=True)(preds, target, -float(beta))


def test_summary_op_opcheck_and_fake_shapes():
    generator = torch.Generator().manual_seed(12)
    preds = torch.randint(-5, 5, (3_000,), generator=generator)
    target = torch.randint(0, 300, (3_000,), generator=generator).to(torch.int16)
    counts = torch.randint(0, 3, (3_000,), generator=generator)
    op = torch.ops.clustering_metrics.contingency_summary.default
    torch.library.opcheck(op, (preds, target, counts, True))
    # Without the expected MI its slot is NaN, which the AOT test's equality
    # check (no equal_nan) reports as a difference; the other tests apply.
    torch.library.opcheck(op, (preds, target), test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    compiled = torch.compile(lambda p, t: functional.adjusted_rand_score(p, t), fullgraph=False)
    assert torch.equal(compiled(preds, target), functional.adjusted_rand_score(preds, target))


def test_summary_without_the_mutual_info():
    # mutual_info=False leaves only the MI slot out (NaN); every other slot is
    # the full summary's, bit for bit, and the information formulas refuse it
    # rather than score it (a perfect match would otherwise hide the NaN as 1).
    generator = torch.Generator().manual_seed(13)
    preds = torch.randint(-5, 5, (3_000,), generator=generator)
    target = torch.randint(0, 40, (3_000,), generator=generator)
    op = torch.ops.clustering_metrics.contingency_summary.default
    torch.library.opcheck(op, (preds, target, None, False, False),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    for expected_mutual_info in (False, True):
        full = contingency_summary(preds, target, expected_mutual_info=expected_mutual_info)
        lean = contingency_summary(preds, target, expected_mutual_info=expected_mutual_info, mutual_info=False)
        assert not lean.has_mutual_info and math.isnan(lean.mutual_info.item())
        for got, expected in zip((lean.pred_totals, lean.target_totals, lean.integers), (full.pred_totals,
                                                                                       full.target_totals, full.integers)):
            assert torch.equal(got, expected)
        others = torch.arange(lean.reals.numel()) != list(clustering_metrics._C.SUMMARY_REAL_SLOTS).index("mutual_info")
        torch.testing.assert_close(lean.reals[others], full.reals[others], rtol=0, atol=0, equal_nan=True)
        for name in formulas.NEEDS_MUTUAL_INFO:
            with pytest.raises(ValueError, match="mutual_info=True"):
                formulas.METRICS[name](lean, "arithmetic", 1.0)
        for name in set(formulas.METRICS) - formulas.NEEDS_MUTUAL_INFO:
            assert torch.equal(formulas.METRICS[name](lean, "arithmetic", 1.0),
                               formulas.METRICS[name](full, "arithmetic", 1.0))
    same = contingency_summary(preds, preds, mutual_info=False)  # a perfect match
    with pytest.raises(ValueError, match="mutual_info=True"):
        formulas.normalized_mutual_info(same)
    assert not same.transposed().has_mutual_info and not stack_summaries([same, same]).has_mutual_info


def test_adjusted_mutual_info_refuses_a_summary_without_the_expected_mutual_info():
    summary = contingency_summary(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="expected_mutual_info=True"):
        formulas.adjusted_mutual_info(summary)


@pytest.mark.usefixtures("float64_default")
def test_asking_for_the_adjusted_mutual_info_keeps_the_mutual_info_exact():
    # 64 x 64 cells of 300 each, one sample moved: MI ~ 3e-9, the expected MI
    # far larger. The MI must keep its own 1e-13 relative bound in the summary
    # that also holds the expected MI.
    i = torch.arange(64 * 64 * 300)
    preds, target = (i % 4096) // 64, (i % 4096) % 64
    target[0] = 1
    exact = family_exact(contingency_numpy(preds.numpy(), target.numpy()), adjusted_mutual_info=False)
    got = functional.clustering_scores(preds, target)
    for name in ("mutual_info_score", "normalized_mutual_info_score", "homogeneity_score", "v_measure_score"):
        assert_close_to_exact(got[name].item(), exact[name], name)


def test_expected_mutual_info_near_the_int64_limit():
    # Weighted histogram whose total is 2^63 - 1: the hypergeometric mode
    # (a + 1)(b + 1) / (N + 2) must not overflow.
    total = 2**63 - 1
    for small in (1000, 10**6):
        counts = torch.tensor([0, small, small, total - 2 * small])
        summary = contingency_summary(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]), counts,
                                      expected_mutual_info=True)
        assert math.isfinite(summary.expected_mutual_info.item())
        assert 0 <= summary.expected_mutual_info.item() < 1e-20


def test_summary_totals_and_counts():
    preds = torch.tensor([5, 5, -1, 5, 2, 2])
    target = torch.tensor([0, 1, 1, 1, 0, 0], dtype=torch.uint8)
    summary = contingency_summary(preds, target)
    assert summary.pred_totals.tolist() == [1, 2, 3]  # labels -1, 2, 5
    assert summary.target_totals.tolist() == [3, 3]
    assert [summary.n_samples.item(), summary.num_cells.item(), summary.num_pred_clusters.item(),
            summary.num_target_clusters.item()] == [6, 4, 3, 2]
    assert math.isnan(summary.expected_mutual_info.item())
    assert not math.isnan(contingency_summary(preds, target, expected_mutual_info=True).expected_mutual_info.item())


@pytest.mark.parametrize("explicit_groups", [True, False])
def test_metric_collection_of_the_ten_histogram_metrics_builds_one_histogram_per_batch(monkeypatch, explicit_groups):
    import torchmetrics

    built = []
    original = clustering_metrics.ops.pair_histogram

    def counting_pair_histogram(preds, target, counts=None):
        if counts is None:  # a batch's histogram, not a merge of histograms
            built.append(preds.numel())
        return original(preds, target, counts)

    monkeypatch.setattr(clustering_metrics.ops, "pair_histogram", counting_pair_histogram)
    # Batches this large are counted at once rather than gathered first.
    monkeypatch.setattr(clustering_metrics.metric_state, "PENDING_LABELS", 100)
    generator = torch.Generator().manual_seed(13)
    batches = [(torch.randint(0, 9, (500,), generator=generator), torch.randint(0, 6, (500,), generator=generator))
               for _ in range(5)]
    metrics = {name: getattr(clustering_metrics, cls)() for name, cls in CLASSES.items()}
    metrics["cluster_accuracy"] = clustering_metrics.ClusterAccuracy()  # the tenth metric of the histogram
    groups = [list(metrics)] if explicit_groups else True
    collection = torchmetrics.MetricCollection(metrics, compute_groups=groups)
    for preds, target in batches:
        collection.update(preds, target)
    # torchmetrics forms compute groups by comparing states after the first
    # update, which therefore runs every metric; named groups skip that.
    assert len(built) == (len(batches) if explicit_groups else len(metrics) + len(batches) - 1)
    values = collection.compute()
    all_preds, all_target = torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches])
    for name in METRICS:
        assert torch.equal(values[name], functional_of(name)(all_preds, all_target)), name
    assert torch.equal(values["cluster_accuracy"], functional.cluster_accuracy(all_preds, all_target))
