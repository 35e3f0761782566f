"""The functional mutual_info_score against scikit-learn, torchmetrics and exact arithmetic."""

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score as sklearn_mi
from torchmetrics.functional.clustering import mutual_info_score as torchmetrics_mi

from clustering_metrics.functional import mutual_info_score
from labels import LABEL_DTYPES, label_pairs, make_labels
from reference import (
    as_python_ints,
    contingency,
    contingency_numpy,
    default_dtype,
    mutual_info_exact,
    mutual_info_exact_from_entropies,
)

# The README's bound on the MI: 1e-13 relative, with no absolute term.
MI_RELATIVE_BOUND = 1e-13

EXAMPLES = [
    ([2, 1, 0, 1, 0], [0, 2, 1, 1, 0], 0.5004),
    ([1, 3, 2, 0, 1], [0, 3, 2, 2, 1], 1.0549),
]


def sklearn_reference(preds, target):
    # sklearn hashes labels through np.unique, which works on any integer array.
    return sklearn_mi(np.array(as_python_ints(preds), dtype=object).astype(str),
                      np.array(as_python_ints(target), dtype=object).astype(str))


@pytest.mark.parametrize("preds, target, expected", EXAMPLES)
def test_developer_guide_examples(preds, target, expected):
    value = mutual_info_score(torch.tensor(preds), torch.tensor(target))
    assert value.dtype == torch.float32
    assert round(value.item(), 4) == expected
    exact = mutual_info_exact(contingency(preds, target))
    assert value.item() == pytest.approx(float(exact), rel=1e-7)


@pytest.mark.usefixtures("float64_default")
@given(label_pairs())
def test_matches_exact_reference_and_sklearn(pair):
    preds, target = pair
    value = mutual_info_score(preds, target)
    assert value.dtype == torch.float64
    exact = float(mutual_info_exact(contingency(preds, target)))
    assert value.item() == pytest.approx(exact, rel=MI_RELATIVE_BOUND, abs=0)
    if preds.numel():
        assert value.item() == pytest.approx(sklearn_reference(preds, target), rel=1e-9, abs=1e-12)


@pytest.mark.usefixtures("float64_default")
@given(label_pairs(max_size=3_000, max_clusters=60, dtypes=[torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]))
def test_matches_torchmetrics(pair):
    preds, target = pair
    expected = torchmetrics_mi(preds.to(torch.int64), target.to(torch.int64))
    assert mutual_info_score(preds, target).item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)


@given(label_pairs(max_size=5_000, max_clusters=200))
def test_symmetric(pair):
    preds, target = pair
    forward = mutual_info_score(preds, target).double()
    assert mutual_info_score(target, preds).double().item() == pytest.approx(forward.item(), rel=1e-6, abs=1e-9)


@pytest.mark.usefixtures("float64_default")
@given(label_pairs(max_size=5_000, max_clusters=200), st.integers(0, 2**32 - 1))
def test_invariant_to_relabelling_and_sample_order(pair, seed):
    preds, target = pair
    rng = np.random.default_rng(seed)
    # A bijection of pred labels onto random int64 values, extremes included.
    distinct = sorted(set(as_python_ints(preds)))
    images = np.unique(np.concatenate([[-(2**63), 2**63 - 1], rng.integers(-(2**63), 2**63 - 1, size=2 * len(distinct) + 2)]))
    rng.shuffle(images)
    mapping = dict(zip(distinct, images[: len(distinct)].tolist()))
    relabelled = torch.tensor([mapping[u] for u in as_python_ints(preds)], dtype=torch.int64)
    order = torch.from_numpy(rng.permutation(preds.numel()))
    expected = mutual_info_score(preds, target).item()
    assert mutual_info_score(relabelled, target).item() == pytest.approx(expected, rel=1e-13, abs=1e-15)
    assert mutual_info_score(preds[order], target[order]).item() == pytest.approx(expected, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("num_samples, num_clusters", [(1_000_000, 10), (2_000_000, 100), (1_000_000, 3)])
def test_exact_to_1e12_on_near_independent_labels(num_samples, num_clusters):
    generator = torch.Generator().manual_seed(num_samples + num_clusters)
    preds = torch.randint(0, num_clusters, (num_samples,), generator=generator)
    target = torch.randint(0, num_clusters, (num_samples,), generator=generator)
    exact = mutual_info_exact(contingency_numpy(preds.numpy(), target.numpy()))
    with default_dtype(torch.float64):
        as_float64 = mutual_info_score(preds, target)
    as_float32 = mutual_info_score(preds, target)
    assert abs(as_float64.item() - float(exact)) <= MI_RELATIVE_BOUND * float(exact)
    assert as_float32.dtype == torch.float32
    assert as_float32.item() == torch.tensor(float(exact), dtype=torch.float64).float().item()


def test_the_two_exact_references_agree():
    generator = torch.Generator().manual_seed(5)
    for num_clusters in (1, 3, 40):
        preds = torch.randint(0, num_clusters, (2000,), generator=generator)
        target = (preds + torch.randint(0, 2, (2000,), generator=generator)) % num_clusters
        table = contingency(preds, target)
        assert abs(mutual_info_exact(table) - mutual_info_exact_from_entropies(table)) < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("num_samples, num_clusters", [(4_000_000, 1000), (1_000_000, 300)])
def test_exact_to_1e12_with_a_million_cells(num_samples, num_clusters):
    # The benchmark's hard case, scaled down: 10^6 (or 9*10^4) cells near independence.
    generator = torch.Generator().manual_seed(num_clusters)
    preds = torch.randint(0, num_clusters, (num_samples,), generator=generator)
    target = torch.randint(0, num_clusters, (num_samples,), generator=generator)
    exact = mutual_info_exact_from_entropies(contingency_numpy(preds.numpy(), target.numpy()))
    with default_dtype(torch.float64):
        value = mutual_info_score(preds, target)
    assert abs(value.item() - float(exact)) <= MI_RELATIVE_BOUND * float(exact)


def test_exact_to_1e12_when_many_cells_are_almost_independent():
    # 10^4 cells of about 1000 each, 200 of them off by one: MI ~ 1e-8, where
    # N log N and the other entropy sums (~1e8) cancel to 17 digits and the
    # extended-precision entropy form cannot promise 1e-13.
    labels = torch.arange(100)
    pred_labels = labels.repeat_interleave(100)
    target_labels = labels.repeat(100)
    counts = torch.full((10_000,), 1000, dtype=torch.int64)
    counts[labels * 100 + labels] += 1  # (i, i) up, (i, i + 1) down: marginals unchanged
    counts[labels * 100 + (labels + 1) % 100] -= 1
    table = {(int(u), int(v)): int(n) for u, v, n in zip(pred_labels, target_labels, counts)}
    exact = mutual_info_exact(table)
    assert 1e-10 < float(exact) < 1e-7
    with default_dtype(torch.float64):
        value = torch.ops.clustering_metrics.mutual_info_from_histogram(pred_labels, target_labels, counts)
    assert abs(value.item() - float(exact)) <= MI_RELATIVE_BOUND * float(exact)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="long double is a double: the exact form is always used")
def test_long_double_log_is_as_accurate_as_the_entropy_form_assumes():
    # The entropy form's error bound assumes logl within 2^-62 relative (the
    # C++ side allows 2^-60 in all); numpy's longdouble log is the same libm logl.
    rng = np.random.default_rng(0)
    values = list(range(1, 5000)) + [int(v) for v in rng.integers(1, 2**62, size=2000)]
    with mpmath.workdps(40):
        for v in values:
            got = np.log(np.longdouble(v))
            mantissa, exponent = np.frexp(got)
            got_exact = mpmath.mpf(int(np.ldexp(mantissa, 64))) * mpmath.mpf(2) ** (int(exponent) - 64)
            exact = mpmath.log(v)
            assert abs(got_exact - exact) <= mpmath.mpf(2) ** -62 * abs(exact), v


@pytest.mark.parametrize("num_clusters", [10, 1000, 100_000])
def test_result_does_not_depend_on_thread_count(num_clusters):
    generator = torch.Generator().manual_seed(num_clusters)
    preds = torch.randint(0, num_clusters, (1_000_000,), generator=generator)
    target = torch.randint(0, num_clusters, (1_000_000,), generator=generator)
    histogram = torch.ops.clustering_metrics.pair_histogram(preds, target)
    previous = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            results.append(torch.ops.clustering_metrics.mutual_info_score(preds, target))
            # Weighted counting, as when the metric merges histograms.
            results.append(torch.ops.clustering_metrics.mutual_info_from_histogram(*histogram))
    finally:
        torch.set_num_threads(previous)
    assert all(torch.equal(result, results[0]) for result in results)


def test_exact_to_1e12_with_many_clusters():
    # Many sparse cells, mostly of count 1, and a large MI.
    generator = torch.Generator().manual_seed(11)
    preds = torch.randint(0, 50_000, (300_000,), generator=generator)
    target = (preds * 7 + torch.randint(0, 3, (300_000,), generator=generator)) % 60_000
    exact = mutual_info_exact(contingency_numpy(preds.numpy(), target.numpy()))
    assert float(exact) > 1.0
    with default_dtype(torch.float64):
        value = mutual_info_score(preds, target)
    assert abs(value.item() - float(exact)) <= MI_RELATIVE_BOUND * float(exact)


def test_single_cluster_is_exactly_zero():
    target = torch.randint(0, 50, (10_000,), generator=torch.Generator().manual_seed(0))
    single = torch.full_like(target, -7)
    assert mutual_info_score(single, target).item() == 0.0
    assert mutual_info_score(target, single).item() == 0.0


@pytest.mark.parametrize("dtype", LABEL_DTYPES)
def test_empty_input_returns_zero(dtype):
    value = mutual_info_score(torch.empty(0, dtype=dtype), torch.empty(0, dtype=torch.int64))
    assert value.item() == 0.0 and value.dtype == torch.get_default_dtype() and value.shape == ()


def test_result_follows_default_dtype(float64_default):
    assert mutual_info_score(torch.tensor([0, 1, 1]), torch.tensor([1, 0, 0])).dtype == torch.float64


def test_non_contiguous_views_and_mixed_dtypes():
    rng = np.random.default_rng(1)
    preds = torch.from_numpy(rng.integers(-5, 5, size=(2_000, 3)))[:, 1]
    target = torch.from_numpy(rng.integers(0, 200, size=4_000).astype(np.uint8))[::2]
    assert not preds.is_contiguous() and not target.is_contiguous()
    assert mutual_info_score(preds, target).item() == pytest.approx(
        sklearn_mi(preds.numpy(), target.numpy()), rel=1e-6
    )
    wide = make_labels(rng, torch.uint64, 2_000, [0, 2**64 - 1, 2**63, 17])
    expected = float(mutual_info_exact(contingency(preds, wide)))
    assert mutual_info_score(preds, wide).item() == pytest.approx(expected, rel=1e-6)


def test_float32_at_1e7_is_the_rounded_exact_value():
    """torchmetrics' float32 pipeline is ~6% off here; ours must be the exact value, rounded."""
    generator = torch.Generator().manual_seed(3)
    preds = torch.randint(0, 10, (10_000_000,), generator=generator)
    target = torch.randint(0, 10, (10_000_000,), generator=generator)
    exact = float(mutual_info_exact(contingency_numpy(preds.numpy(), target.numpy())))
    ours = mutual_info_score(preds, target)
    assert ours.dtype == torch.float32
    assert ours.item() == torch.tensor(exact, dtype=torch.float64).float().item()


def test_1e5_clusters_a_side_stays_small_in_memory():
    # torchmetrics would allocate a dense 1e5 x 1e5 table (80 GB) here.
    script = (
        "import resource, torch, clustering_metrics as cm\n"
        "g = torch.Generator().manual_seed(0)\n"
        "p = torch.randint(0, 100_000, (1_000_000,), generator=g)\n"
        "t = torch.randint(0, 100_000, (1_000_000,), generator=g)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "v = cm.mutual_info_score(p, t)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(v.item(), (after - before) * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    value, peak_extra_bytes = float(out[0]), int(out[1])
    generator = torch.Generator().manual_seed(0)
    preds = torch.randint(0, 100_000, (1_000_000,), generator=generator)
    target = torch.randint(0, 100_000, (1_000_000,), generator=generator)
    assert value == pytest.approx(sklearn_mi(preds.numpy(), target.numpy()), rel=1e-6)
    input_bytes = 2 * 8 * 1_000_000
    assert peak_extra_bytes <= 2 * input_bytes, peak_extra_bytes


class TestErrors:
    def test_non_tensor_inputs(self):
        target = torch.tensor([0, 1])
        for bad in ([0, 1], np.array([0, 1]), None):
            with pytest.raises(TypeError, match="preds"):
                mutual_info_score(bad, target)
            with pytest.raises(TypeError, match="target"):
                mutual_info_score(target, bad)

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64])
    def test_float_or_complex_labels(self, dtype):
        with pytest.raises(ValueError, match="Expected real, discrete values"):
            mutual_info_score(torch.zeros(3, dtype=dtype), torch.zeros(3, dtype=torch.int64))
        with pytest.raises(ValueError, match="Expected real, discrete values"):
            mutual_info_score(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=dtype))

    def test_not_1d(self):
        with pytest.raises(ValueError, match=r"Expected arguments to be 1-d tensors but got 2-d tensors\."):
            mutual_info_score(torch.zeros(2, 2, dtype=torch.int64), torch.zeros(2, 2, dtype=torch.int64))
        with pytest.raises(ValueError, match=r"but got 0-d tensors\."):
            mutual_info_score(torch.tensor(1), torch.tensor(1))

    def test_shape_mismatch(self):
        with pytest.raises(RuntimeError, match="Predictions and targets are expected to have the same shape, "):
            mutual_info_score(torch.zeros(3, dtype=torch.int64), torch.zeros(4, dtype=torch.int64))

    def test_different_devices(self):
        with pytest.raises(RuntimeError, match="same device"):
            mutual_info_score(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=torch.int64, device="meta"))


# ---------------------------------------------------------------- near independence


@st.composite
def near_independent_tables(draw):
    """A table of R x C cells whose counts are the independent ones a_i b_j / N, rounded, plus
    perturbations of a few units: MI is then tiny, from about 1e-30 up, and every per-cell term
    cancels against the others to all but its last digits. Counts range over 1 to 1e15."""
    rows, cols = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    scale = 10 ** draw(st.integers(1, 15))
    row_weights = draw(st.lists(st.integers(1, 9), min_size=rows, max_size=rows))
    col_weights = draw(st.lists(st.integers(1, 9), min_size=cols, max_size=cols))
    table = {}
    for i, a in enumerate(row_weights):
        for j, b in enumerate(col_weights):
            perturbation = draw(st.integers(-3, 3))
            table[(i, j)] = max(a * b * scale + perturbation, 1)
    return table


@pytest.mark.usefixtures("float64_default")
@given(near_independent_tables())
# Every cell's log is 2.5e-25 from 0 and the MI is 3.125e-50: a 60-digit
# reference once got it 6e-13 wrong (tests/reference.py now adapts its digits).
@example({(0, 0): 10**12, (0, 1): 10**12 + 1, (1, 0): 10**12 - 1, (1, 1): 10**12})
def test_near_independence_to_1e13(table):
    pred_labels = torch.tensor([u for u, _ in table], dtype=torch.int64)
    target_labels = torch.tensor([v for _, v in table], dtype=torch.int64)
    counts = torch.tensor(list(table.values()), dtype=torch.int64)
    exact = mutual_info_exact(table, digits=60)
    got = torch.ops.clustering_metrics.mutual_info_from_histogram(pred_labels, target_labels, counts).item()
    assert abs(got - float(exact)) <= MI_RELATIVE_BOUND * float(exact), (got, float(exact))
    assert (got > 0) == (exact > 0)  # a dependent table is never clipped to 0


@pytest.mark.parametrize("num_samples", [1_000_000, 10_000_000])
def test_independent_booleans_to_1e13(num_samples):
    generator = torch.Generator().manual_seed(num_samples)
    preds = torch.rand(num_samples, generator=generator) < 0.5
    target = torch.rand(num_samples, generator=generator) < 0.5
    exact = mutual_info_exact(contingency_numpy(preds.numpy(), target.numpy()), digits=60)
    with default_dtype(torch.float64):
        value = mutual_info_score(preds, target).item()
    assert abs(value - float(exact)) <= MI_RELATIVE_BOUND * float(exact)


@pytest.mark.parametrize("center", [2_500_000, 10**12])
def test_two_by_two_one_off_the_independent_table(center):
    # Cells c + 1, c - 1, c - 1, c + 1: N MI ~ 8/c... far below every cell term.
    table = {(0, 0): center + 1, (0, 1): center - 1, (1, 0): center - 1, (1, 1): center + 1}
    counts = torch.tensor(list(table.values()))
    value = torch.ops.clustering_metrics.mutual_info_from_histogram(
        torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]), counts).item()
    exact = mutual_info_exact(table, digits=60)
    assert value > 0
    assert abs(value - float(exact)) <= MI_RELATIVE_BOUND * float(exact)
