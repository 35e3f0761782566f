"""Metric update loops: many small update() calls and one compute(), ours against torchmetrics.

    python benchmarks/metric_updates.py [--repeats 5]

Times, for each case, the whole loop of update() calls plus the final
compute() of ``clustering_metrics.MutualInfoScore`` and of torchmetrics'
``MutualInfoScore`` on the same batches (labels in [0, 1000)), and prints the
issue's targets as PASS/FAIL lines:

* 10,000 updates of 10 labels: ours faster than torchmetrics;
* 1,000 updates of 1,000 labels: ours within 3x of torchmetrics;
* 1,000 updates of 10 labels into a state of 10^6 distinct pairs (ours only,
  reported): an update must cost O(batch), not O(state).

Each figure is the median of --repeats runs of the whole loop, alternating
ours and theirs so that a busy spell hits both.
"""

import argparse
import statistics
import time
import warnings

import torch
from torchmetrics.clustering import MutualInfoScore as TorchmetricsMutualInfoScore

from clustering_metrics import MutualInfoScore

warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
CLUSTERS = 1000


def batches(count, size, seed):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, CLUSTERS, (size,), generator=generator),
             torch.randint(0, CLUSTERS, (size,), generator=generator)) for _ in range(count)]


def loop_seconds(metric, data):
    start = time.perf_counter()
    for preds, target in data:
        metric.update(preds, target)
    metric.compute()
    return time.perf_counter() - start


def compare(count, size, repeats):
    data = batches(count, size, seed=count + size)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(loop_seconds(MutualInfoScore(), data))
        theirs.append(loop_seconds(TorchmetricsMutualInfoScore(), data))
    return statistics.median(ours), statistics.median(theirs)


def large_state_updates(repeats):
    """1000 updates of 10 labels after one update of 10^7 labels over 10^6 possible pairs."""
    generator = torch.Generator().manual_seed(1)
    big = (torch.randint(0, CLUSTERS, (10**7,), generator=generator),
           torch.randint(0, CLUSTERS, (10**7,), generator=generator))
    small = batches(1000, 10, seed=2)
    times = []
    for _ in range(repeats):
        metric = MutualInfoScore()
        metric.update(*big)
        start = time.perf_counter()
        for preds, target in small:
            metric.update(preds, target)
        times.append(time.perf_counter() - start)
    rows = sum(h.shape[0] for h in metric.histogram)
    return statistics.median(times), rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats} loops\n")
    print("| updates x labels | ours (update loop + compute) | torchmetrics | ours / torchmetrics |")
    print("|---|---:|---:|---:|")
    ratios = {}
    for count, size in ((10_000, 10), (1_000, 1_000)):
        ours, theirs = compare(count, size, args.repeats)
        ratios[(count, size)] = ours / theirs
        print(f"| {count:,} x {size:,} | {ours * 1e3:.0f} ms | {theirs * 1e3:.0f} ms | {ours / theirs:.2f} |")
    seconds, rows = large_state_updates(args.repeats)
    print(f"\n1,000 updates of 10 labels into a state of {rows:,} rows: {seconds * 1e3:.0f} ms "
          f"({seconds * 1e6 / 1000:.1f} µs an update)")
    print("\nTargets:")
    ratio = ratios[(10_000, 10)]
    print(f"{'PASS' if ratio < 1 else 'FAIL'}  10,000 updates of 10 labels: ours faster than torchmetrics "
          f"(measured {ratio:.2f}x its time)")
    ratio = ratios[(1_000, 1_000)]
    print(f"{'PASS' if ratio <= 3 else 'FAIL'}  1,000 updates of 1,000 labels: ours within 3x of torchmetrics "
          f"(measured {ratio:.2f}x its time)")


if __name__ == "__main__":
    main()
