"""Error bars and comparisons from the histogram: bootstrap confidence intervals and pairwise score matrices.

**The bootstrap.** Resampling N samples with replacement and counting their
label pairs gives the contingency table a multinomial draw over its cells,
with the cells' shares as probabilities. :func:`bootstrap_scores` draws each
resample that way (:func:`clustering_metrics.ops.bootstrap_counts`: O(cells)
a resample, not O(N)), scores it exactly as the functionals score a table
(one contingency summary of the resampled histogram), and reads the interval
off the resamples' scores:

* ``"percentile"``: the ``(1 - confidence_level) / 2`` and ``(1 +
  confidence_level) / 2`` quantiles of the resamples' scores, linearly
  interpolated (as ``numpy.percentile`` and ``scipy.stats.bootstrap``);
* ``"bca"``: Efron's bias-corrected and accelerated interval, whose levels
  are moved by the bias ``z0 = Phi^-1(share of resamples below the score,
  ties counted half)`` and the acceleration ``a`` from the jackknife. A
  leave-one-out table differs from the table in one cell and its row and
  column totals, so the jackknife takes one summary per distinct (cell
  count, row total, column total), weighed by how many samples leave it.

The same seed gives the same resamples, bit for bit, at any thread count;
resample ``b`` is Philox stream ``b`` under the seed.

**Pairwise scores.** :func:`pairwise_scores` ranks each of M labelings once,
into the narrowest integer type that holds its ranks, and summarises each
pair of them from those ids: ranks are dense, so the summary op's counting
plan indexes them directly, in one pass over the pair, with no labels to
rank again.
"""

import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

import torch
from torch import Tensor

from clustering_metrics import formulas, ops
from clustering_metrics.formulas.assignment import cluster_accuracy_of_cells
from clustering_metrics.summary import ContingencySummary, contingency_summary, stack_summaries

__all__ = [
    "BOOTSTRAP_METHODS",
    "BootstrapInterval",
    "bootstrap_cluster_accuracy",
    "bootstrap_histogram",
    "bootstrap_scores",
    "bootstrap_tables",
    "pairwise_scores",
]

BOOTSTRAP_METHODS = ("percentile", "bca")

# Resamples are drawn and scored a block at a time (at most this many cells,
# 32 MiB of int64, and this many summaries), so that memory holds one block
# and the scores, whatever num_resamples is; the blocks change no bit
# (resample b is stream b).
_RESAMPLE_BLOCK_ENTRIES = 1 << 22
_RESAMPLE_BLOCK_ROWS = 4096

# torch.quantile's limit on its input, which holds one score per resample.
_MAX_RESAMPLES = 1 << 24

# A summary (batched) to named scores; count vectors of a histogram's cells to named scores, one each.
Scorer = Callable[[ContingencySummary], Dict[str, Tensor]]
TableScorer = Callable[[List[Tensor]], Dict[str, Tensor]]
T = TypeVar("T")
U = TypeVar("U")


class BootstrapInterval(NamedTuple):
    """A metric's value with its bootstrap confidence interval (torch's default float dtype).

    ``value`` is the metric on the data; ``low`` and ``high`` are the
    interval's ends, NaN (with a warning) when the resamples cannot place
    them: a resample whose score is not finite, or a BCa interval whose
    resamples all lie on one side of the value; ``standard_error`` is
    the standard deviation of the resamples' scores; ``replicates`` holds the
    ``num_resamples`` resamples' scores, in stream order.
    """

    value: Tensor
    low: Tensor
    high: Tensor
    standard_error: Tensor
    replicates: Tensor


def check_bootstrap_arguments(num_resamples: int, confidence_level: float, seed: Optional[int], method: str) -> int:
    """Check the bootstrap's arguments; returns the seed (drawn from torch's global generator when None)."""
    if (not isinstance(num_resamples, numbers.Integral) or isinstance(num_resamples, bool)
            or not 1 <= num_resamples <= _MAX_RESAMPLES):
        raise ValueError(f"Expected `num_resamples` to be an integer in [1, 2^24] but got {num_resamples!r}.")
    if (not isinstance(confidence_level, numbers.Real) or isinstance(confidence_level, bool)
            or not 0 < confidence_level < 1):
        raise ValueError(f"Expected `confidence_level` to be a number in (0, 1) but got {confidence_level!r}.")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"Expected `method` to be one of {', '.join(map(repr, BOOTSTRAP_METHODS))} but got {method!r}.")
    if seed is None:
        return int(torch.empty((), dtype=torch.int64).random_())
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"Expected `seed` to be None or an integer in [0, 2^63) but got {seed!r}.")
    return int(seed)


def _parallel_map(function: Callable[[T], U], items: Sequence[T], device: torch.device) -> List[U]:
    """[function(item) for item in items], spread over threads on the CPU.

    The ops release the GIL, so tables too small to split across torch's
    threads are scored side by side in a pool of as many Python threads.
    Each is computed alone, so the pool changes no bit.
    """
    workers = torch.get_num_threads() if device.type == "cpu" else 1
    if workers < 2 or len(items) < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


def _summary_scorer(pred_labels: Tensor, target_labels: Tensor, scorer: Scorer,
                    expected_mutual_info: bool) -> TableScorer:
    """Scores count vectors of the histogram's cells through their summaries, stacked into one batch."""

    def score(tables: List[Tensor]) -> Dict[str, Tensor]:
        summaries = _parallel_map(
            lambda table: contingency_summary(pred_labels, target_labels, table, expected_mutual_info), tables,
            pred_labels.device)
        return scorer(stack_summaries(summaries))

    return score


def _scores_in_blocks(score_tables: TableScorer, tables_at: Callable[[int, int], Tensor], count: int,
                      width: int) -> Dict[str, Tensor]:
    """{name: scores of tables 0..count-1}, formed (tables_at(first, rows)) and scored a block at a time."""
    per_block = max(1, min(_RESAMPLE_BLOCK_ROWS, _RESAMPLE_BLOCK_ENTRIES // max(width, 1)))
    parts: Dict[str, List[Tensor]] = {}
    for first in range(0, count, per_block):
        for name, scores in score_tables(list(tables_at(first, min(per_block, count - first)))).items():
            parts.setdefault(name, []).append(scores.to(torch.float64))
    return {name: torch.cat(scores) for name, scores in parts.items()}


def _leave_one_out_tables(counts: Tensor, cells: Tensor) -> Callable[[int, int], Tensor]:
    def tables_at(first: int, rows: int) -> Tensor:
        tables = counts.repeat(rows, 1)
        tables[torch.arange(rows, device=counts.device), cells[first:first + rows]] -= 1
        return tables

    return tables_at


def _distinct_cell_margins(pred_labels: Tensor, target_labels: Tensor, counts: Tensor) -> Tuple[Tensor, Tensor]:
    """(cells, weights): a cell for each distinct (cell count, row total, column total), and its samples.

    Every slot of a summary is a sum over cells, rows and columns (or, for the
    expected MI, a function of the totals), so leaving out a sample changes it
    only through its cell's count and its row's and column's totals: cells
    with the same three give the same scores (up to rounding), and one
    leave-one-out table serves them all, weighed by how many samples leave them.
    """
    cells = torch.nonzero(counts).flatten()
    cell_counts = counts[cells]
    pred_ids, pred_clusters = ops.rank_labels(pred_labels[cells])
    target_ids, target_clusters = ops.rank_labels(target_labels[cells])
    row_totals = torch.zeros(pred_clusters.numel(), dtype=torch.int64, device=counts.device)
    col_totals = torch.zeros(target_clusters.numel(), dtype=torch.int64, device=counts.device)
    row_totals.index_add_(0, pred_ids, cell_counts)
    col_totals.index_add_(0, target_ids, cell_counts)
    triples = torch.stack([cell_counts, row_totals[pred_ids], col_totals[target_ids]], dim=1)
    distinct, group = torch.unique(triples, dim=0, return_inverse=True)
    weights = torch.zeros(distinct.shape[0], dtype=torch.int64, device=counts.device).index_add_(0, group, cell_counts)
    first_cell = torch.full((distinct.shape[0],), counts.numel(), dtype=torch.int64, device=counts.device)
    first_cell.scatter_reduce_(0, group, cells, reduce="amin")
    return first_cell, weights


def _every_cell(counts: Tensor) -> Tuple[Tensor, Tensor]:
    cells = torch.nonzero(counts).flatten()
    return cells, counts[cells]


def _acceleration(values: Tensor, weights: Tensor) -> Tensor:
    # Efron's a from the jackknife values, each repeated weights times.
    weights = weights.to(torch.float64)
    deviations = (weights * values).sum() / weights.sum() - values
    squares = (weights * deviations**2).sum()
    skew = (weights * deviations**3).sum()
    return torch.where(squares > 0, skew / (6 * squares**1.5), torch.zeros_like(squares))


def _interval(value: Tensor, replicates: Tensor, confidence_level: float, jackknife: Optional[Tuple[Tensor, Tensor]],
              name: str) -> Tuple[Tensor, Tensor]:
    tail = (1 - confidence_level) / 2
    levels = torch.tensor([tail, 1 - tail], dtype=torch.float64, device=replicates.device)
    placed = torch.isfinite(replicates).all()
    if jackknife is not None:
        below = ((replicates < value).sum() + (replicates <= value).sum()).to(torch.float64)
        bias = torch.special.ndtri(below / (2 * replicates.numel()))
        acceleration = _acceleration(*jackknife)
        z = torch.special.ndtri(levels)
        levels = torch.special.ndtr(bias + (bias + z) / (1 - acceleration * (bias + z)))
        placed = placed & torch.isfinite(bias) & torch.isfinite(levels).all()
    if not bool(placed):
        warnings.warn(f"bootstrap of {name}: the resamples cannot place the interval (every resample on one side "
                      "of the value, or a resample without a finite score); its ends are NaN.", stacklevel=4)
        nan = torch.full((), float("nan"), dtype=torch.float64, device=replicates.device)
        return nan, nan
    low, high = torch.quantile(replicates, levels)
    return low, high


def bootstrap_tables(
    counts: Tensor,
    score_tables: TableScorer,
    jackknife_cells: Callable[[], Tuple[Tensor, Tensor]],
    num_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: Optional[int] = None,
    method: str = "percentile",
    dtype: Optional[torch.dtype] = None,
) -> Dict[str, BootstrapInterval]:
    """The bootstrap of any scores of a histogram: intervals of ``score_tables`` over resamples of ``counts``.

    ``score_tables`` maps a list of count vectors (of the histogram's cells)
    to named float tensors of one score per vector; ``jackknife_cells``
    gives the leave-one-out tables BCa needs, as (cells, weights): a table
    for each cell, weighed by the samples it stands for. Results are in
    ``dtype`` (default: torch's default float dtype).
    """
    seed = check_bootstrap_arguments(num_resamples, confidence_level, seed, method)
    if counts.numel() == 0 or not bool(counts.sum() > 0):
        raise ValueError("bootstrap: there are no samples to resample.")
    width = counts.numel()
    values = {name: scores[0].to(torch.float64) for name, scores in score_tables([counts]).items()}
    replicates = _scores_in_blocks(score_tables, lambda first, rows: ops.bootstrap_counts(counts, rows, seed, first),
                                   num_resamples, width)
    jackknife = None
    if method == "bca":
        cells, weights = jackknife_cells()
        jackknife = _scores_in_blocks(score_tables, _leave_one_out_tables(counts, cells), cells.numel(), width)
    dtype = dtype or torch.get_default_dtype()
    intervals = {}
    for name, value in values.items():
        scores = replicates[name]
        low, high = _interval(value, scores, confidence_level,
                              None if jackknife is None else (jackknife[name], weights), name)
        standard_error = scores.std() if scores.numel() > 1 else torch.zeros_like(low)
        intervals[name] = BootstrapInterval(value.to(dtype), low.to(dtype), high.to(dtype), standard_error.to(dtype),
                                            scores.to(dtype))
    return intervals


def bootstrap_histogram(
    pred_labels: Tensor,
    target_labels: Tensor,
    counts: Tensor,
    scorer: Scorer,
    expected_mutual_info: bool,
    num_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: Optional[int] = None,
    method: str = "percentile",
    dtype: Optional[torch.dtype] = None,
) -> Dict[str, BootstrapInterval]:
    """Bootstrap intervals of the scores ``scorer`` gives a summary, for the histogram ``(pred_labels, target_labels, counts)``.

    The engine of :func:`bootstrap_scores`, of the contingency metric classes'
    ``bootstrap()`` and of the command line's ``--bootstrap``: each resample
    is summarised as the functionals summarise a table; ``scorer`` maps a
    (batched) summary to named float64 scores, and ``expected_mutual_info``
    says whether it needs the expected MI. The arguments after it are
    :func:`bootstrap_tables`'.
    """
    return bootstrap_tables(
        counts, _summary_scorer(pred_labels, target_labels, scorer, expected_mutual_info),
        lambda: _distinct_cell_margins(pred_labels, target_labels, counts),
        num_resamples, confidence_level, seed, method, dtype)


def bootstrap_cluster_accuracy(
    pred_labels: Tensor,
    target_labels: Tensor,
    counts: Tensor,
    num_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: Optional[int] = None,
    method: str = "percentile",
    dtype: Optional[torch.dtype] = None,
) -> BootstrapInterval:
    """The cluster accuracy of the histogram with its bootstrap interval (resample b as in :func:`bootstrap_scores`).

    Each resample solves its own assignment over the resampled table; the
    accuracy depends on the whole table, so BCa's jackknife takes one
    assignment per non-empty cell.
    """
    def score(tables: List[Tensor]) -> Dict[str, Tensor]:
        accuracies = _parallel_map(lambda table: cluster_accuracy_of_cells(pred_labels, target_labels, table), tables,
                                   counts.device)
        return {"cluster_accuracy": torch.stack(accuracies)}

    return bootstrap_tables(counts, score, lambda: _every_cell(counts), num_resamples, confidence_level, seed,
                            method, dtype)["cluster_accuracy"]


def bootstrap_scores(
    preds: Tensor,
    target: Tensor,
    metrics: Union[str, Sequence[str], None] = None,
    num_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: Optional[int] = None,
    method: str = "percentile",
    average_method: str = "arithmetic",
    beta: float = 1.0,
) -> Dict[str, BootstrapInterval]:
    """Each metric with a bootstrap confidence interval: ``{name: BootstrapInterval(value, low, high, ...)}``.

    The samples are resampled with replacement ``num_resamples`` times, as a
    multinomial draw over the cells of their contingency table (the module's
    docstring has the method), and every resample is scored exactly as the
    functional scores a table. ``metrics`` names the functionals to score
    (default: the nine contingency metrics); ``method`` is ``"percentile"``
    or ``"bca"``; ``seed`` (an integer in ``[0, 2^63)``) makes the resamples
    reproducible bit for bit, and None draws one from torch's global
    generator (so ``torch.manual_seed`` fixes it too). The adjusted MI costs
    an expected MI per resample, much more than the rest.

    Example (perfect agreement: every resample agrees perfectly too):
        >>> import torch
        >>> from clustering_metrics.functional import bootstrap_scores
        >>> labels = torch.tensor([0, 0, 1, 1, 2, 2])
        >>> result = bootstrap_scores(labels, labels, "adjusted_rand_score", num_resamples=100, seed=0)
        >>> result["adjusted_rand_score"].low, result["adjusted_rand_score"].high
        (tensor(1.), tensor(1.))
    """
    from clustering_metrics.functional import check_average_method, check_beta, check_cluster_labels

    check_cluster_labels(preds, target)
    check_average_method(average_method)
    check_beta(beta)
    names = formulas.metric_names(metrics)
    # Before the pass over the samples, so that a bad argument fails at once.
    seed = check_bootstrap_arguments(num_resamples, confidence_level, seed, method)
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    return bootstrap_histogram(pred_labels, target_labels, counts,
                               lambda summary: formulas.scores(summary, names, average_method, beta),
                               formulas.needs_expected_mutual_info(names), num_resamples, confidence_level, seed,
                               method)


def _labelings(labelings: Union[Tensor, Sequence[Tensor]]) -> List[Tensor]:
    from clustering_metrics.functional import check_cluster_labels

    if isinstance(labelings, Tensor):
        if labelings.dim() != 2:
            raise ValueError(f"Expected `labelings` to be a 2-d (M, N) tensor but got a {labelings.dim()}-d tensor.")
        rows = list(labelings.unbind(0))
    elif isinstance(labelings, (list, tuple)):
        rows = list(labelings)
        for index, row in enumerate(rows):
            if not isinstance(row, Tensor):
                raise TypeError(f"Expected `labelings[{index}]` to be a torch.Tensor but got {type(row).__name__}.")
    else:
        raise TypeError(f"Expected `labelings` to be a tensor or a list of tensors but got {type(labelings).__name__}.")
    if not rows:
        raise ValueError("Expected at least one labeling in `labelings` but got none.")
    for row in rows:
        check_cluster_labels(rows[0], row)
    return rows


def _smallest_id_dtype(num_ids: int) -> torch.dtype:
    # Narrow ids make the counting pass read less memory.
    for dtype in (torch.int8, torch.int16, torch.int32):
        if num_ids <= torch.iinfo(dtype).max:
            return dtype
    return torch.int64


def pairwise_scores(
    labelings: Union[Tensor, Sequence[Tensor]],
    metric: str = "adjusted_rand_score",
    average_method: str = "arithmetic",
    beta: float = 1.0,
) -> Tensor:
    """The ``(M, M)`` matrix of a metric between every two of M labelings of the same samples.

    ``labelings`` is an ``(M, N)`` integer tensor or a list of M 1-d tensors
    of length N; entry ``(i, j)`` is ``metric(labelings[i], labelings[j])``
    (``preds`` the row's labeling, ``target`` the column's), the same value
    the functional gives. ``metric`` names one of the nine contingency
    metrics' functionals (as :func:`clustering_metrics.functional.clustering_scores`
    takes them; not the cluster accuracy). Each labeling is
    ranked once; each pair is then summarised from the ranks, and scored
    from one summary for both orientations. The result has torch's default float
    dtype, on the labelings' device.

    Example (the second labeling renames the first; the third merges two clusters):
        >>> import torch
        >>> from clustering_metrics.functional import pairwise_scores
        >>> pairwise_scores(torch.tensor([[0, 0, 1, 1], [5, 5, 3, 3], [0, 0, 0, 0]]), "rand_score")
        tensor([[1.0000, 1.0000, 0.3333],
                [1.0000, 1.0000, 0.3333],
                [0.3333, 0.3333, 1.0000]])
    """
    from clustering_metrics.functional import check_average_method, check_beta

    if not isinstance(metric, str):
        raise ValueError(f"Expected `metric` to be one metric's name but got {metric!r}.")
    formulas.metric_names(metric)
    check_average_method(average_method)
    check_beta(beta)
    rows = _labelings(labelings)
    expected_mutual_info = formulas.needs_expected_mutual_info([metric])
    mutual_info = formulas.needs_mutual_info([metric])
    ids = []
    for row in rows:
        row_ids, distinct = ops.rank_labels(row)
        ids.append(row_ids.to(_smallest_id_dtype(distinct.numel())))
    count, device = len(rows), rows[0].device
    pairs = [(i, j) for i in range(count) for j in range(i, count)]

    def summarize(pair: Tuple[int, int]) -> ContingencySummary:
        i, j = pair
        return contingency_summary(ids[i], ids[j], None, expected_mutual_info, mutual_info)

    scores = torch.empty((count, count), dtype=torch.float64, device=device)
    score = formulas.METRICS[metric]
    # A block of pairs at a time, so that memory holds one block's summaries.
    for first in range(0, len(pairs), _RESAMPLE_BLOCK_ROWS):
        block = pairs[first:first + _RESAMPLE_BLOCK_ROWS]
        upper = stack_summaries(_parallel_map(summarize, block, device))
        rows_index = torch.tensor([i for i, _ in block], device=device)
        cols_index = torch.tensor([j for _, j in block], device=device)
        scores[rows_index, cols_index] = score(upper, average_method, beta).to(torch.float64)
        # One summary serves both orientations of a pair: (j, i) is its transpose.
        scores[cols_index, rows_index] = score(upper.transposed(), average_method, beta).to(torch.float64)
    return scores.to(torch.get_default_dtype())
