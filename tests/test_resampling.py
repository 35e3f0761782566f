"""The bootstrap (its resampling op, its intervals) and pairwise score matrices.

References: published Philox known answers, scipy's binomial distribution,
a naive bootstrap over sample indices scored by scikit-learn, scipy's BCa
interval, a coverage simulation whose true value is computed from the
population, and the functionals on every pair.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

import clustering_metrics
from clustering_metrics import formulas, ops
from clustering_metrics import functional as F
from clustering_metrics.resampling import BootstrapInterval, bootstrap_tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# ---------------------------------------------------------------- the generator and the sampler


@pytest.mark.source_checkout
def test_philox_matches_the_published_known_answers(tmp_path):
    # Random123's kat_vectors for philox4x32_10 (zero, all-ones and pi-digit counters and keys).
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    source = tmp_path / "philox_answers.cpp"
    source.write_text(
        '#include <cstdio>\n#include "philox.h"\n'
        "int main() {\n"
        "  const unsigned cases[3][6] = {{0, 0, 0, 0, 0, 0},\n"
        "      {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},\n"
        "      {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u}};\n"
        "  for (const auto& c : cases) {\n"
        "    uint32_t block[4] = {c[0], c[1], c[2], c[3]};\n"
        "    clustering_metrics::philox4x32_10(block, c[4], c[5]);\n"
        '    std::printf("%08x %08x %08x %08x\\n", block[0], block[1], block[2], block[3]);\n'
        "  }\n}\n")
    binary = tmp_path / "philox_answers"
    subprocess.run([compiler, "-std=c++17", "-I", os.path.join(ROOT, "csrc", "common"), str(source), "-o", str(binary)],
                   check=True)
    lines = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.split("\n")
    assert lines[:3] == [
        "6627e8d5 e169c58d bc57ac4c 9b00dbd8",
        "408f276d 41c83b0e a20bc7c6 6d5451fd",
        "d16cfe09 94fdcceb 5001e420 24126ea1",
    ]


def _chi_square_p_value(draws, n, p):
    """p-value of a chi-square test of integer draws against Binomial(n, p), over bins of >= 5 expected."""
    lo, hi = stats.binom.ppf(1e-4, n, p), stats.binom.ppf(1 - 1e-4, n, p)
    edges = np.concatenate([[-1], np.unique(np.linspace(lo, hi, 30).astype(np.int64)), [n]])
    probabilities = np.diff(stats.binom.cdf(edges, n, p))
    probabilities[-1] += 1 - probabilities.sum()
    observed = np.bincount(np.searchsorted(edges, draws, side="left") - 1, minlength=len(edges) - 1)
    expected = probabilities * len(draws)
    kept = expected > 5
    statistic = ((observed[kept] - expected[kept]) ** 2 / expected[kept]).sum()
    return stats.chi2.sf(statistic, kept.sum() - 1)


# (counts, cell): every sampler regime, in the first cell and down the chain.
@pytest.mark.parametrize("counts, cell", [
    ([3, 17], 0),                     # inversion (n p < 10)
    ([4, 996], 0),
    ([300, 700], 0),                  # rejection (BTRS)
    ([999_970, 30], 1),               # the complement of a large share
    ([10**8, 123_456_789, 10**9], 1),  # a cell down the chain, large n
    ([5, 0, 2, 0, 93], 2),            # zero cells in the chain
    ([10**15, 10**15], 0),            # n where a textbook BTRS bound rounds away its digits
    ([2**53 - 3 * 10**15, 3 * 10**15], 1),  # the largest total, a small share
])
def test_each_cell_is_binomial(counts, cell):
    draws = ops.bootstrap_counts(torch.tensor(counts), 40_000, seed=11)
    total = sum(counts)
    assert bool((draws.sum(dim=1) == total).all())
    p_value = _chi_square_p_value(draws[:, cell].numpy(), total, counts[cell] / total)
    assert p_value > 1e-4, p_value


def test_cells_covary_as_a_multinomial():
    counts = torch.tensor([50, 30, 20])
    draws = ops.bootstrap_counts(counts, 100_000, seed=5).to(torch.float64)
    p = counts.to(torch.float64) / 100
    expected = 100 * (torch.diag(p) - torch.outer(p, p))
    covariance = torch.cov(draws.T)
    torch.testing.assert_close(covariance, expected, atol=0.35, rtol=0.02)


def test_empty_cells_stay_empty_and_edges():
    draws = ops.bootstrap_counts(torch.tensor([0, 4, 0, 6, 0]), 500, seed=1)
    assert bool((draws[:, [0, 2, 4]] == 0).all())
    assert ops.bootstrap_counts(torch.tensor([7]), 3, seed=1).tolist() == [[7], [7], [7]]
    assert ops.bootstrap_counts(torch.zeros(3, dtype=torch.int64), 2, seed=1).tolist() == [[0, 0, 0]] * 2
    assert ops.bootstrap_counts(torch.empty(0, dtype=torch.int64), 4, seed=1).shape == (4, 0)
    assert ops.bootstrap_counts(torch.tensor([1, 2]), 0, seed=1).shape == (0, 2)


def test_same_bits_for_the_same_seed_at_any_thread_count_and_split():
    counts = torch.from_numpy(np.random.default_rng(0).integers(0, 300, 5000))
    threads = torch.get_num_threads()
    try:
        whole = ops.bootstrap_counts(counts, 600, seed=2**62 + 7)
        torch.set_num_threads(1)
        single = ops.bootstrap_counts(counts, 600, seed=2**62 + 7)
    finally:
        torch.set_num_threads(threads)
    split = torch.cat([ops.bootstrap_counts(counts, 250, 2**62 + 7), ops.bootstrap_counts(counts, 350, 2**62 + 7, 250)])
    assert torch.equal(whole, single) and torch.equal(whole, split)
    assert not torch.equal(whole, ops.bootstrap_counts(counts, 600, seed=2**62 + 8))


@pytest.mark.parametrize("call, error, message", [
    (lambda: ops.bootstrap_counts(torch.tensor([3, -1]), 2, 0), RuntimeError, "non-negative but found -1"),
    (lambda: ops.bootstrap_counts(torch.tensor([2**62, 2**62]), 2, 0), RuntimeError, "at most 2\\^63 - 1"),
    (lambda: ops.bootstrap_counts(torch.tensor([2**52, 2**52 + 1]), 2, 0), RuntimeError, "more than the 2\\^53"),
    (lambda: ops.bootstrap_counts(torch.tensor([[1, 2]]), 2, 0), RuntimeError, "int64 1-d tensor"),
    (lambda: ops.bootstrap_counts(torch.tensor([1.0]), 2, 0), RuntimeError, "int64 1-d tensor"),
    (lambda: ops.bootstrap_counts(torch.tensor([1]), -1, 0), RuntimeError, "num_resamples to be non-negative but got -1"),
    (lambda: ops.bootstrap_counts(torch.tensor([1]), 2, 0, -3), RuntimeError, "first_resample .* got -3"),
    (lambda: ops.bootstrap_counts([1, 2], 2, 0), TypeError, "`counts` to be a torch.Tensor"),
])
def test_bootstrap_counts_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("counts", [torch.tensor([3, 0, 9]), torch.empty(0, dtype=torch.int64)])
def test_opcheck(counts):
    torch.library.opcheck(torch.ops.clustering_metrics.bootstrap_counts.default, (counts, 5, 3, 2))


# ---------------------------------------------------------------- bootstrap_scores


def _correlated_labels(n, clusters, agreement, seed):
    rng = np.random.default_rng(seed)
    preds = rng.integers(0, clusters, n)
    target = np.where(rng.random(n) < agreement, preds, rng.integers(0, clusters, n))
    return preds, target


def test_each_resample_is_scored_as_the_functional_scores_its_table(float64_default):
    preds, target = _correlated_labels(300, 6, 0.6, 1)
    result = F.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target), num_resamples=40, seed=9)
    pred_labels, target_labels, counts = ops.pair_histogram(torch.from_numpy(preds), torch.from_numpy(target))
    resamples = ops.bootstrap_counts(counts, 40, 9)
    for b in (0, 17, 39):
        p, t = pred_labels.repeat_interleave(resamples[b]), target_labels.repeat_interleave(resamples[b])
        for name in formulas.METRICS:
            expected = getattr(F, name)(p, t)
            assert torch.equal(result[name].replicates[b], expected), (name, b)


def _naive_bootstrap(preds, target, score, num_resamples, seed):
    rng = np.random.default_rng(seed)
    n = len(preds)
    return np.array([score(preds[i], target[i]) for i in (rng.integers(0, n, n) for _ in range(num_resamples))])


@pytest.mark.parametrize("name, reference", [
    ("adjusted_rand_score", skm.adjusted_rand_score),
    ("normalized_mutual_info_score", skm.normalized_mutual_info_score),
    ("mutual_info_score", skm.mutual_info_score),
    ("fowlkes_mallows_index", skm.fowlkes_mallows_score),
])
def test_replicates_match_a_naive_bootstrap(name, reference, float64_default):
    preds, target = _correlated_labels(2000, 8, 0.5, 2)
    naive = _naive_bootstrap(target, preds, reference, 1500, seed=3)
    ours = F.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target), name, num_resamples=1500, seed=4)[name]
    assert stats.ks_2samp(naive, ours.replicates.numpy()).pvalue > 1e-3
    low, high = np.quantile(naive, [0.025, 0.975])
    assert abs(float(ours.low) - low) < 0.02 and abs(float(ours.high) - high) < 0.02
    assert float(ours.value) == pytest.approx(reference(target, preds), rel=1e-12)


def test_bca_matches_scipy(float64_default):
    preds, target = _correlated_labels(2000, 5, 0.4, 5)
    expected = stats.bootstrap((target, preds), skm.adjusted_rand_score, paired=True, vectorized=False,
                               n_resamples=1000, method="BCa", random_state=np.random.default_rng(6))
    ours = F.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target), "adjusted_rand_score",
                              num_resamples=1000, seed=7, method="bca")["adjusted_rand_score"]
    assert abs(float(ours.low) - expected.confidence_interval.low) < 0.02
    assert abs(float(ours.high) - expected.confidence_interval.high) < 0.02
    assert float(ours.standard_error) == pytest.approx(expected.standard_error, rel=0.15)


@pytest.mark.parametrize("name, reference", [
    ("mutual_info_score", skm.mutual_info_score),
    ("adjusted_rand_score", skm.adjusted_rand_score),
])
def test_bca_is_efrons_formula_on_a_per_sample_jackknife(name, reference, float64_default):
    # Efron's BCa written out in numpy, from our resamples' scores and a jackknife that
    # leaves out each of the N samples in turn, scored by scikit-learn.
    from scipy.special import ndtr, ndtri

    preds, target = _correlated_labels(300, 6, 0.5, 17)
    ours = F.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target), name, num_resamples=2000, seed=3,
                              method="bca", confidence_level=0.9)[name]
    percentile = F.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target), name, num_resamples=2000,
                                    seed=3, confidence_level=0.9)[name]
    replicates = ours.replicates.numpy()
    value = reference(target, preds)
    bias = ndtri(((replicates < value).sum() + (replicates <= value).sum()) / (2 * len(replicates)))
    jackknife = np.array([reference(np.delete(target, i), np.delete(preds, i)) for i in range(len(preds))])
    deviations = jackknife.mean() - jackknife
    acceleration = (deviations**3).sum() / (6 * ((deviations**2).sum()) ** 1.5)
    z = ndtri(np.array([0.05, 0.95]))
    levels = ndtr(bias + (bias + z) / (1 - acceleration * (bias + z)))
    low, high = np.percentile(replicates, 100 * levels)
    assert float(ours.low) == pytest.approx(low, abs=1e-9) and float(ours.high) == pytest.approx(high, abs=1e-9)
    if name == "mutual_info_score":  # resampling inflates the MI: BCa moves the interval well down
        assert float(percentile.low) - float(ours.low) > 1e-3


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_interval_coverage_of_a_known_population_rand_index(method, float64_default):
    # The Rand index of a sample is a U-statistic, so its expectation is the
    # population's: the probability that two independent draws from the joint
    # distribution are together in both labelings or apart in both.
    joint = np.array([[0.30, 0.05, 0.02], [0.04, 0.25, 0.06], [0.03, 0.05, 0.20]])
    rows, cols = joint.sum(axis=1), joint.sum(axis=0)
    truth = 1 - (rows**2).sum() - (cols**2).sum() + 2 * (joint**2).sum()
    rng = np.random.default_rng(8)
    datasets, covered = 150, 0
    for d in range(datasets):
        cells = rng.choice(9, size=300, p=joint.ravel())
        result = F.bootstrap_scores(torch.from_numpy(cells // 3), torch.from_numpy(cells % 3), "rand_score",
                                    num_resamples=300, seed=d, method=method)["rand_score"]
        covered += float(result.low) <= truth <= float(result.high)
    # 95% nominal; 150 datasets give a standard error of 1.8%.
    assert 0.89 <= covered / datasets <= 0.995, covered / datasets


def test_seed_none_follows_torch_manual_seed():
    preds, target = (torch.from_numpy(a) for a in _correlated_labels(200, 4, 0.5, 9))
    torch.manual_seed(123)
    first = F.bootstrap_scores(preds, target, "rand_score", num_resamples=50)["rand_score"].replicates
    torch.manual_seed(123)
    again = F.bootstrap_scores(preds, target, "rand_score", num_resamples=50)["rand_score"].replicates
    assert torch.equal(first, again)


def test_result_fields_and_dtype():
    preds, target = (torch.from_numpy(a) for a in _correlated_labels(100, 3, 0.7, 10))
    result = F.bootstrap_scores(preds, target, ["rand_score", "v_measure_score"], num_resamples=20, seed=1)
    assert list(result) == ["rand_score", "v_measure_score"]
    interval = result["rand_score"]
    assert isinstance(interval, BootstrapInterval)
    assert interval.replicates.shape == (20,) and interval.value.dtype == torch.get_default_dtype()
    assert float(interval.low) <= float(interval.high)
    assert float(interval.standard_error) == pytest.approx(float(interval.replicates.to(torch.float64).std()), rel=1e-6)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_a_constant_statistic_has_a_point_interval(method):
    labels = torch.tensor([0, 0, 1, 1, 2])
    result = F.bootstrap_scores(labels, labels, "rand_score", num_resamples=30, seed=1, method=method)["rand_score"]
    assert float(result.low) == float(result.high) == 1.0 and float(result.standard_error) == 0.0


def test_bca_warns_and_gives_nan_when_every_resample_lies_above_the_value():
    calls = []

    def score(tables):  # the data (the first call) scores 0, every resample and leave-one-out table 1
        calls.append(len(tables))
        return {"n": torch.full((len(tables),), 0.0 if len(calls) == 1 else 1.0, dtype=torch.float64)}

    counts = torch.tensor([2, 1, 3])
    with pytest.warns(UserWarning, match="cannot place the interval"):
        result = bootstrap_tables(counts, score, lambda: (torch.arange(3), counts), num_resamples=20, seed=1,
                                  method="bca")
    assert torch.isnan(result["n"].low) and torch.isnan(result["n"].high)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_resamples": 0}, "num_resamples"),
    ({"num_resamples": 2.5}, "num_resamples"),
    ({"num_resamples": 2**24 + 1}, "num_resamples"),
    ({"confidence_level": 1.0}, "confidence_level"),
    ({"confidence_level": float("nan")}, "confidence_level"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"seed": True}, "seed"),
    ({"method": "basic"}, "method"),
    ({"metrics": "accuracy"}, "unknown metric"),
    ({"average_method": "median"}, "average_method"),
])
def test_bootstrap_argument_errors(kwargs, message):
    labels = torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match=message):
        F.bootstrap_scores(labels, labels, **kwargs)


def test_bootstrap_of_no_samples_is_an_error():
    empty = torch.empty(0, dtype=torch.int64)
    with pytest.raises(ValueError, match="no samples to resample"):
        F.bootstrap_scores(empty, empty)
    with pytest.raises(ValueError, match="no samples to resample"):
        clustering_metrics.RandScore().bootstrap()


def test_bounded_metric_bootstrap_refuses_labels_outside_its_bounds():
    metric = clustering_metrics.AdjustedRandScore(num_pred_clusters=2, num_target_clusters=2)
    metric.update(torch.tensor([0, 1, 5]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="outside"):
        metric.bootstrap(num_resamples=10, seed=0)


def test_metric_classes_bootstrap_their_state(float64_default):
    preds, target = (torch.from_numpy(a) for a in _correlated_labels(1000, 5, 0.5, 12))
    expected = F.bootstrap_scores(preds, target, num_resamples=60, seed=3)
    for bounds in ({}, {"num_pred_clusters": 5, "num_target_clusters": 5}):
        metric = clustering_metrics.AdjustedRandScore(**bounds)
        collection = clustering_metrics.ClusteringScores(**bounds)
        for start in range(0, 1000, 300):
            metric.update(preds[start:start + 300], target[start:start + 300])
            collection.update(preds[start:start + 300], target[start:start + 300])
        single = metric.bootstrap(num_resamples=60, seed=3)
        assert torch.equal(single.replicates, expected["adjusted_rand_score"].replicates)
        assert torch.equal(single.low, expected["adjusted_rand_score"].low)
        every = collection.bootstrap(num_resamples=60, seed=3)
        for name in formulas.METRICS:
            assert torch.equal(every[name].replicates, expected[name].replicates), name


def _accuracy_by_scipy(preds, target):
    from scipy.optimize import linear_sum_assignment

    table = skm.cluster.contingency_matrix(target, preds)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return table[rows, cols].sum() / len(preds)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_cluster_accuracy_bootstrap_solves_each_resample(method, float64_default):
    preds, target = _correlated_labels(400, 5, 0.6, 18)
    metric = clustering_metrics.ClusterAccuracy()
    metric.update(torch.from_numpy(preds), torch.from_numpy(target))
    result = metric.bootstrap(num_resamples=50, seed=4, method=method)
    pred_labels, target_labels, counts = ops.pair_histogram(torch.from_numpy(preds), torch.from_numpy(target))
    resamples = ops.bootstrap_counts(counts, 50, 4)
    for b in (0, 31, 49):
        p = pred_labels.repeat_interleave(resamples[b]).numpy()
        t = target_labels.repeat_interleave(resamples[b]).numpy()
        assert float(result.replicates[b]) == pytest.approx(_accuracy_by_scipy(p, t), abs=1e-15)
    assert float(result.value) == pytest.approx(_accuracy_by_scipy(preds, target), abs=1e-15)
    assert float(result.low) <= float(result.value) <= float(result.high)


# ---------------------------------------------------------------- pairwise_scores


def _labelings(count, n, seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 12, n)
    rows = [np.where(rng.random(n) < rng.random(), base, rng.integers(0, rng.integers(2, 30), n)) for _ in range(count)]
    return torch.from_numpy(np.stack(rows))


@pytest.mark.parametrize("metric", list(formulas.METRICS))
def test_pairwise_matrix_equals_the_functional_on_every_pair(metric, float64_default):
    labelings = _labelings(5, 400, 13)
    labelings[3] = labelings[3] * 10**12 - 7  # wide labels: ranked, as any labeling
    matrix = F.pairwise_scores(labelings, metric)
    for i in range(5):
        for j in range(5):
            assert torch.equal(matrix[i, j], getattr(F, metric)(labelings[i], labelings[j])), (i, j)


def test_pairwise_many_clusters_and_a_list(float64_default):
    rng = np.random.default_rng(14)
    rows = [torch.from_numpy(rng.integers(0, 3000, 2000)) for _ in range(3)] + [torch.arange(2000)]
    matrix = F.pairwise_scores(rows, "normalized_mutual_info_score", average_method="max")
    for i in range(4):
        for j in range(4):
            expected = F.normalized_mutual_info_score(rows[i], rows[j], "max")
            assert torch.equal(matrix[i, j], expected), (i, j)


def test_pairwise_matches_scikit_learn():
    labelings = _labelings(4, 300, 15)
    matrix = F.pairwise_scores(labelings, "adjusted_rand_score").to(torch.float64)
    expected = [[skm.adjusted_rand_score(b.numpy(), a.numpy()) for b in labelings] for a in labelings]
    torch.testing.assert_close(matrix, torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=0)


def test_pairwise_edges():
    assert F.pairwise_scores(torch.tensor([[3, 3, 4]]), "rand_score").tolist() == [[1.0]]
    empty = F.pairwise_scores(torch.empty((2, 0), dtype=torch.int64), "rand_score")
    assert empty.shape == (2, 2)
    assert torch.equal(empty[0, 1], F.rand_score(torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64)))


@pytest.mark.parametrize("labelings, kwargs, error, message", [
    (torch.tensor([0, 1, 2]), {}, ValueError, "2-d"),
    ([], {}, ValueError, "at least one"),
    ([torch.tensor([0, 1]), torch.tensor([0, 1, 2])], {}, RuntimeError, "same shape"),
    (torch.tensor([[0.0, 1.0]]), {}, ValueError, "discrete"),
    ("01", {}, TypeError, "tensor or a list"),
    ([torch.tensor([0, 1]), [0, 1]], {}, TypeError, "`labelings\\[1\\]` to be a torch.Tensor"),
    (torch.tensor([[0, 1]]), {"metric": "cluster_accuracy"}, ValueError, "unknown metric"),
    (torch.tensor([[0, 1]]), {"metric": "accuracy"}, ValueError, "unknown metric"),
    (torch.tensor([[0, 1]]), {"metric": ["rand_score"]}, ValueError, "one metric"),
    (torch.tensor([[0, 1]]), {"beta": 0}, ValueError, "beta"),
])
def test_pairwise_errors(labelings, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.pairwise_scores(labelings, **kwargs)


def test_pairwise_over_more_pairs_than_one_block(float64_default):
    # 95 labelings: 4560 pairs, more than the 4096 of a block.
    labelings = _labelings(95, 30, 16)
    matrix = F.pairwise_scores(labelings, "homogeneity_score")
    expected = torch.stack([torch.stack([F.homogeneity_score(a, b) for b in labelings]) for a in labelings])
    assert torch.equal(matrix, expected)
