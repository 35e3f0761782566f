"""The raw custom ops: histograms against a Counter, weights, opcheck and torch.compile."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import clustering_metrics  # noqa: F401  (registers the ops)
from clustering_metrics import ops
from clustering_metrics.functional import mutual_info_score
from labels import LABEL_DTYPES, label_pairs, make_labels
from reference import as_python_ints, contingency, mutual_info_exact

OPS = torch.ops.clustering_metrics


def histogram_as_dict(pred_labels, target_labels, counts):
    return {(u, v): n for u, v, n in zip(as_python_ints(pred_labels), as_python_ints(target_labels), counts.tolist())}


@given(label_pairs(max_size=20_000, max_clusters=2_000))
def test_pair_histogram_matches_counter(pair):
    preds, target = pair
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    assert pred_labels.dtype == preds.dtype and target_labels.dtype == target.dtype
    assert counts.dtype == torch.int64
    pairs = list(zip(as_python_ints(pred_labels), as_python_ints(target_labels)))
    assert pairs == sorted(set(pairs)), "pairs must be distinct and sorted by (pred, target)"
    assert histogram_as_dict(pred_labels, target_labels, counts) == contingency(preds, target)


@given(label_pairs(max_size=5_000, max_clusters=300), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_merging_histograms_by_concatenation(pair, num_parts, seed):
    preds, target = pair
    cuts = sorted(np.random.default_rng(seed).integers(0, preds.numel() + 1, size=num_parts - 1).tolist())
    bounds = [0, *cuts, preds.numel()]
    parts = [ops.pair_histogram(preds[a:b], target[a:b]) for a, b in zip(bounds, bounds[1:])]
    merged = ops.pair_histogram(*(torch.cat([p[i] for p in parts]) for i in range(3)))
    whole = ops.pair_histogram(preds, target)
    for got, expected in zip(merged, whole):
        assert torch.equal(got, expected)
    mi = ops.mutual_info_from_histogram(*(torch.cat([p[i] for p in parts]) for i in range(3)))
    assert mi.dtype == torch.float64
    assert mi.item() == pytest.approx(ops.mutual_info_score(preds, target).item(), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("num_clusters", [10, 300, 1000, 2000, 100_000])
def test_score_and_score_from_histogram_give_the_same_bits(num_clusters):
    # The raw labels and their histogram may be counted differently (dense
    # table or sorted keys, different index ranges); the MI must not change.
    generator = torch.Generator().manual_seed(num_clusters)
    preds = torch.randint(0, num_clusters, (1_000_000,), generator=generator)
    target = torch.randint(0, num_clusters, (1_000_000,), generator=generator) * 3 - 7
    direct = ops.mutual_info_score(preds, target)
    assert torch.equal(ops.mutual_info_from_histogram(*ops.pair_histogram(preds, target)), direct)


def test_weights_drop_zero_counts_and_add_duplicates():
    preds = torch.tensor([5, 5, 1, 9, 5])
    target = torch.tensor([0, 0, 2, 3, 1])
    counts = torch.tensor([2, 3, 0, 4, 1])
    pred_labels, target_labels, merged = ops.pair_histogram(preds, target, counts)
    assert histogram_as_dict(pred_labels, target_labels, merged) == {(5, 0): 5, (9, 3): 4, (5, 1): 1}


def test_mi_from_histogram_with_counts_beyond_2_to_the_32():
    # N = 3.3e12 forces the 128-bit product path; mpmath gives the truth.
    pred_labels = torch.tensor([0, 0, 1, 1, 2])
    target_labels = torch.tensor([0, 1, 0, 1, 1])
    counts = torch.tensor([10**12, 3 * 10**11 + 7, 2 * 10**12 - 1, 5, 11])
    expected = mutual_info_exact({(u, v): n for u, v, n in zip([0, 0, 1, 1, 2], [0, 1, 0, 1, 1], counts.tolist())})
    value = ops.mutual_info_from_histogram(pred_labels, target_labels, counts)
    assert abs(value.item() - float(expected)) <= 1e-12 * float(expected)


class TestOpErrors:
    def test_negative_counts(self):
        with pytest.raises(RuntimeError, match="non-negative"):
            ops.pair_histogram(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([1, -1]))

    def test_counts_overflow(self):
        with pytest.raises(RuntimeError, match="2\\^63"):
            ops.mutual_info_from_histogram(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([2**62, 2**62]))

    def test_counts_dtype_and_length(self):
        with pytest.raises(RuntimeError, match="counts to be int64"):
            ops.pair_histogram(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([1, 1], dtype=torch.int32))
        with pytest.raises(RuntimeError, match="length 2"):
            ops.pair_histogram(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([1, 1, 1]))

    def test_op_rejects_float_and_mismatched_labels(self):
        with pytest.raises(RuntimeError, match="Expected real, discrete values for preds"):
            ops.mutual_info_score(torch.zeros(2), torch.zeros(2, dtype=torch.int64))
        with pytest.raises(RuntimeError, match="same length"):
            ops.mutual_info_score(torch.zeros(2, dtype=torch.int64), torch.zeros(3, dtype=torch.int64))
        with pytest.raises(RuntimeError, match="1-d tensor"):
            ops.pair_histogram(torch.zeros(2, 1, dtype=torch.int64), torch.zeros(2, 1, dtype=torch.int64))


def op_samples():
    rng = np.random.default_rng(0)
    samples = []
    for dtype_p, dtype_t, n, k in [
        (torch.int64, torch.int64, 1_000, 10),
        (torch.int32, torch.uint8, 500, 200),
        (torch.uint64, torch.int16, 300, 50),
        (torch.bool, torch.int64, 100, 2),
        (torch.int64, torch.int64, 0, 1),
        (torch.int64, torch.int64, 70_000, 5_000),
    ]:
        values_p = sorted(set(rng.integers(-(2**40), 2**40, size=k).tolist())) if dtype_p == torch.int64 else list(range(k))
        preds = make_labels(rng, dtype_p, n, values_p if dtype_p != torch.bool else [0, 1])
        target = make_labels(rng, dtype_t, n, list(range(min(k, 255))))
        samples.append((preds, target))
    return samples


@pytest.mark.parametrize("sample", op_samples(), ids=lambda s: f"{s[0].dtype}-{s[1].dtype}-{s[0].numel()}")
def test_opcheck(sample):
    preds, target = sample
    torch.library.opcheck(OPS.mutual_info_score.default, (preds, target))
    torch.library.opcheck(OPS.pair_histogram.default, (preds, target))
    counts = torch.arange(preds.numel(), dtype=torch.int64) % 3
    torch.library.opcheck(OPS.pair_histogram.default, (preds, target, counts))
    torch.library.opcheck(OPS.mutual_info_from_histogram.default, (preds, target, counts))


def test_torch_compile_fullgraph():
    compiled = torch.compile(mutual_info_score, fullgraph=True)
    preds = torch.tensor([2, 1, 0, 1, 0])
    target = torch.tensor([0, 2, 1, 1, 0])
    expected = mutual_info_score(preds, target)
    assert torch.equal(compiled(preds, target), expected)
    generator = torch.Generator().manual_seed(0)
    preds = torch.randint(-3, 3, (10_000,), generator=generator, dtype=torch.int32)
    target = torch.randint(0, 100, (10_000,), generator=generator, dtype=torch.int32)
    assert torch.equal(compiled(preds, target), mutual_info_score(preds, target))


def test_compiled_histogram_has_data_dependent_size():
    compiled = torch.compile(lambda p, t: ops.pair_histogram(p, t)[2].sum(), fullgraph=True)
    preds = torch.tensor([0, 0, 1, 1, 1])
    target = torch.tensor([3, 3, 4, 4, 5])
    assert compiled(preds, target).item() == 5


@pytest.mark.parametrize("rare_label", [-1, 500, 2**40, -(2**63)])
@pytest.mark.parametrize("position", [1, 50_001, 99_998])
def test_rare_label_outside_the_common_range(rare_label, position):
    # One label far from the rest, at a position a strided sample can miss.
    generator = torch.Generator().manual_seed(position)
    preds = torch.randint(0, 10, (100_000,), generator=generator)
    target = torch.randint(0, 300, (100_000,), generator=generator)
    preds[position] = rare_label
    target[position + 1] = rare_label
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    assert histogram_as_dict(pred_labels, target_labels, counts) == contingency(preds, target)
    expected = float(mutual_info_exact(contingency(preds, target)))
    assert ops.mutual_info_score(preds, target).item() == pytest.approx(expected, rel=1e-12)
