"""Every hand-written CUDA kernel, run without a GPU.

The CUDA op bodies, launch code and kernels of csrc/cuda are compiled for the
host SIMT emulator (tests/emulation.py) and compared with the CPU ops, whose
code shares nothing with them but the maths headers of csrc/common: the
histograms, totals and integer outputs bit for bit, the floating-point
outputs within a few ulps (the two backends sum in different orders). The
emulator itself fails a launch on a barrier not reached by every thread, a
warp collective the lanes of its mask do not all reach with the same mask,
and a shared-memory race (a missing barrier); the tests fence the emulated
ops' inputs with poison, so a read past an input's ends changes the result.
Runs run in thread order and again in reverse order, which must give the
same bits: the kernels use no floating-point atomics.

The cases reach every launch geometry the dispatcher chooses: one and
several blocks, partial last blocks, packed and unaligned label loads, every
label width, the shared-memory histogram with and without warp aggregation,
the global-atomic table, ranked sides, sorted pair keys, weights, and the
summary's multi-block reductions.
"""

import math
import os
import re

import numpy as np
import pytest
import torch
from emulation import emulated_ops
from labels import LABEL_DTYPES, distinct_values, make_labels
from test_bounded_table import reference_table

import clustering_metrics  # noqa: F401
from clustering_metrics import ops

REAL_ULPS = 8  # the summary's float64 sums, CPU against emulated GPU order
pytestmark = pytest.mark.source_checkout


@pytest.fixture(scope="module")
def emulated():
    """(the emulated ops, the emulator), on the default emulated device, in thread order."""
    emulated_ops_, emulator = emulated_ops()
    emulator.set_device()
    emulator.set_reverse_schedule(False)
    yield emulated_ops_, emulator
    emulator.set_device()
    emulator.set_reverse_schedule(False)


def _labels(seed, dtype, n, clusters, mode):
    rng = np.random.default_rng(seed)
    return make_labels(rng, dtype, n, distinct_values(rng, dtype, clusters, mode))


def _bits(t):
    """Exact comparison key: int64 values (uint64 by bit pattern, float64 by its bits)."""
    if t.dtype == torch.float64:
        return t.view(torch.int64)
    return t.view(torch.int64) if t.dtype == torch.uint64 else t.to(torch.int64)


def _assert_same(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got, expected)
    assert torch.equal(_bits(got), _bits(expected)), (got, expected)


def _assert_close_reals(got, expected):
    """float64 values equal within REAL_ULPS units in the last place (NaN matches NaN)."""
    assert got.dtype == expected.dtype == torch.float64 and got.shape == expected.shape
    for g, e in zip(got.tolist(), expected.tolist()):
        if math.isnan(e):
            assert math.isnan(g)
            continue
        assert abs(g - e) <= REAL_ULPS * math.ulp(max(abs(e), abs(g))) or abs(g - e) <= 1e-300, (g, e)


FENCE = 64  # poisoned elements either side of an emulated op's input: more than one 8-label pack


def _fenced(t):
    """The same values, in a buffer whose elements just before and after them are poison.

    The emulator does not check global-memory bounds; a kernel that reads an
    input past either end (a grid-stride tail off by one, say) counts poison
    as a sample, so its result differs from the CPU op's, every time. The view
    starts at the input's storage offset modulo 64 elements into a 64-byte
    aligned buffer: a whole tensor gets the packed 8-label loads, a view that
    starts a label in stays unaligned. Non-contiguous inputs are passed as
    they are.
    """
    if t is None or not t.is_contiguous():
        return t
    start = FENCE + t.storage_offset() % FENCE
    buffer = torch.empty(start + t.numel() + FENCE, dtype=t.dtype)
    # A nonzero byte pattern: a label, a True or a weight of 2^62 + ..., never absent.
    buffer.view(torch.uint8).fill_(0x5A)
    view = buffer[start:start + t.numel()].view(t.shape)
    view.copy_(t)
    return view


def _assert_fence_intact(view):
    """No byte of the buffer around a _fenced view was written."""
    whole = torch.empty(0, dtype=torch.uint8).set_(view.untyped_storage())
    start, end = view.storage_offset() * view.element_size(), (view.storage_offset() + view.numel()) * view.element_size()
    assert bool((whole[:start] == 0x5A).all()) and bool((whole[end:] == 0x5A).all()), "written outside the output"


def _check_op_parity(emulated_ops_, preds, target, weights=None):
    """Every op, emulated CUDA on fenced inputs against CPU."""
    fenced = (_fenced(preds), _fenced(target), _fenced(weights))
    for got, expected in zip(emulated_ops_.pair_histogram(*fenced), ops.pair_histogram(preds, target, weights)):
        _assert_same(got, expected)
    for emi in (False, True):
        try:
            expected = ops.contingency_summary(preds, target, weights, emi)
        except RuntimeError as error:  # e.g. an expected MI too large to compute: the same refusal
            with pytest.raises(RuntimeError, match=re.escape(str(error))):
                emulated_ops_.contingency_summary(*fenced, emi)
            continue
        got = emulated_ops_.contingency_summary(*fenced, emi)
        for g, e in zip(got[:3], expected[:3]):  # totals and integer slots
            _assert_same(g, e)
        _assert_close_reals(got[3], expected[3])
        # Without the MI: its slot NaN on both backends, the rest as before.
        lean = emulated_ops_.contingency_summary(*fenced, emi, False)
        lean_expected = ops.contingency_summary(preds, target, weights, emi, False)
        for g, e in zip(lean[:3], got[:3]):
            _assert_same(g, e)
        _assert_close_reals(lean[3], lean_expected[3])
        mi_slot = list(clustering_metrics._C.SUMMARY_REAL_SLOTS).index("mutual_info")
        assert math.isnan(lean[3][mi_slot].item()) and math.isnan(lean_expected[3][mi_slot].item())
    if weights is None:
        got, expected = emulated_ops_.mutual_info_score(*fenced[:2]), ops.mutual_info_score(preds, target)
    else:
        got = emulated_ops_.mutual_info_from_histogram(*fenced)
        expected = ops.mutual_info_from_histogram(preds, target, weights)
    _assert_close_reals(got.reshape(1), expected.reshape(1))


def _check_schedule_independent(emulated_ops_, emulator, preds, target, weights=None):
    """The same bits with the threads of every block run in reverse order."""
    forward = emulated_ops_.contingency_summary(preds, target, weights, True)
    emulator.set_reverse_schedule(True)
    try:
        backward = emulated_ops_.contingency_summary(preds, target, weights, True)
    finally:
        emulator.set_reverse_schedule(False)
    for f, b in zip(forward, backward):
        _assert_same(b, f)


# (name, n, pred clusters, target clusters, value mode): one case per counting
# path and launch shape of csrc/cuda's counting stages on the emulated device
# (3 multiprocessors, 48 KiB of shared memory a block).
PATH_CASES = [
    ("one sample", 1, 1, 1, "small"),
    ("one warp, partial", 7, 3, 2, "negative"),
    ("aggregated shared table, several blocks", 20_011, 7, 13, "small"),
    ("shared table without aggregation", 20_000, 40, 40, "negative"),
    ("global dense table", 20_000, 150, 150, "small"),
    ("sorted pair keys", 5_003, 300, 300, "small"),
    ("ranked sides, dense table", 20_000, 50, 50, "extremes"),
    ("ranked sides, sorted pair keys", 5_000, 400, 400, "sparse"),
    ("summary over several blocks of cells", 12_000, 120, 80, "negative"),
]


@pytest.mark.parametrize("name,n,pred_clusters,target_clusters,mode", PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_every_counting_path_matches_cpu(emulated, name, n, pred_clusters, target_clusters, mode):
    emulated_ops_, emulator = emulated
    preds = _labels(n, torch.int64, n, pred_clusters, mode)
    target = _labels(n + 1, torch.int32, n, target_clusters, mode)
    _check_op_parity(emulated_ops_, preds, target)
    weights = torch.from_numpy(np.random.default_rng(n).integers(0, 4, n))  # zeros: empty cells must vanish
    _check_op_parity(emulated_ops_, preds, target, weights)
    _check_schedule_independent(emulated_ops_, emulator, preds, target)


@pytest.mark.parametrize("pred_dtype", LABEL_DTYPES, ids=str)
@pytest.mark.parametrize("target_dtype", LABEL_DTYPES, ids=str)
def test_every_dtype_pair_matches_cpu(emulated, pred_dtype, target_dtype):
    emulated_ops_, _ = emulated
    seed = LABEL_DTYPES.index(pred_dtype) * 9 + LABEL_DTYPES.index(target_dtype)
    n = 2_053  # not a multiple of the 8-label packs or of a block
    for mode in ("small", "extremes"):
        preds = _labels(seed, pred_dtype, n, 7, mode)
        target = _labels(seed + 100, target_dtype, n, 13, mode)
        _check_op_parity(emulated_ops_, preds, target)


@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
def test_unaligned_starts_match_cpu(emulated, dtype):
    # A view one label in is not aligned to the 8-label packs: the per-label loop.
    emulated_ops_, _ = emulated
    preds = _labels(1, dtype, 3_001, 5, "small")
    target = _labels(2, torch.int64, 3_001, 9, "negative")
    _check_op_parity(emulated_ops_, preds[1:], target[:-1])
    _check_op_parity(emulated_ops_, preds[1:], target[1:])


def test_bool_bytes_other_than_one_are_true(emulated):
    emulated_ops_, _ = emulated
    raw = torch.tensor([0, 1, 2, 255, 0, 7, 128, 1], dtype=torch.uint8)
    preds = raw.repeat(100).view(torch.bool)
    target = torch.arange(800) % 3
    _check_op_parity(emulated_ops_, preds, target)
    _check_op_parity(emulated_ops_, preds[1:], target[1:])


def test_weighted_totals_beyond_2_to_the_32(emulated):
    emulated_ops_, _ = emulated
    preds = _labels(3, torch.int64, 5_000, 20, "small")
    target = _labels(4, torch.int64, 5_000, 30, "small")
    weights = torch.from_numpy(np.random.default_rng(5).integers(0, 3, 5_000)) * 2**40
    _check_op_parity(emulated_ops_, preds, target, weights)


@pytest.mark.parametrize(
    "device",
    [
        dict(multiprocessors=1),  # fewer, larger grids
        dict(multiprocessors=8, max_blocks_per_multiprocessor=1),
        dict(shared_bytes_per_block=2048),  # small tables only in shared memory
        dict(shared_bytes_per_multiprocessor=1024),  # no block fits: the global-atomic table
    ],
    ids=["one multiprocessor", "one block a multiprocessor", "2 KiB shared a block", "no block fits a multiprocessor"],
)
def test_other_device_shapes_match_cpu(emulated, device):
    emulated_ops_, emulator = emulated
    emulator.set_device(**device)
    try:
        for n, clusters in ((9_000, 6), (9_000, 30)):
            preds = _labels(n, torch.int16, n, clusters, "negative")
            target = _labels(n + 1, torch.uint8, n, clusters, "small")
            _check_op_parity(emulated_ops_, preds, target)
    finally:
        emulator.set_device()


def test_empty_and_all_zero_weight_inputs(emulated):
    emulated_ops_, _ = emulated
    empty = torch.empty(0, dtype=torch.int64)
    _check_op_parity(emulated_ops_, empty, empty)
    labels = torch.tensor([3, 1, 2])
    _check_op_parity(emulated_ops_, labels, labels, torch.zeros(3, dtype=torch.int64))


# ------------------------------------------------------------ count_into_table


@pytest.mark.parametrize("pred_dtype", LABEL_DTYPES, ids=str)
@pytest.mark.parametrize("target_dtype", [torch.bool, torch.int8, torch.uint16, torch.int64, torch.uint64], ids=str)
def test_count_into_table_matches_reference(emulated, pred_dtype, target_dtype):
    emulated_ops_, _ = emulated
    seed = LABEL_DTYPES.index(pred_dtype)
    n = 3_001
    for num_pred, num_target, mode in ((5, 3, "small"), (40, 40, "small"), (200, 90, "negative"), (4, 2, "extremes")):
        preds = _labels(seed, pred_dtype, n, num_pred + 2, mode)  # some labels outside [0, num_pred)
        target = _labels(seed + 1, target_dtype, n, num_target, mode)
        expected = reference_table(preds, target, num_pred, num_target)
        again = reference_table(preds[1:], target[1:], num_pred, num_target)
        table = torch.zeros(num_pred * num_target + 1, dtype=torch.int64)
        torch.ops.clustering_metrics.count_into_table(preds, target, table, num_pred, num_target)
        torch.ops.clustering_metrics.count_into_table(preds[1:], target[1:], table, num_pred, num_target)
        _assert_same(table, expected + again)
        # The emulated kernel on fenced inputs and a fenced table: reads and writes stay inside.
        table = _fenced(torch.zeros(num_pred * num_target + 1, dtype=torch.int64))
        emulated_ops_.count_into_table(_fenced(preds), _fenced(target), table, num_pred, num_target)
        emulated_ops_.count_into_table(_fenced(preds[1:]), _fenced(target[1:]), table, num_pred, num_target)  # unaligned
        _assert_same(table, expected + again)
        _assert_fence_intact(table)


def test_count_into_table_bool_bytes(emulated):
    emulated_ops_, _ = emulated
    preds = torch.tensor([0, 1, 2, 255] * 50, dtype=torch.uint8).view(torch.bool)
    target = torch.tensor([0, 0, 1, 1] * 50)
    # Pairs (False, 0), (True, 0), (True, 1), (True, 1): cells 0, 2, 3, 3 of a 2 x 2 table.
    expected = torch.tensor([50, 0, 50, 100, 0])
    for count_into_table in (emulated_ops_.count_into_table, torch.ops.clustering_metrics.count_into_table):
        table = torch.zeros(5, dtype=torch.int64)
        count_into_table(preds, target, table, 2, 2)
        _assert_same(table, expected)


@pytest.mark.parametrize("pred_kind", ["repeats", "strided", "contiguous"])
@pytest.mark.parametrize("target_kind", ["repeats", "strided"])
def test_count_into_table_reads_through_strides(emulated, pred_kind, target_kind):
    emulated_ops_, _ = emulated
    n = 2_001
    base = _labels(7, torch.int64, 2 * n, 6, "small")
    sides = {"repeats": base[3:4].expand(n), "strided": base[::2], "contiguous": base[:n]}
    preds, target = sides[pred_kind], (sides[target_kind] + 1) % 7
    table = torch.zeros(5 * 6 + 1, dtype=torch.int64)
    emulated_ops_.count_into_table(preds, target, table, 5, 6)
    _assert_same(table, reference_table(preds.contiguous(), target.contiguous(), 5, 6))


@pytest.mark.parametrize("pred_kind, target_kind, weighted", [
    ("repeats", "contiguous", False), ("contiguous", "repeats", True), ("repeats", "repeats", False),
    ("repeats", "repeats", True), ("strided", "repeats", False), ("contiguous", "contiguous", "repeats"),
])
def test_expanded_inputs_match_cpu_on_copies(emulated, pred_kind, target_kind, weighted):
    # The op bodies rewrite repeated sides with the CUDA pipeline's own histogram.
    emulated_ops_, _ = emulated
    n = 3_001
    def side(kind, seed, dtype):
        labels = _labels(seed, dtype, 2 * n, 9, "negative")
        return {"repeats": labels[5:6].expand(n), "strided": labels[::2], "contiguous": labels[:n]}[kind]
    preds, target = side(pred_kind, 1, torch.int32), side(target_kind, 2, torch.int64)
    weights = {False: None, True: torch.arange(n) % 4, "repeats": torch.tensor([6]).expand(n)}[weighted]
    copies = [None if t is None else t.contiguous() for t in (preds, target, weights)]
    for got, expected in zip(emulated_ops_.pair_histogram(preds, target, weights), ops.pair_histogram(*copies)):
        _assert_same(got, expected)
    got, expected = emulated_ops_.contingency_summary(preds, target, weights, True), ops.contingency_summary(*copies, True)
    for g, e in zip(got[:3], expected[:3]):
        _assert_same(g, e)
    _assert_close_reals(got[3], expected[3])


# ---------------------------------------------------------------- the emulator


@pytest.mark.parametrize(
    "probe,message",
    [
        ("skipped_barrier", "returned without reaching the block barrier that 16 other threads wait at"),
        ("divergent_ballot", "ballot with mask 4294967295: lane 1 is exited (divergence)"),
        ("mask_mismatch", "warp collective mismatch"),
        ("missing_barrier", "shared memory race at offset 0: one thread reads what another writes"),
        ("shared_overrun", "outside the 128 bytes allocated"),
        ("barrier_against_collective", "lane 0 is at a block barrier (divergence)"),
    ],
)
def test_emulator_catches(emulated, probe, message):
    _, emulator = emulated
    failure, _ = emulator.run_probe(probe)
    assert failure is not None and message in failure, failure


def test_emulator_runs_a_correct_kernel(emulated):
    _, emulator = emulated
    failure, out = emulator.run_probe("correct")
    assert failure is None
    assert out == [sum(range(128)), 128 * 8]


# ---------------------------------------------------------------- coverage


def _kernel_names_in_source():
    names = set()
    for file in os.listdir(os.path.join(os.path.dirname(__file__), "..", "csrc", "cuda")):
        with open(os.path.join(os.path.dirname(__file__), "..", "csrc", "cuda", file)) as f:
            names.update(re.findall(r'simt::launch\("(\w+)"', f.read()))
    return names


# ---------------------------------------------------------------- the embedding kernels


def _blobs(seed, n, dim, clusters, offset=0.0, dtype=torch.float32):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, clusters, n)
    data = rng.normal(scale=3.0, size=(clusters, dim))[labels] + rng.normal(size=(n, dim)) + offset
    return torch.from_numpy(data).to(dtype), torch.from_numpy(labels)


@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
def test_rank_labels_matches_cpu(emulated, dtype):
    emulated_ops_, _ = emulated
    for mode in ("small", "extremes", "sparse"):
        labels = _labels(LABEL_DTYPES.index(dtype), dtype, 2_001, 40, mode)
        for got, expected in zip(emulated_ops_.rank_labels(_fenced(labels)), ops.rank_labels(labels)):
            _assert_same(got, expected)
    raw = torch.tensor([0, 1, 2, 255, 0, 7], dtype=torch.uint8).view(torch.bool)  # any nonzero byte is True
    for got, expected in zip(emulated_ops_.rank_labels(raw), ops.rank_labels(raw)):
        _assert_same(got, expected)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("n, dim, clusters", [(1, 1, 1), (700, 3, 5), (9_000, 2, 2), (300, 40, 60)])
def test_cluster_moments_and_distances_match_cpu(emulated, dtype, n, dim, clusters):
    # 9000 samples of 2 clusters: several blocks of kClusterBlock per cluster, folded in order.
    emulated_ops_, emulator = emulated
    data, labels = _blobs(n + dim, n, dim, clusters, offset=1e4, dtype=dtype)
    ids, distinct = ops.rank_labels(labels)
    k = distinct.numel()
    expected = ops.cluster_moments(data, ids, k)
    got = emulated_ops_.cluster_moments(_fenced(data), _fenced(ids), k)
    _assert_same(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=1e-14, atol=1e-12)
    torch.testing.assert_close(got[2], expected[2], rtol=1e-12, atol=1e-9)
    emulator.set_reverse_schedule(True)
    try:
        again = emulated_ops_.cluster_moments(data, ids, k)
    finally:
        emulator.set_reverse_schedule(False)
    for g, a in zip(got, again):
        _assert_same(a, g)
    for p in (2.0, 1.0, math.inf, 3.0, 0.5, 700.0):
        expected = ops.cluster_distances(data, ids, expected_means := ops.cluster_moments(data, ids, k)[1], p)
        got = emulated_ops_.cluster_distances(_fenced(data), _fenced(ids), expected_means, p)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-13, atol=1e-12)
    # A NaN point: its cluster's mean, m2 and largest distance are NaN on both backends.
    with_nan = data.clone()
    with_nan[n // 2, 0] = math.nan
    expected = ops.cluster_moments(with_nan, ids, k)
    got = emulated_ops_.cluster_moments(_fenced(with_nan), _fenced(ids), k)
    assert torch.isnan(expected[2]).sum() == 1
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-9, equal_nan=True)
    for p in (2.0, 1.0, math.inf, 3.0, 700.0):
        expected = ops.cluster_distances(with_nan, ids, expected_means, p)
        got = emulated_ops_.cluster_distances(_fenced(with_nan), _fenced(ids), expected_means, p)
        assert torch.isnan(expected[1]).sum() == 1
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-13, atol=1e-12, equal_nan=True)


def test_weighted_moments_match_cpu(emulated):
    emulated_ops_, _ = emulated
    data, labels = _blobs(5, 500, 4, 7, offset=1e6, dtype=torch.float64)
    weights = torch.from_numpy(np.random.default_rng(6).integers(0, 5, 500))
    row_m2 = torch.from_numpy(np.random.default_rng(7).random(500))
    expected = ops.cluster_moments(data, labels, 7, weights, row_m2)
    got = emulated_ops_.cluster_moments(data, labels, 7, weights, row_m2)
    _assert_same(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=1e-15, atol=0)
    torch.testing.assert_close(got[2], expected[2], rtol=1e-12, atol=0)


@pytest.mark.parametrize("call, message", [
    (lambda o: o.cluster_moments(torch.zeros(3, 2), torch.tensor([0, 1, 5]), 2), r"\[0, 2\) but found 5"),
    (lambda o: o.silhouette_sums(torch.zeros(3, 2), torch.tensor([0, -1, 1]), 2), r"\[0, 2\) but found -1"),
    (lambda o: o.cluster_moments(torch.zeros(2, 2), torch.tensor([0, 1]), 2, torch.tensor([1, -3])), "found -3"),
])
def test_embedding_kernels_refuse_bad_ids(emulated, call, message):
    emulated_ops_, _ = emulated
    with pytest.raises(RuntimeError, match=message):
        call(emulated_ops_)


@pytest.mark.parametrize("n, dim, clusters", [(2, 1, 2), (150, 5, 4), (97, 33, 9)])
def test_silhouette_sums_match_cpu(emulated, n, dim, clusters):
    # 97 rows: a partial last block of 32 rows; 33 dimensions: odd row lengths.
    emulated_ops_, emulator = emulated
    data, labels = _blobs(n, n, dim, clusters, offset=1e5)
    ids, distinct = ops.rank_labels(labels)
    expected = ops.silhouette_sums(data, ids, distinct.numel())
    got = emulated_ops_.silhouette_sums(_fenced(data), _fenced(ids), distinct.numel())
    torch.testing.assert_close(got, expected, rtol=1e-14, atol=1e-12)
    emulator.set_reverse_schedule(True)
    try:
        _assert_same(emulated_ops_.silhouette_sums(data, ids, distinct.numel()), got)
    finally:
        emulator.set_reverse_schedule(False)


def test_linear_sum_assignment_runs_on_the_host(emulated):
    emulated_ops_, _ = emulated
    cost = torch.from_numpy(np.random.default_rng(8).integers(0, 9, (7, 11)))
    for got, expected in zip(emulated_ops_.linear_sum_assignment(cost, True), ops.linear_sum_assignment(cost, True)):
        _assert_same(got, expected)


@pytest.mark.parametrize("counts, resamples", [([5, 0, 2, 993], 300), ([40] * 700, 3), ([], 2), ([0, 0], 1)])
def test_bootstrap_counts_match_cpu(emulated, counts, resamples):
    # 300 resamples: several blocks and a partial one; 700 cells: long chains in few threads.
    emulated_ops_, emulator = emulated
    counts = torch.tensor(counts, dtype=torch.int64)
    expected = ops.bootstrap_counts(counts, resamples, 2**40 + 3, 5)
    got = emulated_ops_.bootstrap_counts(_fenced(counts), resamples, 2**40 + 3, 5)
    _assert_same(got, expected)
    emulator.set_reverse_schedule(True)
    try:
        _assert_same(emulated_ops_.bootstrap_counts(counts, resamples, 2**40 + 3, 5), got)
    finally:
        emulator.set_reverse_schedule(False)


@pytest.mark.parametrize("counts, message", [([3, -2], "non-negative but found -2"), ([2**62, 2**62], "2\\^63 - 1")])
def test_bootstrap_counts_refuse_bad_counts(emulated, counts, message):
    emulated_ops_, _ = emulated
    with pytest.raises(RuntimeError, match=message):
        emulated_ops_.bootstrap_counts(torch.tensor(counts), 4, 0, 0)


def test_every_kernel_in_the_source_is_emulated(emulated):
    """The calls below launch every kernel named in csrc/cuda (a new kernel needs a case here and above)."""
    emulated_ops_, emulator = emulated
    before = emulator.launch_counts()
    preds, target = _labels(0, torch.bool, 500, 2, "small"), _labels(1, torch.int64, 500, 9, "extremes")
    _check_op_parity(emulated_ops_, preds, target)  # bools normalised, a ranked side
    _check_op_parity(emulated_ops_, preds, target, torch.ones(500, dtype=torch.int64))  # weights
    wide = _labels(2, torch.int64, 5_003, 300, "small")
    _check_op_parity(emulated_ops_, wide, wide.flip(0))  # sorted pair keys
    _check_op_parity(emulated_ops_, wide[:4000] % 150, wide[1000:5000] % 150)  # global dense table
    emulated_ops_.count_into_table(preds, target, torch.zeros(2 * 9 + 1, dtype=torch.int64), 2, 9)
    data, labels = _blobs(3, 60, 3, 4)
    ids, distinct = emulated_ops_.rank_labels(labels)
    _, means, _ = emulated_ops_.cluster_moments(data, ids, 4, torch.ones(60, dtype=torch.int64))  # weights checked
    emulated_ops_.cluster_distances(data, ids, means, 2.0)
    emulated_ops_.silhouette_sums(data, ids, 4)
    emulated_ops_.bootstrap_counts(torch.tensor([3, 4]), 2, 0, 0)
    after = emulator.launch_counts()
    launched = {name for name, count in after.items() if count > before.get(name, 0)}
    source = _kernel_names_in_source()
    assert len(source) >= 10
    assert source - launched == set(), f"kernels never emulated: {sorted(source - launched)}"
