"""The raw custom ops: histograms against a Counter, weights, opcheck and torch.compile."""

import math
import os
import subprocess
import sys
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import clustering_metrics  # noqa: F401  (registers the ops)
from clustering_metrics import ops
from clustering_metrics.functional import mutual_info_score
from labels import label_pairs, make_labels
from reference import as_python_ints, contingency, contingency_numpy, mutual_info_exact, mutual_info_exact_from_entropies

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


@pytest.mark.parametrize("op, args", [
    (ops.mutual_info_score, (None, torch.tensor([1]))),
    (ops.pair_histogram, (torch.tensor([1]), [1])),
    (ops.pair_histogram, (torch.tensor([1]), torch.tensor([1]), 3)),
    (ops.mutual_info_from_histogram, (torch.tensor([1]), torch.tensor([1]), None)),
    (ops.contingency_summary, (np.array([1]), torch.tensor([1]))),
])
def test_op_wrappers_name_a_non_tensor_argument(op, args):
    with pytest.raises(TypeError, match=r"Expected `\w+` to be a torch.Tensor but got"):
        op(*args)


@pytest.mark.parametrize("clusters", [3, 3_000, 300_000])
def test_histogram_outputs_own_storage_sized_to_them(clusters):
    # The sorted path counts in scratch of two words per sample; the outputs
    # must not be views into it (10 histograms of 10^7 samples with 3000
    # pairs would hold 1.5 GB).
    generator = torch.Generator().manual_seed(clusters)
    preds = torch.randint(0, clusters, (1_000_000,), generator=generator)
    target = torch.randint(0, 7, (1_000_000,), generator=generator).to(torch.int16)
    for output in ops.pair_histogram(preds, target) + ops.contingency_summary(preds, target):
        assert output.untyped_storage().nbytes() == output.numel() * output.element_size()


def test_bool_labels_are_any_nonzero_byte():
    # A uint8 tensor viewed as bool holds bytes other than 0 and 1; torch
    # treats them all as True, and so must the counting.
    raw = torch.tensor([0, 2, 1, 255, 0, 7, 1, 0], dtype=torch.uint8)
    as_bool = raw.view(torch.bool)
    target = torch.tensor([0, 1, 1, 1, 0, 1, 1, 0])
    # The bools equal the target: MI = H(3/8, 5/8).
    entropy = -(3 / 8) * math.log(3 / 8) - (5 / 8) * math.log(5 / 8)
    assert ops.mutual_info_score(as_bool, target).item() == pytest.approx(entropy, rel=1e-14)
    pred_labels, target_labels, counts = ops.pair_histogram(as_bool, target)
    assert pred_labels.view(torch.uint8).tolist() == [0, 1] and counts.tolist() == [3, 5]
    wide = torch.zeros(100_000, dtype=torch.uint8)
    wide[::3] = 200
    expected = mutual_info_exact(contingency((wide != 0).tolist(), target.repeat(12_500).tolist()))
    got = ops.mutual_info_score(wide.view(torch.bool), target.repeat(12_500))
    assert got.item() == pytest.approx(float(expected), rel=1e-12)


def _mix_inverse(value, seed):
    """The key whose seeded murmur3 finaliser (csrc/cpu/label_ranking.h, mix) is `value`."""
    mask = 2**64 - 1

    def unshift(x):  # x ^= x >> 33 is its own inverse
        return x ^ (x >> 33)

    x = unshift(value)
    x = (x * pow(0xC4CEB9FE1A85EC53, -1, 2**64)) & mask
    x = unshift(x)
    x = (x * pow(0xFF51AFD7ED558CCD, -1, 2**64)) & mask
    x = unshift(x)
    return x ^ seed


def test_colliding_labels_fall_back_to_sorting(tmp_path):
    # 50,000 distinct labels whose hashes under a known seed agree in their
    # top 24 bits: every one lands in the same slot of a hash table, so
    # hashing 8e6 samples of them walks ~25,000 slots a sample (2e11 probes,
    # minutes). The table must give up and the labels be ranked by sorting
    # instead (under a second), with the same result.
    seed = 12345
    keys = [_mix_inverse(h, seed) for h in range(50_000)]
    labels = np.array([k - 2**63 for k in keys], dtype=np.int64)  # key = label + 2^63 for int64
    rng = np.random.default_rng(0)
    preds = labels[rng.integers(0, len(labels), 8_000_000)]
    target = rng.integers(0, 5, 8_000_000)
    np.save(tmp_path / "preds.npy", preds)
    np.save(tmp_path / "target.npy", target)
    script = (
        "import sys, numpy as np, torch, clustering_metrics as cm\n"
        "p = torch.from_numpy(np.load(sys.argv[1])); t = torch.from_numpy(np.load(sys.argv[2]))\n"
        "pl, tl, c = cm.ops.pair_histogram(p, t)\n"
        "np.save(sys.argv[3], torch.stack([pl, tl, c]).numpy())\n"
        "print(repr(cm.ops.mutual_info_score(p, t).item()))\n"
    )
    env = {**os.environ, "CLUSTERING_METRICS_HASH_SEED": str(seed)}
    # A generous limit for a call that takes about a second: a liveness bound, not a timing.
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "preds.npy"), str(tmp_path / "target.npy"),
                             str(tmp_path / "out.npy")], env=env, capture_output=True, text=True, timeout=60, check=True)
    got = np.load(tmp_path / "out.npy")
    table = contingency_numpy(preds, target)
    assert {(int(u), int(v)): int(n) for u, v, n in got.T} == table
    assert float(result.stdout) == pytest.approx(float(mutual_info_exact_from_entropies(table)), rel=1e-13)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint64])
def test_all_distinct_labels(dtype):
    rng = np.random.default_rng(1)
    n = 100_000
    values = np.unique(rng.integers(0, 2**31 - 1, 3 * n))[:n]
    rng.shuffle(values)
    preds = torch.from_numpy(values.astype(np.int64)).to(dtype)
    target = torch.from_numpy(rng.permutation(values).astype(np.int64)).to(dtype)
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    assert histogram_as_dict(pred_labels, target_labels, counts) == contingency(preds, target)
    assert ops.mutual_info_score(preds, target).item() == pytest.approx(math.log(n), rel=1e-15)
    constant = torch.zeros(n, dtype=dtype)
    assert ops.mutual_info_score(preds, constant).item() == 0.0
    assert ops.mutual_info_score(constant, target).item() == 0.0


@pytest.mark.parametrize("far", [4_999_999, 2**40, -(2**62)])
@pytest.mark.parametrize("missed", [3, 0])  # 0: the raw bits of the sampled-label table's empty slots
def test_a_few_labels_far_apart(far, missed):
    generator = torch.Generator().manual_seed(abs(far) % 1000)
    preds = torch.where(torch.rand(1_000_000, generator=generator) < 0.3, far, 0)  # a sampled 0
    target = torch.where(torch.rand(1_000_000, generator=generator) < 0.5, -far, 7)
    target[123_457] = missed  # one label target's strided sample misses: the pass must start over
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    assert histogram_as_dict(pred_labels, target_labels, counts) == contingency_numpy(preds.numpy(), target.numpy())
    expected = float(mutual_info_exact(contingency_numpy(preds.numpy(), target.numpy())))
    assert ops.mutual_info_score(preds, target).item() == pytest.approx(expected, rel=1e-13)
