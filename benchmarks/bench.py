"""Benchmark of the clustering metrics: clustering_metrics against its peers.

Times, on the same labels in one process, our functional and raw op,
torchmetrics, scikit-learn, a dense ``np.bincount`` baseline (MI only) and the
memory floor (one read pass over both inputs); reports the median time, the
time relative to ours and the peak extra memory of every implementation, as a
Markdown table, a CSV and a log-log plot of time against N. ``--metric`` picks
the metric of that matrix (default: the mutual information); ``--family``
instead times every metric of the family at N=1e7, K=1000 and the adjusted MI
at N=1e6, K=2000, against torchmetrics and scikit-learn, with a bar chart;
there the peer ``mi`` is our mutual information on the same labels, timed in
alternation with each metric, as the reference of the family's 1.2x target.

``--hardening`` times the inputs that once made counting slow (all-distinct,
far-apart and colliding labels) against the floor and ``torch.unique``.

``--resampling`` times the bootstrap and the pairwise score matrix
(benchmarks/resampling.py says against what).

``--intrinsic`` times the rest of the clustering module against torchmetrics
and scikit-learn: the Calinski-Harabasz, Davies-Bouldin and Dunn indices on
float32 embeddings (N=1e6, d=64, K=100), the silhouette (N=3e4, d=32, K=20;
torchmetrics has none), and the cluster accuracy on a 2000 x 2000 table of
4e6 labels (scikit-learn's peer: its contingency matrix and scipy's
linear_sum_assignment), with a bar chart.

    python benchmarks/bench.py [--quick] [--device cpu|cuda] [--sizes 100000,1000000]
        [--clusters 10,1000,100000] [--dtypes int64,int32] [--metric NAME | --family | --hardening | --intrinsic | --resampling]
        [--peers ours,mi,op,torchmetrics,sklearn,numpy,unique,floor] [--spread/--no-spread]
        [--repeats R] [--min-time S] [--out DIR]

On the CPU every (implementation, case) runs in its own forked child, so that
its peak RSS growth is its own and an out-of-memory kill costs one row, not the
run; ours and the references its targets compare it with (floor, unique, mi)
share a child and are timed in alternation, so that the ratio the targets check
is not skewed by a busy spell that hits only one of them. OpenMP does not survive a fork: a child whose parent ever entered a
parallel region hangs in its first one. The parent therefore makes its labels
with numpy and never runs a torch kernel on the CPU; all torch work happens in
the children.
"""

import argparse
import csv
import math
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

# Benchmark the checkout this script is in when it is built in place: a script's
# sys.path starts at benchmarks/, so an installed (e.g. editable) copy elsewhere
# would otherwise be imported instead. The report names the copy it imported.
_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "clustering_metrics" / "_build_info.py").exists():
    sys.path.insert(0, str(_CHECKOUT))

import clustering_metrics  # noqa: E402
from clustering_metrics import formulas  # noqa: E402
from clustering_metrics import functional as cm_functional  # noqa: E402
from clustering_metrics import ops as cm_ops  # noqa: E402

# Imported up front so that every forked child shares them instead of paying the import in its timings.
try:
    import torchmetrics.functional.clustering as torchmetrics_clustering
except ImportError:
    torchmetrics_clustering = None
try:
    import sklearn.metrics as sklearn_metrics
except ImportError:
    sklearn_metrics = None

METRICS = tuple(formulas.METRICS)
# scikit-learn's name where it differs from ours (and torchmetrics').
SKLEARN_NAMES = {"fowlkes_mallows_index": "fowlkes_mallows_score"}

# torchmetrics builds its table with sparse_coo_tensor, which warns once per process, so once per child.
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")

PEERS = ("ours", "mi", "op", "torchmetrics", "sklearn", "numpy", "unique", "floor")
DEFAULTS = {"sizes": [10**5, 10**6, 10**7], "clusters": [10, 1000, 10**5], "dtypes": ["int64", "int32"], "repeats": 5,
            "min_time": 1.0}
QUICK_DEFAULTS = {"sizes": [10**5, 10**6], "clusters": [10, 1000], "dtypes": ["int64", "int32"], "repeats": 2,
                  "min_time": 0.2}
SPREAD_CLUSTERS = 1000
SPREAD_MAX_SIZE = 10**6  # the spread case is about label range, not scale
NUMPY_MAX_CELLS = 2**26  # a 512 MiB int64 dense table
SLOW_CALL_S = 1.0  # a peer slower than this is timed once after its probe call
MAX_ROUNDS = 1000  # of timed calls, however fast the calls are
CALL_BUDGET_S = 60.0  # a call slower than this is not repeated: its probe is its only timing
CHILD_TIMEOUT_S = 10 * CALL_BUDGET_S
SEED = 0


@dataclass(frozen=True)
class Case:
    dtype: str
    size: int
    clusters: int
    spread: bool = False  # labels are `clusters` values drawn from the whole int64 range
    metric: str = "mutual_info_score"
    layout: str = ""  # one of HARDENING_LAYOUTS, or uniform labels
    dimensions: int = 0  # of the embeddings, for the intrinsic metrics

    @property
    def label(self) -> str:
        spread = " spread" if self.spread else ""
        metric = "" if self.metric == "mutual_info_score" else f" {self.metric}"
        layout = f" {self.layout}" if self.layout else ""
        clusters = "" if self.layout else f" K={_power_of_ten(self.clusters)}"  # a layout fixes its own labels
        dimensions = f" d={self.dimensions}" if self.dimensions else ""
        return f"{self.dtype} N={_power_of_ten(self.size)}{dimensions}{clusters}{spread}{metric}{layout}"


@dataclass
class Inputs:
    preds: torch.Tensor  # the labels of the embeddings, for the intrinsic metrics
    target: torch.Tensor
    preds_np: Optional[np.ndarray]  # views of the same memory, for the CPU-only peers
    target_np: Optional[np.ndarray]
    data: Optional[torch.Tensor] = None  # embeddings, for the intrinsic metrics
    data_np: Optional[np.ndarray] = None


@dataclass
class Result:
    device: str
    case: Case
    impl: str
    times_s: List[float]
    peak_extra_bytes: Optional[int] = None
    value: Optional[float] = None
    skipped: Optional[str] = None
    note: str = ""

    @property
    def median_s(self) -> Optional[float]:
        return statistics.median(self.times_s) if self.times_s else None


def _power_of_ten(value: int) -> str:
    exponent = round(math.log10(value)) if value > 0 else 0
    return f"1e{exponent}" if value == 10**exponent and exponent >= 2 else str(value)


# ----------------------------------------------------------------------------- inputs


# Inputs that once made the counting slow or memory-hungry (--hardening):
#   distinct           both sides all distinct (K = N), random int64 values
#   constant+distinct  preds one value, target all distinct
#   near pair          labels {0, 1} a side
#   far pair           labels {0, 4999999} a side: a range too wide to index, few labels
#   colliding          50,000 labels whose hashes collide for HASH_SEED, which the
#                      benchmark sets (CLUSTERING_METRICS_HASH_SEED), so hashing them is quadratic
#   random 5e4         50,000 random labels: the same work without collisions
HARDENING_LAYOUTS = ("distinct", "constant+distinct", "near pair", "far pair", "colliding", "random 5e4")
HASH_SEED = 12345
HARDENING_SIZE, HARDENING_QUICK_SIZE = 10**7, 10**6


def _mix_inverse(value: int, seed: int) -> int:
    """The key whose seeded murmur3 finaliser (csrc/cpu/label_ranking.h) is `value`."""
    mask = 2**64 - 1
    x = value ^ (value >> 33)
    x = (x * pow(0xC4CEB9FE1A85EC53, -1, 2**64)) & mask
    x ^= x >> 33
    x = (x * pow(0xFF51AFD7ED558CCD, -1, 2**64)) & mask
    x ^= x >> 33
    return x ^ seed


def hardening_arrays(case: Case, rng: np.random.Generator) -> tuple:
    n = case.size
    if case.layout == "distinct":
        values = rng.choice(np.iinfo(np.int64).max, size=2 * n, replace=False).astype(np.int64)
        return values[:n], values[n:]
    if case.layout == "constant+distinct":
        return np.zeros(n, np.int64), rng.permutation(n).astype(np.int64) * 7919
    if case.layout in ("near pair", "far pair"):
        far = 1 if case.layout == "near pair" else 4_999_999
        return rng.integers(0, 2, n) * far, rng.integers(0, 2, n) * far
    if case.layout == "colliding":
        keys = np.array([_mix_inverse(h, HASH_SEED) for h in range(50_000)], dtype=np.uint64)
        labels = (keys ^ np.uint64(1 << 63)).view(np.int64)  # int64 key = label + 2^63
    else:  # random 5e4
        labels = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 50_000)
    return labels[rng.integers(0, len(labels), n)], rng.integers(0, 10, n)


def make_inputs(case: Case, device: str) -> Inputs:
    """Labels drawn uniformly from `clusters` values, the same for every implementation of a case."""
    rng = np.random.default_rng([SEED, case.size, case.clusters, int(case.spread)])
    if case.dimensions:
        # Embeddings: K Gaussian blobs in float32, and their labels.
        labels_np = rng.integers(0, case.clusters, case.size)
        centres = rng.normal(scale=3.0, size=(case.clusters, case.dimensions)).astype(np.float32)
        data_np = centres[labels_np] + rng.standard_normal((case.size, case.dimensions), dtype=np.float32)
        labels, data = torch.from_numpy(labels_np), torch.from_numpy(data_np)
        if device == "cuda":
            return Inputs(labels.cuda(), labels.cuda(), None, None, data.cuda(), None)
        return Inputs(labels, labels, labels_np, labels_np, data, data_np)
    if case.layout:
        preds_np, target_np = hardening_arrays(case, rng)
        preds, target = torch.from_numpy(preds_np), torch.from_numpy(target_np)
        if device == "cuda":
            return Inputs(preds.cuda(), target.cuda(), None, None)
        return Inputs(preds, target, preds_np, target_np)
    if case.spread:
        info = np.iinfo(np.int64)
        preds_values = rng.integers(info.min, info.max, case.clusters, endpoint=True)
        target_values = rng.integers(info.min, info.max, case.clusters, endpoint=True)
    else:
        preds_values = target_values = None
    if device == "cuda":
        generator = torch.Generator(device="cuda").manual_seed(SEED)
        labels = []
        for values in (preds_values, target_values):
            index = torch.randint(0, case.clusters, (case.size,), generator=generator, device="cuda")
            labels.append(torch.from_numpy(values).cuda()[index] if case.spread else index)
        preds, target = (x.to(getattr(torch, case.dtype)) for x in labels)
        return Inputs(preds, target, None, None)
    arrays = []
    for values in (preds_values, target_values):
        index = rng.integers(0, case.clusters, case.size)
        arrays.append((values[index] if case.spread else index).astype(case.dtype))
    return Inputs(torch.from_numpy(arrays[0]), torch.from_numpy(arrays[1]), arrays[0], arrays[1])


# The intrinsic table: the embedding metrics at N=1e6, d=64, K=100, the silhouette at
# N=3e4, d=32, K=20, and the cluster accuracy on 4e6 labels of 2000 clusters a side.
INTRINSIC_METRICS = ("calinski_harabasz_score", "davies_bouldin_score", "dunn_index")
INTRINSIC_CASE, INTRINSIC_QUICK_CASE = (10**6, 64, 100), (10**5, 16, 50)
SILHOUETTE_CASE, SILHOUETTE_QUICK_CASE = (30_000, 32, 20), (5_000, 16, 10)
ACCURACY_CASE, ACCURACY_QUICK_CASE = (4 * 10**6, 2000), (10**6, 500)

# The family table: every metric at N=1e7, K=1000 (--quick: N=1e6), and the
# adjusted MI at N=1e6 with 2000 clusters a side, the case of its targets.
FAMILY_SIZE, FAMILY_QUICK_SIZE, FAMILY_CLUSTERS = 10**7, 10**6, 1000
AMI_CASE = ("int64", 10**6, 2000)


def make_cases(args: argparse.Namespace) -> List[Case]:
    if args.intrinsic:
        size, dims, k = INTRINSIC_QUICK_CASE if args.quick else INTRINSIC_CASE
        silhouette = SILHOUETTE_QUICK_CASE if args.quick else SILHOUETTE_CASE
        accuracy = ACCURACY_QUICK_CASE if args.quick else ACCURACY_CASE
        return ([Case("float32", size, k, metric=metric, dimensions=dims) for metric in INTRINSIC_METRICS]
                + [Case("float32", silhouette[0], silhouette[2], metric="silhouette_score", dimensions=silhouette[1]),
                   Case("int64", *accuracy, metric="cluster_accuracy")])
    if args.hardening:
        size = HARDENING_QUICK_SIZE if args.quick else HARDENING_SIZE
        return [Case("int64", size, 0, layout=layout) for layout in HARDENING_LAYOUTS]
    if args.family:
        size = FAMILY_QUICK_SIZE if args.quick else FAMILY_SIZE
        return [Case("int64", size, FAMILY_CLUSTERS, metric=metric) for metric in METRICS] + [
            Case(*AMI_CASE, metric="adjusted_mutual_info_score")
        ]
    cases = [Case(dtype, size, k, metric=args.metric) for dtype in args.dtypes for k in args.clusters
             for size in args.sizes]
    if args.spread:
        spread_sizes = sorted(size for size in args.sizes if size <= SPREAD_MAX_SIZE) or [min(args.sizes)]
        if args.quick:
            spread_sizes = spread_sizes[-1:]  # one spread case, the largest: the target's is N=1e6
        cases += [Case("int64", size, SPREAD_CLUSTERS, spread=True, metric=args.metric) for size in spread_sizes]
    return cases


# ----------------------------------------------------------------------------- implementations


def numpy_dense_mi(preds: np.ndarray, target: np.ndarray) -> float:
    """MI from a dense contingency table counted by one ``np.bincount`` over a combined key."""
    preds_min, target_min = preds.min(), target.min()
    target_range = int(target.max()) - int(target_min) + 1
    preds_range = int(preds.max()) - int(preds_min) + 1
    key = (preds - preds_min) * target_range + (target - target_min)
    counts = np.bincount(key, minlength=preds_range * target_range).reshape(preds_range, target_range)
    rows, cols = np.nonzero(counts)
    pair_counts = counts[rows, cols]
    total = preds.size
    log_ratio = np.log(pair_counts) + math.log(total) - np.log(counts.sum(1)[rows]) - np.log(counts.sum(0)[cols])
    return float(np.sum(pair_counts / total * log_ratio))


def unique_floor(inputs: Inputs) -> None:
    """What torchmetrics and most code do first: each side's distinct labels and every sample's index."""
    torch.unique(inputs.preds, return_inverse=True)
    torch.unique(inputs.target, return_inverse=True)


def read_floor(inputs: Inputs) -> None:
    # Summing in the input dtype keeps it one read pass: a plain int32 sum()
    # first casts to int64, which costs ~9x more. Overflow does not matter here.
    inputs.preds.sum(dtype=inputs.preds.dtype)
    inputs.target.sum(dtype=inputs.target.dtype)


def sklearn_cluster_accuracy(preds: np.ndarray, target: np.ndarray) -> float:
    """The cluster accuracy as scikit-learn and scipy give it: the contingency matrix, then the assignment."""
    from scipy.optimize import linear_sum_assignment

    table = sklearn_metrics.cluster.contingency_matrix(target, preds)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return table[rows, cols].sum() / len(preds)


def intrinsic_implementation(impl: str, metric: str) -> Callable[[Inputs], object]:
    """The call that `impl` makes to compute an intrinsic metric (data, labels) or the cluster accuracy."""
    if metric == "cluster_accuracy":
        if impl == "ours":
            return lambda x: cm_functional.cluster_accuracy(x.preds, x.target)
        if impl == "torchmetrics":
            return lambda x: torchmetrics_clustering.cluster_accuracy(x.preds, x.target, int(x.preds.max()) + 1)
        return lambda x: sklearn_cluster_accuracy(x.preds_np, x.target_np)
    if impl == "ours":
        fn = getattr(cm_functional, metric)
        return lambda x: fn(x.data, x.preds)
    if impl == "torchmetrics":
        fn = getattr(torchmetrics_clustering, metric)
        return lambda x: fn(x.data, x.preds)
    fn = getattr(sklearn_metrics, metric)
    return lambda x: fn(x.data_np, x.preds_np)


def implementation(impl: str, metric: str) -> Callable[[Inputs], object]:
    """The call that `impl` makes to compute `metric` (every peer takes the same labels)."""
    if metric in INTRINSIC_METRICS + ("silhouette_score", "cluster_accuracy"):
        return intrinsic_implementation(impl, metric)
    if impl == "ours":
        fn = getattr(cm_functional, metric)
        return lambda x: fn(x.preds, x.target)
    if impl == "mi":
        return lambda x: cm_functional.mutual_info_score(x.preds, x.target)
    if impl == "op":
        if metric == "mutual_info_score":
            return lambda x: cm_ops.mutual_info_score(x.preds, x.target)
        expected = metric in formulas.NEEDS_EXPECTED_MUTUAL_INFO
        needs_mi = metric in formulas.NEEDS_MUTUAL_INFO
        return lambda x: cm_ops.contingency_summary(x.preds, x.target, None, expected, needs_mi)
    if impl == "torchmetrics":
        fn = getattr(torchmetrics_clustering, metric)
        return lambda x: fn(x.preds, x.target)
    if impl == "sklearn":
        fn = getattr(sklearn_metrics, SKLEARN_NAMES.get(metric, metric))
        return lambda x: fn(x.target_np, x.preds_np)
    if impl == "numpy":
        return lambda x: numpy_dense_mi(x.preds_np, x.target_np)
    if impl == "unique":
        return unique_floor
    return read_floor


def expected_mutual_info_terms(case: Case) -> float:
    """About how many hypergeometric terms the peers' expected-MI loops take: sum over cluster
    pairs of min(a, b), for K equal clusters a side."""
    distinct = min(case.clusters, case.size)
    return distinct * distinct * max(case.size / distinct, 1.0)


# Measured per hypergeometric term of the expected MI, with three lgamma calls each:
# scikit-learn's compiled loop, and torchmetrics' Python loop of tensor operations.
SKLEARN_SECONDS_PER_TERM = 45e-9
TORCHMETRICS_SECONDS_PER_TERM = 30e-6
PEER_BUDGET_S = 150.0


def available_memory_bytes(device: str) -> int:
    if device == "cuda":
        return torch.cuda.mem_get_info()[0]
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def skip_reason(impl: str, case: Case, inputs: Inputs, device: str) -> Optional[str]:
    """Why `impl` cannot run `case`, predicted before trying, or None."""
    if impl == "torchmetrics" and torchmetrics_clustering is None:
        return "torchmetrics not installed"
    if impl == "sklearn" and sklearn_metrics is None:
        return "scikit-learn not installed"
    if impl in ("sklearn", "numpy") and device != "cpu":
        return "CPU-only peer"
    if impl == "torchmetrics" and case.metric == "silhouette_score":
        return "torchmetrics has no silhouette"
    if impl == "sklearn" and case.metric == "dunn_index":
        return "scikit-learn has no Dunn index"
    if impl == "torchmetrics" and case.metric == "cluster_accuracy":
        try:
            import torch_linear_assignment  # noqa: F401  (torchmetrics' cluster accuracy needs it)
        except ImportError:
            return "needs torch_linear_assignment, not installed"
    if case.dimensions:
        return None
    if impl == "numpy" and case.metric != "mutual_info_score":
        return "MI only"
    if case.metric in formulas.NEEDS_EXPECTED_MUTUAL_INFO and impl in ("sklearn", "torchmetrics"):
        per_term = SKLEARN_SECONDS_PER_TERM if impl == "sklearn" else TORCHMETRICS_SECONDS_PER_TERM
        predicted_s = expected_mutual_info_terms(case) * per_term
        if predicted_s > PEER_BUDGET_S:
            return f"expected-MI loop of ~{expected_mutual_info_terms(case):.0e} terms, predicted {predicted_s:.0f} s"
    if impl == "torchmetrics":
        # torchmetrics densifies its K_u x K_v int64 contingency table.
        distinct = case.size if case.layout in ("distinct", "constant+distinct") else min(case.clusters, case.size)
        table_bytes = distinct * distinct * 8
        if table_bytes > available_memory_bytes(device):
            return f"dense {distinct}x{distinct} table needs {_format_bytes(table_bytes)} > available memory"
    if impl == "numpy":
        cells = 1
        for labels in (inputs.preds_np, inputs.target_np):
            cells *= int(labels.max()) - int(labels.min()) + 1
        if cells > NUMPY_MAX_CELLS:
            return f"dense table of {cells:.1e} cells > 2^26"
    return None


# ----------------------------------------------------------------------------- measurement


class CpuMeter:
    """Peak RSS growth of this process, from VmHWM after resetting it through /proc/self/clear_refs."""

    def __init__(self) -> None:
        # The first parallel region starts OpenMP's threads; start them before the baseline.
        torch.ones(1 << 20).sum()

    @staticmethod
    def _status_bytes(field: str) -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc/self/status")

    def start(self) -> None:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current VmRSS
        self._baseline = self._status_bytes("VmRSS")

    def peak_extra_bytes(self) -> int:
        return self._status_bytes("VmHWM") - self._baseline

    @staticmethod
    def timed(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


class CudaMeter:
    """Peak growth of the CUDA caching allocator's allocated bytes; times by CUDA events."""

    def start(self) -> None:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        self._baseline = torch.cuda.memory_allocated()

    def peak_extra_bytes(self) -> int:
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - self._baseline

    @staticmethod
    def timed(fn: Callable[[], object]) -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3


def _as_float(value: object) -> Optional[float]:
    if value is None or isinstance(value, tuple):  # the floor returns nothing, the summary op a tuple
        return None
    return float(value.item() if isinstance(value, torch.Tensor) else value)


def measure(impls: Sequence[str], metric: str, inputs: Inputs, meter: Union[CpuMeter, CudaMeter], repeats: int,
            min_time_s: float) -> Dict[str, dict]:
    """Probe call of each implementation (memory, warm-up and budget), then their timed calls in rounds.

    Each round times every implementation once, in turn, so implementations measured together see the
    same spells of a busy machine. Rounds continue until there are `repeats` of them and they took
    `min_time_s`, so a short stall cannot carry a median on its own.
    """
    outcomes, timed = {}, []
    calls = {impl: implementation(impl, metric) for impl in impls}
    for impl in impls:
        fn = calls[impl]
        outputs = []
        meter.start()
        probe_s = meter.timed(lambda: outputs.append(fn(inputs)))
        outcome = {"times_s": [], "peak": meter.peak_extra_bytes(), "value": _as_float(outputs.pop()), "note": ""}
        if probe_s > CALL_BUDGET_S:
            outcome.update(times_s=[probe_s], note=f"single cold call > {CALL_BUDGET_S:.0f} s")
        elif probe_s > SLOW_CALL_S:
            outcome["times_s"] = [meter.timed(lambda: fn(inputs))]
        else:
            timed.append(impl)
        outcomes[impl] = outcome
    spent_s, rounds = 0.0, 0
    while timed and rounds < MAX_ROUNDS and (rounds < repeats or spent_s < min_time_s):
        for impl in timed:
            seconds = meter.timed(lambda: calls[impl](inputs))
            outcomes[impl]["times_s"].append(seconds)
            spent_s += seconds
        rounds += 1
    for impl in timed:
        others = " and ".join(other for other in timed if other != impl)
        if others:
            outcomes[impl]["note"] = f"timed in alternation with {others}"
    return outcomes


def _child(connection, impls: Sequence[str], metric: str, inputs: Inputs, repeats: int, min_time_s: float) -> None:
    try:
        connection.send(measure(impls, metric, inputs, CpuMeter(), repeats, min_time_s))
    except (RuntimeError, MemoryError) as err:
        connection.send({"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"})
    connection.close()


def measure_in_child(impls: Sequence[str], metric: str, inputs: Inputs, repeats: int, min_time_s: float) -> dict:
    """`measure` in a forked child: its peak RSS is its own, and a crash or OOM kill is reported, not fatal."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, impls, metric, inputs, repeats, min_time_s))
    child.start()
    sender.close()
    if not receiver.poll(CHILD_TIMEOUT_S):
        child.kill()
        child.join()
        return {"error": f"killed after {CHILD_TIMEOUT_S:.0f} s"}
    try:
        message = receiver.recv()
    except EOFError:
        message = None
    child.join()
    if message is None:
        signal = -child.exitcode if child.exitcode and child.exitcode < 0 else None
        cause = f"killed by signal {signal} (out of memory?)" if signal else f"exited with code {child.exitcode}"
        return {"error": f"child {cause}"}
    return message


def timing_groups(peers: Sequence[str]) -> List[List[str]]:
    """Implementations measured together. Ours is timed in alternation with the floors and with our
    MI, because the targets compare them: timed apart, a busy spell that hits only one of them skews
    the ratio."""
    references = [impl for impl in ("mi", "floor", "unique") if impl in peers]
    if "ours" in peers and references:
        return [["ours", *references]] + [[impl] for impl in peers if impl not in ("ours", *references)]
    return [[impl] for impl in peers]


def run_group(impls: Sequence[str], case: Case, inputs: Inputs, device: str, repeats: int,
              min_time_s: float) -> List[Result]:
    skipped = {impl: skip_reason(impl, case, inputs, device) for impl in impls}
    runnable = [impl for impl in impls if not skipped[impl]]
    outcomes = {}
    if runnable and device == "cpu":
        outcomes = measure_in_child(runnable, case.metric, inputs, repeats, min_time_s)
    elif runnable:
        try:
            outcomes = measure(runnable, case.metric, inputs, CudaMeter(), repeats, min_time_s)
        except (RuntimeError, MemoryError) as err:  # torch.OutOfMemoryError is a RuntimeError
            torch.cuda.empty_cache()
            outcomes = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"}
    results = []
    for impl in impls:
        reason = skipped[impl] or outcomes.get("error")
        if reason:
            results.append(Result(device, case, impl, [], skipped=reason))
            continue
        outcome = outcomes[impl]
        results.append(Result(device, case, impl, outcome["times_s"], outcome["peak"], outcome["value"],
                              note=outcome["note"]))
    return results


# ----------------------------------------------------------------------------- progress


class StderrBar:
    """A minimal stand-in for tqdm: one carriage-returned line on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.description = total, 0, ""

    def set_description(self, description: str) -> None:
        self.description = description
        self._draw()

    def update(self, steps: int) -> None:
        self.done += steps
        self._draw()

    def _draw(self) -> None:
        filled = 30 * self.done // max(self.total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {self.description:<45}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def progress_bar(total: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return StderrBar(total)
    return tqdm(total=total, unit="run", dynamic_ncols=True)


# ----------------------------------------------------------------------------- reporting


def _format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _format_bytes(count: Optional[int]) -> str:
    if count is None:
        return ""
    if abs(count) >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{count / 2**20:.1f} MiB"


def ours_by_case(results: Sequence[Result]) -> Dict[Case, Result]:
    return {r.case: r for r in results if r.impl == "ours" and r.median_s}


def relative_to_ours(result: Result, ours: Dict[Case, Result]) -> Optional[float]:
    reference = ours.get(result.case)
    if reference is None or result.median_s is None:
        return None
    return result.median_s / reference.median_s


def disagreement(result: Result, ours: Dict[Case, Result]) -> str:
    """A note when a peer's value differs from ours beyond float32 rounding (torchmetrics computes in float32)."""
    reference = ours.get(result.case)
    if reference is None or result.value is None or reference.value is None or result.impl == "mi":
        return ""  # mi is the MI, the targets' time reference, not a peer computing the same metric
    if abs(result.value - reference.value) > 1e-4 * max(1.0, abs(reference.value)):
        return f"value {result.value:.6g} differs from ours {reference.value:.6g}"
    return ""


def markdown_table(results: Sequence[Result]) -> str:
    ours = ours_by_case(results)
    lines = [
        "| case | impl | median | time / ours | peak extra memory | repeats | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.case.label} | {r.impl} | skipped: {r.skipped} | | | | |")
            continue
        ratio = relative_to_ours(r, ours)
        ratio_text = f"{ratio:.2f}x" if ratio is not None and ratio < 10 else f"{ratio:.0f}x" if ratio else ""
        note = "; ".join(filter(None, [r.note, disagreement(r, ours)]))
        lines.append(
            f"| {r.case.label} | {r.impl} | {_format_seconds(r.median_s)} | {ratio_text} "
            f"| {_format_bytes(r.peak_extra_bytes)} | {len(r.times_s)} | {note} |"
        )
    return "\n".join(lines)


def write_csv(results: Sequence[Result], path: Path) -> None:
    ours = ours_by_case(results)
    # min_s beside the median: on a busy machine the best call shows what the code can do.
    fields = ["device", "metric", "dtype", "n", "clusters", "spread", "impl", "median_s", "min_s", "repeats", "time_over_ours",
              "peak_extra_bytes", "value", "skipped", "note"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for r in results:
            writer.writerow([
                r.device, r.case.metric, r.case.dtype, r.case.size, r.case.clusters, r.case.spread, r.impl, r.median_s,
                min(r.times_s, default=None), len(r.times_s), relative_to_ours(r, ours), r.peak_extra_bytes, r.value, r.skipped or "",
                "; ".join(filter(None, [r.note, disagreement(r, ours)])),
            ])


def target_lines(results: Sequence[Result], device: str) -> List[str]:
    """The CPU performance targets at N=1e7 int64 (and spread at N=1e6), as PASS/FAIL/N/A lines."""
    if device != "cpu":
        return ["N/A  the performance targets are defined for --device cpu"]
    by_key = {(r.case, r.impl): r for r in results}

    def check(case: Case, impl: str, description: str, test: Callable[[Result, Result], tuple]) -> str:
        ours, other = by_key.get((case, "ours")), by_key.get((case, impl))
        if ours is None or other is None:
            return f"N/A   {case.label}: {description} (not in this run)"
        for name, result in (("ours", ours), (impl, other)):
            if result.skipped:
                return f"N/A   {case.label}: {description} ({name} skipped)"
        passed, measured = test(ours, other)
        return f"{'PASS' if passed else 'FAIL'}  {case.label}: {description} (measured {measured})"

    def faster_than(factor: float):
        def test(ours: Result, other: Result) -> tuple:
            speedup = other.median_s / ours.median_s
            return speedup >= factor, f"{speedup:.1f}x faster"
        return test

    def within_floor(factor: float):
        def test(ours: Result, floor: Result) -> tuple:
            ratio = ours.median_s / floor.median_s
            return ratio <= factor, f"{ratio:.2f}x floor"
        return test

    lines = []
    # K=1000's table (10^6 cells) is the costliest to count into; issue 17 set it 2x.
    for k, floor_factor in ((10, 2.5), (1000, 2.0)):
        case = Case("int64", 10**7, k)
        lines.append(check(case, "floor", f"ours <= {floor_factor:g}x floor", within_floor(floor_factor)))
        lines.append(check(case, "sklearn", "ours >= 80x faster than sklearn", faster_than(80)))
        lines.append(check(case, "torchmetrics", "ours >= 80x faster than torchmetrics", faster_than(80)))
    case = Case("int64", 10**7, 10**5)
    lines.append(check(case, "sklearn", "ours >= 20x faster than sklearn", faster_than(20)))
    input_bytes = 2 * case.size * 8

    def memory_within_inputs(ours: Result, _: Result) -> tuple:
        ratio = ours.peak_extra_bytes / input_bytes
        return ratio <= 2, f"{_format_bytes(ours.peak_extra_bytes)} = {ratio:.2f}x inputs"

    lines.append(check(case, "ours", "ours peak extra memory <= 2x input bytes", memory_within_inputs))
    case = Case("int64", 10**6, SPREAD_CLUSTERS, spread=True)
    lines.append(check(case, "sklearn", "ours >= 10x faster than sklearn", faster_than(10)))
    return lines


def family_target_lines(results: Sequence[Result], device: str) -> List[str]:
    """The family's targets: each metric but the adjusted MI within 1.2x of the MI's time at N=1e7,
    K=1000 (the MI timed in alternation with it, as the peer mi, when the run has it), and the
    adjusted MI at N=1e6, K=2000 under 2 s and 100x faster than scikit-learn."""
    if device != "cpu":
        return ["N/A  the performance targets are defined for --device cpu"]
    by_key = {(r.case, r.impl): r for r in results}
    size = max((r.case.size for r in results if r.case.clusters == FAMILY_CLUSTERS), default=FAMILY_SIZE)
    mi = by_key.get((Case("int64", size, FAMILY_CLUSTERS, metric="mutual_info_score"), "ours"))
    lines = []
    for metric in METRICS:
        if metric in ("mutual_info_score", "adjusted_mutual_info_score"):
            continue
        case = Case("int64", size, FAMILY_CLUSTERS, metric=metric)
        ours, reference = by_key.get((case, "ours")), by_key.get((case, "mi"))
        if reference is None or not reference.median_s:
            reference = mi
        if reference is None or ours is None or not reference.median_s or not ours.median_s:
            lines.append(f"N/A   {case.label}: ours <= 1.2x mutual_info_score (not in this run)")
            continue
        ratio = ours.median_s / reference.median_s
        lines.append(f"{'PASS' if ratio <= 1.2 else 'FAIL'}  {case.label}: ours <= 1.2x mutual_info_score "
                     f"(measured {ratio:.2f}x: {_format_seconds(ours.median_s)} against "
                     f"{_format_seconds(reference.median_s)})")
    case = Case(*AMI_CASE, metric="adjusted_mutual_info_score")
    ours, sklearn = by_key.get((case, "ours")), by_key.get((case, "sklearn"))
    if ours is None or not ours.median_s:
        return lines + [f"N/A   {case.label}: not in this run"]
    lines.append(f"{'PASS' if ours.median_s < 2 else 'FAIL'}  {case.label}: ours < 2 s "
                 f"(measured {_format_seconds(ours.median_s)})")
    if sklearn is None or not sklearn.median_s:
        reason = sklearn.skipped if sklearn is not None else "not in this run"
        lines.append(f"N/A   {case.label}: ours >= 100x faster than sklearn ({reason})")
    else:
        speedup = sklearn.median_s / ours.median_s
        lines.append(f"{'PASS' if speedup >= 100 else 'FAIL'}  {case.label}: ours >= 100x faster than sklearn "
                     f"(measured {speedup:.0f}x faster)")
    return lines


def hardening_target_lines(results: Sequence[Result], device: str) -> List[str]:
    """The hardening targets: all-distinct labels within 1.5x of torch.unique on both sides and within
    2x the input bytes of extra memory; a few far-apart labels, and colliding labels, within 2x of
    their benign counterparts."""
    if device != "cpu":
        return ["N/A  the performance targets are defined for --device cpu"]
    by_key = {(r.case.layout, r.impl): r for r in results}
    size = results[0].case.size if results else HARDENING_SIZE
    lines = []

    def line(passed: bool, label: str, description: str, measured: str) -> str:
        return f"{'PASS' if passed else 'FAIL'}  int64 N={_power_of_ten(size)} {label}: {description} (measured {measured})"

    for layout in ("distinct", "constant+distinct"):
        ours, unique = by_key.get((layout, "ours")), by_key.get((layout, "unique"))
        if ours is None or unique is None or not ours.median_s or not unique.median_s:
            lines.append(f"N/A   {layout}: ours <= 1.5x torch.unique on both sides (not in this run)")
            continue
        ratio = ours.median_s / unique.median_s
        lines.append(line(ratio <= 1.5, layout, "ours <= 1.5x torch.unique on both sides",
                          f"{ratio:.2f}x: {_format_seconds(ours.median_s)} against {_format_seconds(unique.median_s)}"))
        memory = ours.peak_extra_bytes / (2 * 8 * size)
        lines.append(line(memory <= 2, layout, "ours peak extra memory <= 2x input bytes",
                          f"{_format_bytes(ours.peak_extra_bytes)} = {memory:.2f}x inputs"))
    for layout, baseline in (("far pair", "near pair"), ("colliding", "random 5e4")):
        ours, benign = by_key.get((layout, "ours")), by_key.get((baseline, "ours"))
        if ours is None or benign is None or not ours.median_s or not benign.median_s:
            lines.append(f"N/A   {layout}: ours <= 2x {baseline} (not in this run)")
            continue
        ratio = ours.median_s / benign.median_s
        lines.append(line(ratio <= 2, layout, f"ours <= 2x the {baseline} case",
                          f"{ratio:.2f}x: {_format_seconds(ours.median_s)} against {_format_seconds(benign.median_s)}"))
    return lines


def intrinsic_target_lines(results: Sequence[Result], device: str) -> List[str]:
    """The clustering module's targets: CH, DB and Dunn >= 20x faster than torchmetrics and (CH, DB) >= 5x faster
    than scikit-learn; the silhouette no slower than scikit-learn with <= 1/5 of its peak extra memory; the cluster
    accuracy of a 2000 x 2000 table of 4e6 labels under 2 s."""
    if device != "cpu":
        return ["N/A  the performance targets are defined for --device cpu"]
    by_key = {(r.case.metric, r.impl): r for r in results}
    lines = []

    def line(metric: str, impl: str, description: str, test: Callable[[Result, Result], tuple]) -> None:
        ours, other = by_key.get((metric, "ours")), by_key.get((metric, impl))
        label = next((r.case.label for r in results if r.case.metric == metric), metric)
        if ours is None or other is None or not ours.median_s or (impl != "ours" and not other.median_s):
            reason = other.skipped if other is not None and other.skipped else "not in this run"
            lines.append(f"N/A   {label}: {description} ({reason})")
            return
        passed, measured = test(ours, other)
        lines.append(f"{'PASS' if passed else 'FAIL'}  {label}: {description} (measured {measured})")

    def faster(factor: float):
        return lambda ours, other: (other.median_s / ours.median_s >= factor,
                                    f"{other.median_s / ours.median_s:.1f}x faster")

    for metric in INTRINSIC_METRICS:
        line(metric, "torchmetrics", "ours >= 20x faster than torchmetrics", faster(20))
        if metric != "dunn_index":
            line(metric, "sklearn", "ours >= 5x faster than sklearn", faster(5))
    line("silhouette_score", "sklearn", "ours no slower than sklearn", faster(1))
    line("silhouette_score", "sklearn", "ours peak extra memory <= 1/5 of sklearn's",
         lambda ours, other: (5 * ours.peak_extra_bytes <= other.peak_extra_bytes,
                              f"{_format_bytes(ours.peak_extra_bytes)} against {_format_bytes(other.peak_extra_bytes)}"))
    line("cluster_accuracy", "ours", "ours < 2 s",
         lambda ours, _: (ours.median_s < 2, _format_seconds(ours.median_s)))
    return lines


def plot_family(results: Sequence[Result], path: Path, device: str) -> None:
    """Median time of each metric, one bar per implementation, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(r.case for r in results))
    # mi is ours on the MI's bar, and the same height on every other.
    impls = [impl for impl in PEERS if impl != "mi" and any(r.impl == impl and r.median_s for r in results)]
    by_key = {(r.case, r.impl): r for r in results}
    figure, axis = plt.subplots(figsize=(11, 4.8), layout="constrained")
    width = 0.8 / max(len(impls), 1)
    for k, impl in enumerate(impls):
        positions, heights = [], []
        for i, case in enumerate(cases):
            result = by_key.get((case, impl))
            if result is not None and result.median_s:
                positions.append(i + (k - (len(impls) - 1) / 2) * width)
                heights.append(result.median_s)
        axis.bar(positions, heights, width, label=impl, color=f"C{PEERS.index(impl)}")
    labels = [f"{c.metric.replace('_score', '').replace('_index', '')}\nN={_power_of_ten(c.size)} K={c.clusters}"
              + (f" d={c.dimensions}" if c.dimensions else "") for c in cases]
    axis.set_xticks(range(len(cases)), labels, rotation=30, ha="right", fontsize=8)
    axis.set(yscale="log", ylabel="median time (s)", title=f"Clustering metrics, {device}")
    axis.grid(True, axis="y", which="both", alpha=0.3)
    axis.legend()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_time_vs_size(results: Sequence[Result], path: Path, device: str) -> None:
    """Time against N, log-log, one line per implementation, one panel per K (int64 labels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtype = "int64" if any(r.case.dtype == "int64" for r in results) else results[0].case.dtype
    timed = [r for r in results if r.median_s and r.case.dtype == dtype]
    panels = sorted({(r.case.spread, r.case.clusters) for r in timed})
    columns = min(len(panels), 2)
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns + 1.5, 4 * rows), sharex=True, sharey=True,
                                squeeze=False, layout="constrained")
    # One colour per implementation across panels, and one legend for the figure, since a
    # panel lacks the implementations skipped there.
    impls = [impl for impl in PEERS if any(r.impl == impl for r in timed)]
    handles = {}
    for axis, (spread, clusters) in zip(axes.flat, panels):
        for impl in impls:
            points = sorted((r.case.size, r.median_s) for r in timed
                            if r.impl == impl and (r.case.spread, r.case.clusters) == (spread, clusters))
            if points:
                # ours and op often coincide: draw op dotted over a wider ours.
                style = {"floor": "--", "op": ":"}.get(impl, "-")
                width = 3 if impl == "ours" else 1.5
                (handles[impl],) = axis.plot(*zip(*points), style, marker="o", linewidth=width,
                                             color=f"C{PEERS.index(impl)}")
        title = f"K={_power_of_ten(clusters)}" + (" spread over int64" if spread else "")
        axis.set(xscale="log", yscale="log", title=title, xlabel="N (labels per side)")
        axis.grid(True, which="both", alpha=0.3)
    for axis in axes.flat[len(panels):]:
        axis.set_visible(False)
    for axis in axes[:, 0]:
        axis.set_ylabel("median time (s)")
    figure.legend([handles[impl] for impl in impls], impls, loc="outside right center")
    figure.suptitle(f"{results[0].case.metric}, {dtype} labels, {device}")
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ----------------------------------------------------------------------------- main


def _int_list(text: str) -> List[int]:
    return [int(float(item)) for item in text.split(",") if item]


def _name_list(allowed: Sequence[str]):
    def parse(text: str) -> List[str]:
        names = [item for item in text.split(",") if item]
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {','.join(allowed)}")
        return names
    return parse


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small matrix that runs in under a minute")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--sizes", type=_int_list, help="N values, e.g. 100000,1e6")
    parser.add_argument("--clusters", type=_int_list, help="clusters per side, e.g. 10,1000,100000")
    parser.add_argument("--dtypes", type=_name_list(("int64", "int32")))
    parser.add_argument("--metric", choices=METRICS, default="mutual_info_score",
                        help="the metric of the N x K matrix (default: mutual_info_score)")
    parser.add_argument("--family", action="store_true",
                        help="time every metric at N=1e7 (--quick: 1e6), K=1000, and the adjusted MI at N=1e6, K=2000")
    parser.add_argument("--hardening", action="store_true",
                        help="time the inputs that once made counting slow (all-distinct labels, a few far-apart "
                             "labels, colliding labels) at N=1e7 (--quick: 1e6) against their floors")
    parser.add_argument("--intrinsic", action="store_true",
                        help="time the Calinski-Harabasz, Davies-Bouldin and Dunn indices, the silhouette and the "
                             "cluster accuracy against torchmetrics and scikit-learn")
    parser.add_argument("--resampling", action="store_true",
                        help="time the bootstrap (N=1e6, K=100, 1000 resamples) and the pairwise score matrix "
                             "(M=40, N=2e5) against a naive bootstrap and a loop over pairs (benchmarks/resampling.py)")
    parser.add_argument("--peers", type=_name_list(PEERS))
    parser.add_argument("--spread", action=argparse.BooleanOptionalAction, default=True,
                        help=f"add K={SPREAD_CLUSTERS} labels spread over the whole int64 range")
    parser.add_argument("--repeats", type=int, help="least number of timed calls per implementation after its warm-up")
    parser.add_argument("--min-time", type=float, dest="min_time",
                        help="least seconds of timed calls per case and timing group (default 1, --quick 0.2)")
    parser.add_argument("--out", type=Path, default=_CHECKOUT / "benchmarks" / "results",
                        help="output folder (default: benchmarks/results)")
    args = parser.parse_args(argv)
    if args.peers is None:
        args.peers = (["ours", "mi", "op", "torchmetrics", "sklearn"] if args.family else
                      ["ours", "torchmetrics", "sklearn"] if args.intrinsic else
                      ["ours", "unique", "floor"] if args.hardening else [p for p in PEERS if p not in ("mi", "unique")])
    defaults = QUICK_DEFAULTS if args.quick else DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch.cuda.is_available() is False")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.resampling:
        # Its own script: it times in this process, with no forked children.
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import resampling

        args.out = args.out / "resampling"
        sys.exit(resampling.run(args))
    if args.hardening:
        # Read by the library at its first hashing, which happens in the forked children.
        os.environ["CLUSTERING_METRICS_HASH_SEED"] = str(HASH_SEED)
    cases = make_cases(args)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results = []
    bar = progress_bar(len(cases) * len(args.peers))
    for case in cases:
        inputs = make_inputs(case, args.device)
        case_results = []
        for group in timing_groups(args.peers):
            bar.set_description(f"{case.label} {' + '.join(group)}")
            case_results += run_group(group, case, inputs, args.device, args.repeats, args.min_time)
            bar.update(len(group))
        results += sorted(case_results, key=lambda r: args.peers.index(r.impl))
        del inputs
    bar.close()
    elapsed = time.perf_counter() - started
    # Other jobs on a small machine stall the kernels' threads: say how busy it was.
    load = f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end"

    args.out.mkdir(parents=True, exist_ok=True)
    threads = "" if args.device == "cuda" else f", {torch.get_num_threads()} torch threads"
    alternated = "".join(f"; ours and {name} are timed in alternation" for impl, name in
                         (("floor", "the floor"), ("unique", "torch.unique"), ("mi", "our MI (mi)"))
                         if "ours" in args.peers and impl in args.peers)
    title = ("Clustering metrics family" if args.family else "Hardening" if args.hardening else
             "Clustering module (intrinsic metrics and cluster accuracy)" if args.intrinsic else args.metric)
    header = (
        f"# {title} benchmark ({args.device}{threads})\n\n"
        f"clustering_metrics from `{Path(clustering_metrics.__file__).parent}`, torch {torch.__version__}; "
        f"median of the timed calls after a warm-up call: at least {args.repeats} and at least "
        f"{args.min_time:g} s of them (1 for calls over {SLOW_CALL_S:.0f} s){alternated}; "
        f"run took {elapsed:.0f} s; {load}.\n\n"
        "`time / ours` is the median time divided by ours (the functional): above 1, ours is faster. "
        "`peak extra memory` is the peak growth, during one call, of "
        + ("the CUDA allocator's allocated bytes.\n" if args.device == "cuda" else "the RSS of a forked child.\n")
    )
    targets = "\n".join(intrinsic_target_lines(results, args.device) if args.intrinsic else
                         family_target_lines(results, args.device) if args.family else
                         hardening_target_lines(results, args.device) if args.hardening else
                         target_lines(results, args.device) if args.metric == "mutual_info_score" else
                         ["N/A  the targets of a single metric are defined for mutual_info_score (and --family)"])
    table = markdown_table(results)
    print(f"\n{table}\n\nTargets:\n{targets}\n\n{load}")
    (args.out / "results.md").write_text(f"{header}\n{table}\n\n## Targets\n\n```\n{targets}\n```\n")
    write_csv(results, args.out / "results.csv")
    plot_name = ("family.png" if args.family else "intrinsic.png" if args.intrinsic else None if args.hardening
                 else "time_vs_n.png")
    if args.family or args.intrinsic:
        plot_family(results, args.out / plot_name, args.device)
    elif plot_name:
        plot_time_vs_size(results, args.out / plot_name, args.device)
    print(f"wrote {args.out / 'results.md'}, results.csv{' and ' + plot_name if plot_name else ''}; took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
