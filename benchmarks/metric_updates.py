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

It also times the same loops with known label bounds (``num_pred_clusters =
num_target_clusters = 1000``: a dense table state, one op call an update)
and, with ``--device cuda``, those updates replayed from one captured CUDA
graph (labels copied into static buffers, then ``graph.replay()``).

Each figure is the median of --repeats runs of the whole loop, alternating
ours and theirs so that a busy spell hits both.

``--contended`` runs every loop while other processes keep all the cores
busy (one busy-looping process per core), as when the metric shares the CPU
with a data loader or another job: a loop that wakes torch's thread pool for
small work waits on threads that do not get a core.
"""

import argparse
import contextlib
import multiprocessing
import os
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
    synchronize(data[0][0].device)
    start = time.perf_counter()
    for preds, target in data:
        metric.update(preds, target)
    metric.compute()
    return time.perf_counter() - start


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def graph_loop_seconds(data):
    """The bounded metric's updates replayed from one CUDA graph, plus compute()."""
    metric = MutualInfoScore(num_pred_clusters=CLUSTERS, num_target_clusters=CLUSTERS).to(data[0][0].device)
    static_preds, static_target = data[0][0].clone(), data[0][1].clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        metric.update(static_preds, static_target)
    torch.cuda.current_stream().wait_stream(side)
    metric.reset()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        metric.update(static_preds, static_target)
    synchronize(static_preds.device)
    start = time.perf_counter()
    for preds, target in data:
        static_preds.copy_(preds)
        static_target.copy_(target)
        graph.replay()
    metric.compute()
    return time.perf_counter() - start


def compare(count, size, repeats, device):
    data = [(p.to(device), t.to(device)) for p, t in batches(count, size, seed=count + size)]
    runs = {"ours": [], "torchmetrics": [], "bounded": [], "graph": []}
    for _ in range(repeats):
        runs["ours"].append(loop_seconds(MutualInfoScore().to(device), data))
        runs["torchmetrics"].append(loop_seconds(TorchmetricsMutualInfoScore().to(device), data))
        bounded = MutualInfoScore(num_pred_clusters=CLUSTERS, num_target_clusters=CLUSTERS).to(device)
        runs["bounded"].append(loop_seconds(bounded, data))
        if device.type == "cuda":
            runs["graph"].append(graph_loop_seconds(data))
    return {name: statistics.median(times) for name, times in runs.items() if times}


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


def _spin(stop):
    while not stop.is_set():
        sum(range(10_000))


@contextlib.contextmanager
def competing_processes(count):
    """`count` processes that keep a core each busy until the block ends (none for count 0)."""
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.2 if workers else 0)  # let them take the cores
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--contended", action="store_true",
                        help="run every loop while one busy process per core competes for the CPU")
    args = parser.parse_args()
    device = torch.device(args.device)
    competitors = os.cpu_count() if args.contended else 0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {device}; median of {args.repeats} loops"
          + (f"; {competitors} competing busy processes" if competitors else "") + "\n")
    with competing_processes(competitors):
        report(args, device)


def report(args, device):
    graph = device.type == "cuda"
    print("| updates x labels | ours (update loop + compute) | torchmetrics | ours / torchmetrics "
          "| ours, label bounds |" + (" ours, label bounds, CUDA graph |" if graph else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if graph else ""))
    ratios = {}
    for count, size in ((10_000, 10), (1_000, 1_000)):
        times = compare(count, size, args.repeats, device)
        ours, theirs = times["ours"], times["torchmetrics"]
        ratios[(count, size)] = ours / theirs
        print(f"| {count:,} x {size:,} | {ours * 1e3:.0f} ms | {theirs * 1e3:.0f} ms | {ours / theirs:.2f} "
              f"| {times['bounded'] * 1e3:.0f} ms |" + (f" {times['graph'] * 1e3:.0f} ms |" if graph else ""))
    if device.type != "cpu":
        return
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
