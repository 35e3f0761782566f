"""Benchmark of the bootstrap and of pairwise score matrices (``python benchmarks/bench.py --resampling``).

* **Bootstrap**: ``bootstrap_scores`` at N=1e6, K=100 (labels agreeing on
  half the samples), 1000 resamples of the eight metrics without the
  adjusted MI, and the adjusted MI's cost per resample (its expected MI is
  the costliest part of a summary), against a naive bootstrap that resamples
  sample indices and scores them with scikit-learn (timed on a few resamples
  and scaled to 1000).
* **Pairwise**: ``pairwise_scores`` of M=40 labelings of N=2e5 samples (K=50)
  against looping our functional over the M^2 entries, on torch's threads and
  on one.

Prints a Markdown table and the issue's target lines, and writes the table
to ``resampling/`` under bench.py's ``--out`` (default ``benchmarks/results/resampling``).

    python benchmarks/bench.py --resampling [--quick] [--device cpu|cuda] [--out DIR]
"""

import argparse
import os
import statistics
import time
from typing import Callable, List, Tuple

import numpy as np
import torch

import clustering_metrics
from clustering_metrics import formulas
from clustering_metrics import functional as F

EIGHT = [name for name in formulas.METRICS if name != "adjusted_mutual_info_score"]


def _timed(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median wall time of fn over repeats calls (after one warm-up), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _labels(n: int, clusters: int, agreement: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    preds = rng.integers(0, clusters, n)
    return preds, np.where(rng.random(n) < agreement, preds, rng.integers(0, clusters, n))


def _naive_bootstrap_seconds_per_resample(preds: np.ndarray, target: np.ndarray, resamples: int) -> float:
    from sklearn import metrics as skm

    scorers = [skm.mutual_info_score, skm.normalized_mutual_info_score, skm.adjusted_mutual_info_score,
               skm.rand_score, skm.adjusted_rand_score, skm.homogeneity_score, skm.completeness_score,
               skm.v_measure_score, skm.fowlkes_mallows_score]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(resamples):
        index = rng.integers(0, len(preds), len(preds))
        for score in scorers:
            score(target[index], preds[index])
    return (time.perf_counter() - start) / resamples


def run(args: argparse.Namespace) -> int:
    device = args.device
    quick = args.quick
    rows: List[Tuple[str, str, float]] = []
    targets: List[str] = []

    n, clusters, resamples = (10**5 if quick else 10**6), 100, 1000
    preds_np, target_np = _labels(n, clusters, 0.5, 1)
    preds, target = torch.from_numpy(preds_np).to(device), torch.from_numpy(target_np).to(device)
    eight = _timed(lambda: F.bootstrap_scores(preds, target, EIGHT, resamples, seed=1), 1 if quick else 3, device)
    rows.append((f"bootstrap, {resamples} resamples, 8 metrics (all but AMI)", f"N={n:.0e}, K={clusters}", eight))
    ami_resamples = 5 if quick else 20
    ami = _timed(lambda: F.bootstrap_scores(preds, target, "adjusted_mutual_info_score", ami_resamples, seed=1),
                 1, device) / ami_resamples
    rows.append(("bootstrap, adjusted MI, per resample", f"N={n:.0e}, K={clusters}", ami))
    nine = eight + resamples * ami
    rows.append((f"bootstrap, {resamples} resamples, all 9 metrics (scaled from the two rows above)",
                 f"N={n:.0e}, K={clusters}", nine))
    naive = _naive_bootstrap_seconds_per_resample(preds_np, target_np, 1 if quick else 3) * resamples
    rows.append((f"naive bootstrap with scikit-learn, {resamples} resamples, 9 metrics (scaled)",
                 f"N={n:.0e}, K={clusters}", naive))
    if n == 10**6:
        targets.append(f"{'PASS' if eight < 3 else 'FAIL'}  bootstrap of 8 metrics (all but AMI), 1000 resamples at "
                       f"N=1e6, K=100: {eight:.2f} s (target < 3 s)")
        targets.append(f"{'PASS' if nine < 3 else 'FAIL'}  bootstrap of all 9 metrics, 1000 resamples at N=1e6, "
                       f"K=100: {nine:.1f} s (target < 3 s; the adjusted MI's expected MI costs {1e3 * ami:.0f} ms "
                       "a resample)")

    count, n = (10, 5 * 10**4) if quick else (40, 2 * 10**5)
    rng = np.random.default_rng(2)
    base = rng.integers(0, 50, n)
    labelings = torch.from_numpy(np.stack([np.where(rng.random(n) < 0.7, base, rng.integers(0, 50, n))
                                           for _ in range(count)])).to(device)

    def loop() -> None:
        for i in range(count):
            for j in range(count):
                F.adjusted_rand_score(labelings[i], labelings[j])

    threads = torch.get_num_threads()
    for workers in sorted({threads, 1}, reverse=True):
        torch.set_num_threads(workers)
        try:
            matrix = _timed(lambda: F.pairwise_scores(labelings, "adjusted_rand_score"), 1 if quick else 3, device)
            looped = _timed(loop, 1 if quick else 3, device)
        finally:
            torch.set_num_threads(threads)
        case = f"M={count}, N={n:.0e}, K=50, {workers} thread{'s' if workers > 1 else ''}"
        rows.append(("pairwise_scores (adjusted Rand), the (M, M) matrix", case, matrix))
        rows.append(("our functional looped over the M^2 entries", case, looped))
        if count == 40 and workers == threads:
            targets.append(f"{'PASS' if matrix <= looped / 2 else 'FAIL'}  pairwise matrix at M=40, N=2e5: "
                           f"{matrix:.3f} s, {matrix / looped:.2f}x the loop's {looped:.3f} s (target <= 0.5x)")
        if count == 40 and workers == 1 and threads > 1:
            targets.append(f"note  on one thread the matrix takes {matrix / looped:.2f}x the loop's time")

    table = ["| case | size | seconds |", "|---|---|---:|"]
    table += [f"| {what} | {size} | {seconds:.3f} |" for what, size, seconds in rows]
    text = "\n".join(table)
    heading = (f"clustering_metrics {clustering_metrics.__version__}, torch {torch.__version__}, {device}, "
               f"{torch.get_num_threads()} threads")
    print(heading)
    print(text)
    print("\n".join(targets))
    out = str(args.out)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "resampling.md"), "w") as handle:
        handle.write(f"{heading}\n\n{text}\n\n" + "\n".join(targets) + "\n")
    return 0
