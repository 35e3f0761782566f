"""Expanded (stride-0) and strided inputs: the same results as their contiguous copies, at the cost of their storage.

Every op is checked against itself on materialised copies (``.contiguous()``)
of the same values, which the contiguous tests check against Counter,
scikit-learn and exact references; memory is measured in a child process.
"""

import itertools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from labels import distinct_values, make_labels
from test_bounded_table import reference_table

import clustering_metrics  # noqa: F401
from clustering_metrics import ops
from clustering_metrics.functional import adjusted_rand_score, clustering_scores

N = 1_000


def side(kind, dtype, seed):
    """A label side of N values: repeated one value (stride 0), strided, or contiguous."""
    rng = np.random.default_rng(seed)
    labels = make_labels(rng, dtype, 2 * N, distinct_values(rng, dtype, 7, "extremes"))
    if kind == "repeats":
        return labels[:1].expand(N)
    if kind == "strided":
        return labels[::2]
    return labels[:N]


def weights(kind, seed):
    rng = np.random.default_rng(seed)
    values = torch.from_numpy(rng.integers(0, 5, 2 * N))
    if kind == "repeats":
        return torch.tensor([3]).expand(N)
    if kind == "strided":
        return values[::2]
    return None if kind == "none" else values[:N]


KINDS = ["repeats", "strided", "contiguous"]
WEIGHT_KINDS = ["none", "repeats", "strided", "contiguous"]


def materialised(t):
    return None if t is None else t.contiguous()


def assert_same_outputs(got, expected):
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        assert torch.equal(g.view(torch.int64) if g.dtype == torch.uint64 else g,
                           e.view(torch.int64) if e.dtype == torch.uint64 else e), (got, expected)


@pytest.mark.parametrize("pred_kind, target_kind, weight_kind", list(itertools.product(KINDS, KINDS, WEIGHT_KINDS)))
@pytest.mark.parametrize("dtypes", [(torch.int64, torch.int64), (torch.bool, torch.uint64), (torch.int8, torch.uint16)],
                         ids=str)
def test_every_op_equals_itself_on_contiguous_copies(pred_kind, target_kind, weight_kind, dtypes):
    preds, target = side(pred_kind, dtypes[0], 1), side(target_kind, dtypes[1], 2)
    counts = weights(weight_kind, 3)
    copies = materialised(preds), materialised(target), materialised(counts)
    assert_same_outputs(ops.pair_histogram(preds, target, counts), ops.pair_histogram(*copies))
    for emi in (False, True):
        got, expected = ops.contingency_summary(preds, target, counts, emi), ops.contingency_summary(*copies, emi)
        assert_same_outputs(got[:3], expected[:3])
        torch.testing.assert_close(got[3], expected[3], rtol=1e-15, atol=0, equal_nan=True)
    if counts is None:
        torch.testing.assert_close(ops.mutual_info_score(preds, target), ops.mutual_info_score(*copies[:2]), rtol=1e-15, atol=0)
    else:
        torch.testing.assert_close(ops.mutual_info_from_histogram(preds, target, counts),
                                   ops.mutual_info_from_histogram(*copies), rtol=1e-15, atol=0)


@pytest.mark.parametrize("pred_kind, target_kind", list(itertools.product(KINDS, KINDS)))
def test_count_into_table_reads_through_strides(pred_kind, target_kind):
    preds = side(pred_kind, torch.int64, 4) % 5
    target = side(target_kind, torch.int16, 5) % 4 - 1  # some -1: outside the bounds
    table = torch.zeros(5 * 4 + 1, dtype=torch.int64)
    ops.count_into_table(preds, target, table, 5, 4)
    assert torch.equal(table, reference_table(preds.contiguous(), target.contiguous(), 5, 4))


def test_repeated_weights_are_checked_like_any_weights():
    labels = torch.arange(10) % 3
    with pytest.raises(RuntimeError, match="Expected counts to be non-negative but found -2"):
        ops.pair_histogram(labels, labels, torch.tensor([-2]).expand(10))
    with pytest.raises(RuntimeError, match="Expected counts to sum to at most 2\\^63 - 1"):
        ops.pair_histogram(labels, labels, torch.tensor([2**62]).expand(10))
    with pytest.raises(RuntimeError, match="non-negative but found -1"):
        ops.pair_histogram(torch.tensor([1]).expand(3), torch.tensor([2]).expand(3), torch.tensor([4, -1, 2]))
    empty = ops.pair_histogram(labels, labels, torch.tensor([0]).expand(10))
    assert all(t.numel() == 0 for t in empty)


def test_expanded_to_more_than_2_to_the_32_labels():
    # The reproducer: 2^32 + 3 labels in two elements of storage (34 GB if copied).
    n = 2**32 + 3
    preds, target = torch.tensor([3]).expand(n), torch.tensor([7]).expand(n)
    assert adjusted_rand_score(preds, target).item() == 1.0
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    assert pred_labels.tolist() == [3] and target_labels.tolist() == [7] and counts.tolist() == [n]
    summary = ops.contingency_summary(preds, target)
    assert summary[0].tolist() == [n] and summary[1].tolist() == [n]
    other = torch.arange(4).repeat_interleave(2)  # 8 labels, to pair with a repeated side of 8
    scores = clustering_scores(torch.tensor([5]).expand(8), other, metrics=["rand_score", "completeness_score"])
    assert scores["rand_score"].item() == pytest.approx(4 / 28) and scores["completeness_score"].item() == 1.0


PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys, torch, clustering_metrics
    from clustering_metrics import ops
    from clustering_metrics.functional import mutual_info_score
    n, case = 2**28, sys.argv[1]
    if case == "both":
        preds, target = torch.tensor([3]).expand(n), torch.tensor([-7]).expand(n)
    else:  # one expanded side, the other 2^24 real labels: the expanded side must add nothing
        n = 2**24
        target = torch.arange(n) % 1000
        preds = torch.tensor([3]).expand(n) if case == "one" else torch.full((n,), 3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mutual_info_score(preds, target)
    ops.contingency_summary(preds, target, None, True)
    ops.pair_histogram(preds, target)
    table = torch.zeros(4 * 4 + 1, dtype=torch.int64)
    ops.count_into_table(preds, target, table, 4, 4)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
""")


def peak_extra_bytes(case):
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, case], capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's")
def test_expanded_inputs_cost_their_storage_not_their_length():
    # 2^28 int64 labels a side would be 4 GiB as copies.
    assert peak_extra_bytes("both") <= 64 * 2**20
    # One side of 2^24 real labels: the expanded other side may cost less than a real one, never more.
    assert peak_extra_bytes("one") <= peak_extra_bytes("contiguous") + 16 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limits as Linux has them")
def test_scratch_that_cannot_be_allocated_is_one_line_naming_its_size():
    script = textwrap.dedent("""
        import resource, torch, clustering_metrics
        from clustering_metrics.functional import mutual_info_score
        preds = (torch.arange(2**27) % 1000)[::2]  # strided: 2^26 labels gathered into 512 MiB of scratch
        with open("/proc/self/status") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + 2**28, size + 2**28))
        mutual_info_score(preds, preds)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "RuntimeError: clustering_metrics: out of memory: could not allocate 536870912 bytes of scratch memory."
    )
    assert "frame #" not in result.stderr  # no C++ stack from crossing the stable ABI
