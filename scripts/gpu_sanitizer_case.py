"""A small case through every CUDA counting path, for compute-sanitizer (see gpu_check.sh).

Checks results against the CPU ops too, so a run that only passes the
sanitizer with wrong numbers still fails.
"""

import torch

from clustering_metrics import ops


def labels(n, clusters, dtype, seed, scattered=False):
    gen = torch.Generator().manual_seed(seed)
    values = torch.arange(clusters, dtype=torch.int64) - clusters // 2
    if scattered:  # a span far beyond the direct-index limit: ranked side
        values = values * (2**40) + 12345
    return values[torch.randint(0, clusters, (n,), generator=gen)].to(dtype)


def check(preds, target, weights=None, offset=0):
    # Slicing after the move to the GPU gives views that are not pack-aligned.
    gpu = [t.cuda()[offset:] if t is not None else None for t in (preds, target, weights)]
    preds, target, weights = (t[offset:] if t is not None else None for t in (preds, target, weights))
    for got, expected in zip(ops.pair_histogram(*gpu), ops.pair_histogram(preds, target, weights)):
        assert torch.equal(got.cpu(), expected), "histogram differs from CPU"
    if weights is None:
        got, expected = ops.mutual_info_score(*gpu[:2]).item(), ops.mutual_info_score(preds, target).item()
    else:
        got, expected = ops.mutual_info_from_histogram(*gpu).item(), ops.mutual_info_from_histogram(preds, target, weights).item()
    assert abs(got - expected) <= 1e-12 * abs(expected) + 1e-15, (got, expected)
    # The summary kernels, with the expected MI from the copied-back totals.
    got_summary = ops.contingency_summary(*gpu, True)
    expected_summary = ops.contingency_summary(preds, target, weights, True)
    for got_part, expected_part in zip(got_summary[:3], expected_summary[:3]):
        assert torch.equal(got_part.cpu(), expected_part), "summary totals or integers differ from CPU"
    assert torch.allclose(got_summary[3].cpu(), expected_summary[3], rtol=1e-12, atol=1e-15), "summary reals differ"


n = 20_003
cases = [
    (labels(n, 8, torch.int64, 1), labels(n, 8, torch.int8, 2)),  # shared table, warp aggregation
    (labels(n, 60, torch.int32, 3), labels(n, 60, torch.int16, 4)),  # shared table, 3600 cells
    (labels(n, 250, torch.int64, 5), labels(n, 250, torch.int64, 6)),  # global dense table
    (labels(n, 5000, torch.int64, 7), labels(n, 5000, torch.int32, 8)),  # sort path
    (labels(n, 30, torch.int64, 9, scattered=True), labels(n, 30, torch.uint8, 10)),  # ranked + dense
    (labels(n, 3000, torch.int64, 11, scattered=True), labels(n, 3000, torch.int64, 12, True)),  # ranked + sort
    (labels(n, 8, torch.int64, 13), labels(n, 8, torch.bool, 14)),
]
weights = torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(15))
for preds, target in cases:
    check(preds, target)
    check(preds, target, weights)
check(*cases[-1], offset=1)  # unaligned: scalar loads
check(*cases[-1], weights, offset=1)
check(torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64))

# The clustering module's kernels: ranking, per-cluster moments and distances, silhouette sums.
gen = torch.Generator().manual_seed(16)
data = torch.randn(5_003, 7, generator=gen) + 1e4
embedding_labels = labels(5_003, 9, torch.int64, 17, scattered=True)
ids, distinct = ops.rank_labels(embedding_labels.cuda())
assert torch.equal(ids.cpu(), ops.rank_labels(embedding_labels)[0]), "rank_labels differs from CPU"
moments = ops.cluster_moments(data.cuda(), ids, distinct.numel(), torch.ones_like(ids), torch.zeros(5_003, dtype=torch.float64, device="cuda"))
expected_moments = ops.cluster_moments(data, ids.cpu(), distinct.numel())
assert torch.allclose(moments[1].cpu(), expected_moments[1], rtol=1e-14), "cluster means differ"
distances = ops.cluster_distances(data.cuda(), ids, moments[1], 3.0)
assert torch.allclose(distances[0].cpu(), ops.cluster_distances(data, ids.cpu(), expected_moments[1], 3.0)[0], rtol=1e-12)
sums = ops.silhouette_sums(data[:999].cuda(), ids[:999] % 4, 4)
assert torch.allclose(sums.cpu(), ops.silhouette_sums(data[:999], ids[:999].cpu() % 4, 4), rtol=1e-13), "silhouette"

# The bootstrap's resampler: a thread per resample, each row summing to the total.
cell_counts = torch.randint(0, 50, (3_001,), generator=gen)
resamples = ops.bootstrap_counts(cell_counts.cuda(), 517, 7)
assert torch.equal(resamples.sum(dim=1).cpu(), torch.full((517,), int(cell_counts.sum()))), "resample totals"
torch.cuda.synchronize()
print("sanitizer case: all paths agree with the CPU ops")
