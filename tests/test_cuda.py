"""CUDA kernels: registration (checked on every machine) and CPU/GPU parity,
determinism, devices, compile, graph capture and opcheck (on a GPU only)."""

import os

import pytest
import torch

import clustering_metrics
from labels import LABEL_DTYPES

from clustering_metrics import _build_info, _C, ops
from clustering_metrics.functional import mutual_info_score

MI_RTOL = 1e-12
MI_ATOL = 1e-15

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_every_op_has_a_cuda_kernel_in_a_cuda_build():
    if not _build_info.WITH_CUDA:
        if os.environ.get("CLUSTERING_METRICS_REQUIRE_CUDA_BUILD") == "1":
            pytest.fail("CLUSTERING_METRICS_REQUIRE_CUDA_BUILD=1 but clustering_metrics was built without CUDA kernels.")
        pytest.skip("clustering_metrics was built without CUDA kernels")
    for name in _C.OP_NAMES:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"clustering_metrics::{name}", "CUDA"), name


# ----------------------------------------------------------------- helpers


def _dtype_bounds(dtype):
    if dtype == torch.bool:
        return 0, 1
    info = torch.iinfo(dtype)
    return int(info.min), int(info.max)


def _to_dtype(values, dtype):
    """int64 values (Python-int semantics, uint64 as two's complement bits) to dtype."""
    if dtype == torch.uint64:
        return values.view(torch.uint64)
    return values.to(dtype)


def _cluster_values(clusters, dtype, layout, gen):
    """`clusters` distinct label values of dtype, as int64 (uint64 as its bit pattern)."""
    lo, hi = _dtype_bounds(dtype)
    if dtype == torch.uint64:
        lo, hi = -(2**63), 2**63 - 1  # bit patterns cover the whole uint64 range
    clusters = min(clusters, hi - lo + 1)
    if layout == "low":
        return lo + torch.arange(clusters, dtype=torch.int64)
    if layout == "high":
        return (hi - torch.arange(clusters, dtype=torch.int64)).flip(0)
    if layout == "around_zero":
        start = max(lo, min(-(clusters // 2), hi - clusters + 1))
        return torch.arange(start, start + clusters, dtype=torch.int64)
    # "scattered": distinct values over the whole range, both extremes included.
    inner = set()
    while len(inner) < clusters - 2:
        inner.update(torch.randint(lo, hi, (2 * clusters,), generator=gen, dtype=torch.int64).tolist())
    inner.discard(lo)
    chosen = sorted(inner)[: max(clusters - 2, 0)] + [lo, hi][: min(clusters, 2)]
    return torch.tensor(chosen, dtype=torch.int64)


def _labels(n, clusters, dtype, layout, gen):
    values = _cluster_values(clusters, dtype, layout, gen)
    picks = torch.randint(0, values.numel(), (n,), generator=gen)
    return _to_dtype(values[picks], dtype)


def _comparable(t):
    """A CPU int64 tensor with the same values (uint64 by bit pattern), for exact comparison."""
    t = t.cpu()
    return t.view(torch.int64) if t.dtype == torch.uint64 else t.to(torch.int64)


def _assert_same_histogram(got, expected):
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype
        assert g.device.type == "cuda"
        assert torch.equal(_comparable(g), _comparable(e))


def _assert_close_mi(got, expected):
    assert got.dtype == torch.float64 and got.dim() == 0 and got.device.type == "cuda"
    got, expected = got.item(), expected.item()
    assert abs(got - expected) <= MI_RTOL * abs(expected) + MI_ATOL, (got, expected)


def _check_parity(preds, target, weights=None):
    gpu = [t.cuda() if t is not None else None for t in (preds, target, weights)]
    _assert_same_histogram(ops.pair_histogram(*gpu), ops.pair_histogram(preds, target, weights))
    if weights is None:
        _assert_close_mi(ops.mutual_info_score(gpu[0], gpu[1]), ops.mutual_info_score(preds, target))
    else:
        _assert_close_mi(
            ops.mutual_info_from_histogram(*gpu), ops.mutual_info_from_histogram(preds, target, weights)
        )


# ------------------------------------------------------------------ parity


@requires_cuda
@pytest.mark.parametrize("pred_dtype", LABEL_DTYPES, ids=str)
@pytest.mark.parametrize("target_dtype", LABEL_DTYPES, ids=str)
def test_parity_every_dtype_pair(pred_dtype, target_dtype):
    gen = torch.Generator().manual_seed(LABEL_DTYPES.index(pred_dtype) * len(LABEL_DTYPES) + LABEL_DTYPES.index(target_dtype))
    n = 4099  # not a multiple of the load width: exercises the tail
    for layout in ("low", "high", "scattered"):
        preds = _labels(n, 7, pred_dtype, layout, gen)
        target = _labels(n, 13, target_dtype, layout, gen)
        _check_parity(preds, target)
        _check_parity(preds, target, torch.randint(0, 4, (n,), generator=gen))


# (clusters, n) pairs chosen to reach every counting path: shared-memory
# table with and without warp aggregation, global dense table, sort.
PATH_CASES = [(1, 10_000), (2, 50_000), (10, 1_000_003), (60, 200_000), (300, 100_000), (1000, 1_000_000),
              (100_000, 300_000)]


@requires_cuda
@pytest.mark.parametrize("clusters,n", PATH_CASES)
@pytest.mark.parametrize("layout", ["low", "high", "around_zero", "scattered"])
@pytest.mark.parametrize("dtype", [torch.int64, torch.uint64, torch.int32, torch.uint16], ids=str)
def test_parity_across_paths(clusters, n, layout, dtype):
    gen = torch.Generator().manual_seed(clusters * 7 + n)
    preds = _labels(n, clusters, dtype, layout, gen)
    target = _labels(n, clusters, torch.int64, "around_zero", gen)
    _check_parity(preds, target)


@requires_cuda
@pytest.mark.parametrize("clusters,n", [(10, 100_000), (300, 100_000), (100_000, 200_000)])
def test_parity_with_weights(clusters, n):
    gen = torch.Generator().manual_seed(clusters)
    preds = _labels(n, clusters, torch.int64, "scattered", gen)
    target = _labels(n, clusters, torch.int32, "low", gen)
    weights = torch.randint(0, 3, (n,), generator=gen)  # many zeros: zero-count cells must vanish
    _check_parity(preds, target, weights)
    _check_parity(preds, target, weights * (2**40))  # totals beyond 2^32: 128-bit products


@requires_cuda
def test_parity_mixed_direct_and_ranked_sides():
    gen = torch.Generator().manual_seed(3)
    n = 100_000
    preds = _labels(n, 50, torch.int64, "scattered", gen)  # ranked
    target = _labels(n, 50, torch.int16, "low", gen)  # direct
    _check_parity(preds, target)
    _check_parity(target, preds)


@requires_cuda
def test_unaligned_and_strided_inputs():
    gen = torch.Generator().manual_seed(5)
    preds = _labels(100_001, 20, torch.int64, "low", gen)
    target = _labels(100_001, 20, torch.int8, "around_zero", gen)
    gpu_preds, gpu_target = preds.cuda(), target.cuda()
    # Views that start one label in are not aligned to the 8-label packs
    # (moving a view to the GPU would copy it aligned, so slice on the GPU).
    _assert_same_histogram(ops.pair_histogram(gpu_preds[1:], gpu_target[:-1]), ops.pair_histogram(preds[1:], target[:-1]))
    _assert_close_mi(ops.mutual_info_score(gpu_preds[1:], gpu_target[:-1]), ops.mutual_info_score(preds[1:], target[:-1]))
    _assert_same_histogram(ops.pair_histogram(gpu_preds[::2], gpu_target[::2]), ops.pair_histogram(preds[::2], target[::2]))


@requires_cuda
def test_histogram_merge_matches_cpu():
    gen = torch.Generator().manual_seed(11)
    n = 20_000
    pred_labels = _labels(n, 40, torch.int64, "scattered", gen)
    target_labels = _labels(n, 40, torch.int64, "scattered", gen)
    counts = torch.randint(0, 1000, (n,), generator=gen)
    # Unsorted pairs with repeats: MI of their sum.
    _check_parity(pred_labels, target_labels, counts)


@requires_cuda
def test_weight_errors_name_the_value():
    preds = torch.tensor([0, 1, 1], device="cuda")
    with pytest.raises(RuntimeError, match="non-negative but found -2"):
        ops.pair_histogram(preds, preds, torch.tensor([1, -2, 3], device="cuda"))
    with pytest.raises(RuntimeError, match="at most 2"):
        ops.pair_histogram(preds, preds, torch.tensor([2**62, 2**62, 1], device="cuda"))
    with pytest.raises(RuntimeError, match="int64"):
        ops.pair_histogram(preds, preds, torch.tensor([1, 1, 1], device="cuda", dtype=torch.int32))


@requires_cuda
def test_empty_and_zero_weight_inputs():
    empty = torch.empty(0, dtype=torch.int64, device="cuda")
    pred, target, count = ops.pair_histogram(empty, empty.to(torch.int8))
    assert pred.numel() == target.numel() == count.numel() == 0
    assert target.dtype == torch.int8 and pred.device.type == "cuda"
    assert ops.mutual_info_score(empty, empty).item() == 0.0
    labels = torch.tensor([1, 2, 3], device="cuda")
    zeros = torch.zeros(3, dtype=torch.int64, device="cuda")
    assert ops.pair_histogram(labels, labels, zeros)[2].numel() == 0
    assert ops.mutual_info_from_histogram(labels, labels, zeros).item() == 0.0


@requires_cuda
def test_mixed_devices_are_refused():
    cpu = torch.tensor([0, 1, 1])
    with pytest.raises(RuntimeError, match="same device"):
        ops.mutual_info_score(cpu, cpu.cuda())
    with pytest.raises(RuntimeError, match="counts on"):
        ops.pair_histogram(cpu.cuda(), cpu.cuda(), torch.tensor([1, 1, 1]))


@requires_cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_second_device():
    gen = torch.Generator().manual_seed(2)
    preds = _labels(50_000, 30, torch.int64, "low", gen)
    target = _labels(50_000, 30, torch.int64, "high", gen)
    with torch.cuda.device(0):
        got = ops.mutual_info_score(preds.to("cuda:1"), target.to("cuda:1"))
        histogram = ops.pair_histogram(preds.to("cuda:1"), target.to("cuda:1"))
    assert got.device == torch.device("cuda:1") and histogram[0].device == torch.device("cuda:1")
    _assert_close_mi(got, ops.mutual_info_score(preds, target))


@requires_cuda
def test_compile_fullgraph():
    gen = torch.Generator().manual_seed(4)
    preds = _labels(10_000, 12, torch.int64, "low", gen).cuda()
    target = _labels(10_000, 9, torch.int32, "around_zero", gen).cuda()
    compiled = torch.compile(mutual_info_score, fullgraph=True)
    torch.testing.assert_close(compiled(preds, target), mutual_info_score(preds, target), rtol=0, atol=0)


@requires_cuda
@pytest.mark.parametrize("clusters,n", [(10, 2_000_000), (1000, 1_000_000), (100_000, 1_000_000)])
def test_bitwise_deterministic(clusters, n):
    gen = torch.Generator().manual_seed(clusters)
    preds = _labels(n, clusters, torch.int64, "low", gen).cuda()
    target = _labels(n, clusters, torch.int64, "around_zero", gen).cuda()
    first = ops.mutual_info_score(preds, target)
    first_histogram = ops.pair_histogram(preds, target)
    for _ in range(20):
        assert torch.equal(ops.mutual_info_score(preds, target), first)
    for got, expected in zip(ops.pair_histogram(preds, target), first_histogram):
        assert torch.equal(got, expected)


@requires_cuda
def test_cuda_graph_capture_is_refused_clearly():
    # The ops read label ranges and sizes back to the host, so they cannot be
    # captured; they say so before touching the capturing stream.
    preds = torch.tensor([0, 1, 1, 2], device="cuda")
    ops.mutual_info_score(preds, preds)  # warm-up outside capture
    graph = torch.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="cannot be captured in a CUDA graph"):
        with torch.cuda.graph(graph):
            ops.mutual_info_score(preds, preds)
    # The device is still usable afterwards.
    assert ops.mutual_info_score(preds, preds).item() > 0


# ------------------------------------------------- known label bounds


@requires_cuda
@pytest.mark.parametrize(
    "num_pred, num_target, n",
    [(5, 3, 100_003), (40, 40, 300_000), (200, 150, 200_000), (3, 2, 5_000_000)],
    ids=["aggregated shared table", "shared table", "global table", "many samples per cell"],
)
@pytest.mark.parametrize("dtypes", [(torch.int64, torch.int64), (torch.int32, torch.uint8), (torch.bool, torch.int16)], ids=str)
def test_count_into_table_parity(num_pred, num_target, n, dtypes):
    gen = torch.Generator().manual_seed(num_pred * n)
    preds = torch.randint(-1, num_pred + 1, (n,), generator=gen).to(dtypes[0])  # some outside the bounds
    target = torch.randint(0, num_target + 1, (n,), generator=gen).to(dtypes[1])
    expected = torch.zeros(num_pred * num_target + 1, dtype=torch.int64)
    ops.count_into_table(preds, target, expected, num_pred, num_target)
    table = torch.zeros_like(expected).cuda()
    ops.count_into_table(preds.cuda(), target.cuda(), table, num_pred, num_target)
    ops.count_into_table(preds.cuda()[1:], target.cuda()[1:], table, num_pred, num_target)  # unaligned
    ops.count_into_table(preds[1:], target[1:], expected, num_pred, num_target)
    assert torch.equal(table.cpu(), expected)


@requires_cuda
def test_count_into_table_is_captured_in_a_cuda_graph():
    num_pred, num_target = 50, 40
    gen = torch.Generator().manual_seed(12)
    data = [(torch.randint(0, num_pred, (100_000,), generator=gen), torch.randint(0, num_target, (100_000,), generator=gen))
            for _ in range(3)]
    static_preds, static_target = data[0][0].cuda(), data[0][1].cuda()
    table = torch.zeros(num_pred * num_target + 1, dtype=torch.int64, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the capture, as torch.cuda.graph asks
        ops.count_into_table(static_preds, static_target, table, num_pred, num_target)
    torch.cuda.current_stream().wait_stream(side)
    table.zero_()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        ops.count_into_table(static_preds, static_target, table, num_pred, num_target)
    assert table.sum().item() == 0  # capture records, it does not run
    expected = torch.zeros(num_pred * num_target + 1, dtype=torch.int64)
    for preds, target in data:
        static_preds.copy_(preds)
        static_target.copy_(target)
        graph.replay()
        ops.count_into_table(preds, target, expected, num_pred, num_target)
    assert torch.equal(table.cpu(), expected)


@requires_cuda
def test_bounded_metric_update_is_captured_in_a_cuda_graph():
    from sklearn.metrics import adjusted_rand_score

    gen = torch.Generator().manual_seed(13)
    data = [(torch.randint(0, 30, (50_000,), generator=gen), torch.randint(0, 20, (50_000,), generator=gen))
            for _ in range(4)]
    metric = clustering_metrics.AdjustedRandScore(num_pred_clusters=30, num_target_clusters=20).cuda()
    static_preds, static_target = data[0][0].cuda(), data[0][1].cuda()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        metric.update(static_preds, static_target)
    torch.cuda.current_stream().wait_stream(side)
    metric.reset()  # a new table: capture after the reset, so the graph adds to the table the metric keeps
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        metric.update(static_preds, static_target)
    for preds, target in data:
        static_preds.copy_(preds)
        static_target.copy_(target)
        graph.replay()
    preds = torch.cat([p for p, _ in data]).numpy()
    target = torch.cat([t for _, t in data]).numpy()
    assert metric.compute().item() == pytest.approx(adjusted_rand_score(target, preds), rel=1e-6, abs=1e-7)


@requires_cuda
def test_opcheck():
    gen = torch.Generator().manual_seed(6)
    preds = _labels(1000, 5, torch.int64, "low", gen).cuda()
    target = _labels(1000, 7, torch.int16, "around_zero", gen).cuda()
    weights = torch.randint(0, 3, (1000,), generator=gen).cuda()
    for op, args in [
        (torch.ops.clustering_metrics.pair_histogram.default, (preds, target)),
        (torch.ops.clustering_metrics.pair_histogram.default, (preds, target, weights)),
        (torch.ops.clustering_metrics.mutual_info_from_histogram.default, (preds, target, weights)),
        (torch.ops.clustering_metrics.mutual_info_score.default, (preds, target)),
        (torch.ops.clustering_metrics.count_into_table.default,
         (preds % 5, target.abs() % 7, torch.zeros(5 * 7 + 1, dtype=torch.int64, device="cuda"), 5, 7)),
    ]:
        torch.library.opcheck(op, args)


@requires_cuda
def test_metric_on_cuda_matches_cpu():
    gen = torch.Generator().manual_seed(8)
    cpu_metric, gpu_metric = clustering_metrics.MutualInfoScore(), clustering_metrics.MutualInfoScore().cuda()
    for _ in range(3):
        preds = _labels(5000, 20, torch.int64, "scattered", gen)
        target = _labels(5000, 15, torch.int32, "low", gen)
        cpu_metric.update(preds, target)
        gpu_metric.update(preds.cuda(), target.cuda())
    assert abs(gpu_metric.compute().item() - cpu_metric.compute().item()) <= 1e-6


# ------------------------------------------------------------- the family

FAMILY = (
    "mutual_info_score",
    "normalized_mutual_info_score",
    "adjusted_mutual_info_score",
    "rand_score",
    "adjusted_rand_score",
    "homogeneity_score",
    "completeness_score",
    "v_measure_score",
    "fowlkes_mallows_index",
)


def _assert_same_summary(got, expected):
    for g, e in zip(got[:3], expected[:3]):  # totals and exact integers
        assert g.device.type == "cuda" and g.dtype == e.dtype
        assert torch.equal(g.cpu(), e)
    got_reals, expected_reals = got[3].cpu(), expected[3]
    assert torch.allclose(got_reals, expected_reals, rtol=MI_RTOL, atol=MI_ATOL, equal_nan=True), (got_reals, expected_reals)


@requires_cuda
@pytest.mark.parametrize("clusters,n", PATH_CASES)
@pytest.mark.parametrize("with_emi", [False, True])
def test_summary_parity_across_paths(clusters, n, with_emi):
    gen = torch.Generator().manual_seed(clusters + n)
    preds = _labels(n, clusters, torch.int64, "scattered", gen)
    target = _labels(n, max(clusters // 2, 1), torch.int32, "around_zero", gen)
    got = ops.contingency_summary(preds.cuda(), target.cuda(), None, with_emi)
    _assert_same_summary(got, ops.contingency_summary(preds, target, None, with_emi))


@requires_cuda
def test_summary_parity_with_weights_beyond_2_to_the_32():
    gen = torch.Generator().manual_seed(21)
    preds = _labels(50_000, 30, torch.int64, "low", gen)
    target = _labels(50_000, 20, torch.int64, "high", gen)
    weights = torch.randint(0, 3, (50_000,), generator=gen) * (2**40)
    got = ops.contingency_summary(preds.cuda(), target.cuda(), weights.cuda())
    _assert_same_summary(got, ops.contingency_summary(preds, target, weights))


@requires_cuda
@pytest.mark.parametrize("name", FAMILY)
def test_family_on_cuda_matches_cpu_and_stays_on_the_device(name):
    gen = torch.Generator().manual_seed(FAMILY.index(name))
    preds = _labels(200_000, 40, torch.int64, "around_zero", gen)
    target = _labels(200_000, 25, torch.uint8, "low", gen)
    fn = getattr(clustering_metrics.functional, name)
    got = fn(preds.cuda(), target.cuda())
    assert got.device.type == "cuda"
    expected = fn(preds, target)
    assert abs(got.item() - expected.item()) <= 1e-6 * abs(expected.item()) + 1e-7


@requires_cuda
def test_summary_opcheck():
    gen = torch.Generator().manual_seed(22)
    preds = _labels(2000, 6, torch.int64, "low", gen).cuda()
    target = _labels(2000, 9, torch.int16, "around_zero", gen).cuda()
    torch.library.opcheck(torch.ops.clustering_metrics.contingency_summary.default, (preds, target, None, True))
    # Without the MI (its slot NaN, which the AOT test's equality check reports as a difference).
    torch.library.opcheck(torch.ops.clustering_metrics.contingency_summary.default, (preds, target, None, False, False),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    lean = ops.contingency_summary(preds, target, None, False, False)
    _assert_same_summary(lean, ops.contingency_summary(preds.cpu(), target.cpu(), None, False, False))


# ---------------------------------------------------------------- the clustering module's kernels on a GPU


def _embedded(seed, n, dim, clusters, offset=0.0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, clusters, (n,), generator=gen) * 7 - 3
    centres = torch.randn(clusters, dim, generator=gen, dtype=torch.float64) * 3
    data = centres[(labels + 3) // 7] + torch.randn(n, dim, generator=gen, dtype=torch.float64) + offset
    return data.to(dtype), labels


@requires_cuda
@pytest.mark.parametrize("dtype", LABEL_DTYPES, ids=str)
def test_rank_labels_parity(dtype):
    gen = torch.Generator().manual_seed(LABEL_DTYPES.index(dtype))
    labels = _labels(50_000, 300, dtype, "scattered", gen)
    for got, expected in zip(ops.rank_labels(labels.cuda()), ops.rank_labels(labels)):
        assert torch.equal(got.cpu(), expected)


@requires_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("n, dim, clusters", [(100_000, 64, 100), (20_000, 3, 2), (5_000, 129, 1_000)])
def test_cluster_moments_and_distances_parity_and_determinism(dtype, n, dim, clusters):
    data, labels = _embedded(n + dim, n, dim, clusters, offset=1e4, dtype=dtype)
    ids, distinct = ops.rank_labels(labels)
    k = distinct.numel()
    expected = ops.cluster_moments(data, ids, k)
    got = ops.cluster_moments(data.cuda(), ids.cuda(), k)
    again = ops.cluster_moments(data.cuda(), ids.cuda(), k)
    assert torch.equal(got[0].cpu(), expected[0])
    torch.testing.assert_close(got[1].cpu(), expected[1], rtol=1e-14, atol=1e-12)
    torch.testing.assert_close(got[2].cpu(), expected[2], rtol=1e-12, atol=1e-9)
    assert all(torch.equal(g, a) for g, a in zip(got, again))
    for p in (1.0, 2.0, float("inf")):
        expected_distances = ops.cluster_distances(data, ids, expected[1], p)
        got_distances = ops.cluster_distances(data.cuda(), ids.cuda(), expected[1].cuda(), p)
        for g, e in zip(got_distances, expected_distances):
            torch.testing.assert_close(g.cpu(), e, rtol=1e-13, atol=1e-12)


@requires_cuda
def test_silhouette_sums_parity_and_determinism():
    data, labels = _embedded(3, 3_000, 32, 20, offset=1e5)
    ids, distinct = ops.rank_labels(labels)
    expected = ops.silhouette_sums(data, ids, 20)
    got = ops.silhouette_sums(data.cuda(), ids.cuda(), 20)
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-14, atol=1e-12)
    assert torch.equal(got, ops.silhouette_sums(data.cuda(), ids.cuda(), 20))


@requires_cuda
def test_clustering_module_functionals_on_cuda_match_cpu():
    from clustering_metrics import functional

    data, labels = _embedded(4, 4_000, 16, 8, offset=1e7)
    for name in ("calinski_harabasz_score", "davies_bouldin_score", "dunn_index", "silhouette_score"):
        function = getattr(functional, name)
        got, expected = function(data.cuda(), labels.cuda()), function(data, labels)
        assert got.device.type == "cuda" and got.item() == pytest.approx(expected.item(), rel=1e-9), name
    preds, target = labels % 5, labels % 3
    assert functional.cluster_accuracy(preds.cuda(), target.cuda()).item() == functional.cluster_accuracy(preds, target).item()
    cost = torch.randint(0, 9, (50, 70))
    for got, expected in zip(ops.linear_sum_assignment(cost.cuda(), True), ops.linear_sum_assignment(cost, True)):
        assert got.device.type == "cuda" and torch.equal(got.cpu(), expected)


@requires_cuda
def test_opcheck_of_the_clustering_module_ops():
    data, labels = _embedded(5, 500, 4, 5)
    data, labels = data.cuda(), labels.cuda()
    ids, distinct = ops.rank_labels(labels)
    _, means, _ = ops.cluster_moments(data, ids, 5)
    for op, args in [
        (torch.ops.clustering_metrics.rank_labels.default, (labels,)),
        (torch.ops.clustering_metrics.cluster_moments.default, (data, ids, 5)),
        (torch.ops.clustering_metrics.cluster_distances.default, (data, ids, means, 2.0)),
        (torch.ops.clustering_metrics.silhouette_sums.default, (data, ids, 5)),
        (torch.ops.clustering_metrics.linear_sum_assignment.default, (torch.randint(0, 5, (4, 6), device="cuda"), True)),
    ]:
        torch.library.opcheck(op, args)


@requires_cuda
def test_bootstrap_on_the_gpu():
    # Same bits for a seed however the resamples are split into calls; each row keeps the total; the
    # cells' means agree with the CPU's draws (the two backends' libm may round a log differently, so
    # a draw near an acceptance boundary may differ: bits are promised per device, not across them).
    counts = torch.randint(0, 200, (2_000,), generator=torch.Generator().manual_seed(3))
    gpu = ops.bootstrap_counts(counts.cuda(), 4_000, 17)
    split = torch.cat([ops.bootstrap_counts(counts.cuda(), 1_000, 17), ops.bootstrap_counts(counts.cuda(), 3_000, 17, 1_000)])
    assert gpu.device.type == "cuda" and torch.equal(gpu, split)
    assert bool((gpu.sum(dim=1).cpu() == counts.sum()).all())
    cpu = ops.bootstrap_counts(counts, 4_000, 17)
    assert (gpu.cpu() == cpu).all(dim=1).float().mean() > 0.99
    with pytest.raises(RuntimeError, match="non-negative but found -1"):
        ops.bootstrap_counts(torch.tensor([3, -1], device="cuda"), 2, 0)


@requires_cuda
def test_bootstrap_scores_and_pairwise_on_the_gpu():
    from clustering_metrics import functional as F

    gen = torch.Generator().manual_seed(4)
    preds, target = torch.randint(0, 9, (5_000,), generator=gen), torch.randint(0, 7, (5_000,), generator=gen)
    on_gpu = F.bootstrap_scores(preds.cuda(), target.cuda(), num_resamples=200, seed=1)
    on_cpu = F.bootstrap_scores(preds, target, num_resamples=200, seed=1)
    for name, interval in on_gpu.items():
        assert interval.value.device.type == "cuda" and interval.low.device.type == "cuda"
        torch.testing.assert_close(interval.value.cpu(), on_cpu[name].value, rtol=1e-6, atol=1e-7)
        # The resamples' scores agree where the two backends drew the same resample (nearly all).
        close = torch.isclose(interval.replicates.cpu(), on_cpu[name].replicates, rtol=1e-6, atol=1e-7)
        assert close.float().mean() > 0.99, name
    labelings = torch.stack([preds, target, (preds + target) % 5])
    matrix = F.pairwise_scores(labelings.cuda(), "adjusted_mutual_info_score")
    torch.testing.assert_close(matrix.cpu(), F.pairwise_scores(labelings, "adjusted_mutual_info_score"), rtol=1e-6,
                               atol=1e-7)
