"""The metric classes: ``torchmetrics.Metric`` subclasses sharing one label-pair histogram state."""

import numbers
import operator
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat
from torchmetrics.utilities.plot import _AX_TYPE, _PLOT_OUT_TYPE

from clustering_metrics import formulas, ops
from clustering_metrics.functional import AverageMethod, check_average_method, check_beta, check_cluster_labels
from clustering_metrics.summary import ContingencySummary, contingency_summary

__all__ = [
    "AdjustedMutualInfoScore",
    "AdjustedRandScore",
    "ClusteringScores",
    "CompletenessScore",
    "FowlkesMallowsIndex",
    "HomogeneityScore",
    "MutualInfoScore",
    "NormalizedMutualInfoScore",
    "RandScore",
    "VMeasureScore",
]

_PRED, _TARGET, _COUNT = 0, 1, 2
_STATES = ("histogram", "pending")

# Batches smaller than this are kept as labels and counted together once this
# many have gathered: an update then costs an append, not an op call.
PENDING_LABELS = 1 << 16

# csrc/common/bounded_table.h: kMaxBoundedSlots, a table's cells plus its outside slot.
MAX_TABLE_CELLS = (1 << 32) - 1


def _as_int64(labels: Tensor) -> Tensor:
    # Every batch is stored as int64 so batches of different dtypes
    # concatenate. uint64 is reinterpreted bit for bit: the metrics only need
    # labels to stay distinct, not to keep their values.
    if labels.dtype == torch.uint64:
        return labels.view(torch.int64)
    return labels.to(torch.int64)


def _pending_batch(preds: Tensor, target: Tensor, device: torch.device) -> Tensor:
    """(n, 2) int64 label pairs, a copy: the state must not change with the caller's tensors."""
    if preds.dtype == target.dtype == torch.int64:
        return torch.stack([preds, target], dim=1).to(device)  # stack copies
    return torch.stack([_as_int64(preds), _as_int64(target)], dim=1).to(device)


def _histogram(preds: Tensor, target: Tensor, counts: Optional[Tensor] = None) -> Tensor:
    """(pairs, 3) int64 rows (pred, target, count), one per distinct pair."""
    pred, target_labels, count = ops.pair_histogram(preds, target, counts)
    return torch.stack([_as_int64(pred), _as_int64(target_labels), count], dim=1)


def _merged(levels: Sequence[Tensor]) -> Tensor:
    """Histograms merged into one with distinct pairs."""
    stacked = torch.cat(list(levels))
    return _histogram(stacked[:, _PRED].contiguous(), stacked[:, _TARGET].contiguous(), stacked[:, _COUNT].contiguous())


def _check_label_bounds(num_pred_clusters: Optional[int], num_target_clusters: Optional[int]) -> Optional[Tuple[int, int]]:
    if num_pred_clusters is None and num_target_clusters is None:
        return None
    bounds = (num_pred_clusters, num_target_clusters)
    if not all(isinstance(b, numbers.Integral) and not isinstance(b, bool) and b >= 1 for b in bounds):
        raise ValueError(
            "Expected `num_pred_clusters` and `num_target_clusters` to be given together, as positive integers, "
            f"but got {num_pred_clusters!r} and {num_target_clusters!r}."
        )
    # Python ints before the product: numpy integers would wrap around.
    num_pred_clusters, num_target_clusters = operator.index(num_pred_clusters), operator.index(num_target_clusters)
    if num_pred_clusters * num_target_clusters >= MAX_TABLE_CELLS:
        raise ValueError(
            f"Expected num_pred_clusters x num_target_clusters below 2^32 - 1 but got {num_pred_clusters} x "
            f"{num_target_clusters}; for more cells, leave the bounds out."
        )
    return num_pred_clusters, num_target_clusters


class ContingencyMetric(Metric):
    """Base of every metric here: the state is the label-pair histogram of everything seen since the last reset.

    Instead of keeping every label of the epoch, the state holds histograms,
    ``(pred, target, count)`` int64 rows, so memory grows with the number of
    distinct pairs, not with the samples:

    * ``histogram``: histograms of distinct pairs kept as a log-structured
      list, each under half the size of the one before, so that an update
      merges into small ones only and the list holds under twice the rows of
      one merged histogram;
    * ``pending``: the label pairs of recent small batches, (n, 2) int64
      rows (at most ``PENDING_LABELS`` in all), counted together when they
      fill up.

    Updates therefore cost O(batch) amortised, whatever the state's size, and
    ``compute()`` counts everything exactly. The states have the same names
    and contents in every subclass, so torchmetrics' compute groups let a
    ``MetricCollection`` of any of them keep one state and count each batch
    once. A subclass only says how to score a
    :class:`~clustering_metrics.summary.ContingencySummary`.

    ``compute()`` before any ``update()`` scores empty input (e.g. MI 0), with
    torchmetrics' warning that compute was called before update.

    **Known label bounds.** Given ``num_pred_clusters`` and
    ``num_target_clusters`` (labels in ``[0, num_pred_clusters)`` and
    ``[0, num_target_clusters)``), the state is instead ``table``, a dense
    int64 contingency table of ``num_pred_clusters * num_target_clusters``
    cells plus one count of samples with a label outside the bounds, summed
    across ranks. An ``update()`` is then one kernel launch
    (:func:`clustering_metrics.ops.count_into_table`) that never
    synchronises with the GPU, so it can run inside a captured CUDA graph;
    ``compute()`` raises if any label was outside the bounds. The table
    takes ``8 * num_pred_clusters * num_target_clusters`` bytes.
    """

    is_differentiable: bool = False
    full_state_update: bool = False
    needs_expected_mutual_info: bool = False

    def __init__(
        self, num_pred_clusters: Optional[int] = None, num_target_clusters: Optional[int] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.label_bounds = _check_label_bounds(num_pred_clusters, num_target_clusters)
        if self.label_bounds is not None:
            num_pred, num_target = self.label_bounds
            self.add_state("table", default=torch.zeros(num_pred * num_target + 1, dtype=torch.int64), dist_reduce_fx="sum")
            return
        # List states so torchmetrics gathers ranks of different sizes; each
        # always holds one int64 tensor (possibly empty) so that a rank that
        # saw no data still sends int64, not torchmetrics' float placeholder.
        for name in _STATES:
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self._reset_states()

    def _reset_states(self) -> None:
        self.histogram = [torch.empty((0, 3), dtype=torch.int64, device=self.device)]
        self.pending = [torch.empty((0, 2), dtype=torch.int64, device=self.device)]
        # [the list, its length, its labels] when last counted; changed in
        # place, since setting a module attribute costs more than an update.
        self._pending_count = [self.pending, 1, 0]

    def reset(self) -> None:
        super().reset()
        if self.label_bounds is None:
            self._reset_states()

    def _state_device(self) -> torch.device:
        return self.histogram[0].device if self.histogram else self.device

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch of labels."""
        check_cluster_labels(preds, target)
        if self.label_bounds is not None:
            device = self.table.device
            ops.count_into_table(preds.to(device), target.to(device), self.table, *self.label_bounds)
            return
        device = self._state_device()
        if preds.numel() >= PENDING_LABELS:
            self._push_level(_histogram(preds, target).to(device))
            return
        self.pending.append(_pending_batch(preds, target, device))
        if self._pending_labels() >= PENDING_LABELS:
            self._count_pending()

    def _pending_labels(self) -> int:
        # Counts only what was appended since the last call, unless
        # torchmetrics replaced the list (sync, to(), load_state_dict).
        count = self._pending_count
        if count[0] is not self.pending or count[1] > len(self.pending):
            count[:] = [self.pending, 0, 0]
        count[2] += sum(p.shape[0] for p in self.pending[count[1]:])
        count[1] = len(self.pending)
        return count[2]

    def _count_pending(self) -> None:
        pending = torch.cat(self.pending)
        self.pending = [pending[:0].clone()]
        self._push_level(_histogram(pending[:, _PRED].contiguous(), pending[:, _TARGET].contiguous()))

    def _push_level(self, level: Tensor) -> None:
        # Merge while the last histogram is at least half the one before: the
        # sizes then at least halve along the list, so it holds under twice
        # the rows of the first, and each row is merged O(log) times.
        levels = [h for h in self.histogram if h.shape[0] > 0] + [level]
        while len(levels) >= 2 and levels[-2].shape[0] <= 2 * levels[-1].shape[0]:
            last = levels.pop()
            levels[-1] = _merged([levels[-1], last])
        self.histogram = levels

    def summary(self) -> ContingencySummary:
        """The contingency summary of everything seen since the last reset (and on every rank, when synced)."""
        if self.label_bounds is not None:
            return self._table_summary()
        # After a sync, torchmetrics leaves each state as one gathered tensor.
        pending, histogram = dim_zero_cat(self.pending), dim_zero_cat(self.histogram)
        preds = torch.cat([histogram[:, _PRED], pending[:, _PRED]])
        target = torch.cat([histogram[:, _TARGET], pending[:, _TARGET]])
        counts = torch.cat([histogram[:, _COUNT], torch.ones_like(pending[:, _PRED])])
        return contingency_summary(preds, target, counts, expected_mutual_info=self.needs_expected_mutual_info)

    def _table_summary(self) -> ContingencySummary:
        num_pred, num_target = self.label_bounds
        outside = int(self.table[-1])
        if outside:
            raise ValueError(
                f"{outside} samples had a label outside the bounds given, preds in [0, {num_pred}) and target in "
                f"[0, {num_target}); they were not counted. Fix the labels or the bounds, then reset() the metric."
            )
        cells = self.table[:-1].nonzero().squeeze(1)
        counts = self.table[cells]
        return contingency_summary(
            cells // num_target, cells % num_target, counts, expected_mutual_info=self.needs_expected_mutual_info
        )

    def compute(self) -> Tensor:
        """The metric of everything seen since the last reset (and on every rank, when synced)."""
        return self._score(self.summary()).to(torch.get_default_dtype())

    def _score(self, summary: ContingencySummary) -> Tensor:
        raise NotImplementedError

    def merge_state(self, incoming_state: Union[Dict[str, Any], Metric]) -> None:
        """Add another metric's state (any metric of this package: they all keep the same state), or a state dict."""
        if isinstance(incoming_state, ContingencyMetric):
            incoming_state = incoming_state.metric_state
        super().merge_state(incoming_state)

    def _reduce_states(self, incoming_state: dict) -> None:
        # Used by forward() and merge_state(): add the incoming histograms and
        # labels (or table) to ours, keeping the state's shape.
        if self.label_bounds is not None:
            table = incoming_state.get("table")
            if not isinstance(table, Tensor) or table.shape != self.table.shape or table.dtype != torch.int64:
                raise ValueError(
                    f"Expected the state of a clustering_metrics metric with the same label bounds, a `table` of "
                    f"{self.table.shape[0]} int64 entries, but got "
                    + (f"a table of shape {tuple(table.shape)} and dtype {table.dtype}." if isinstance(table, Tensor)
                       else f"one with {', '.join(map(str, incoming_state)) or 'no entries'}.")
                )
            self.table += table.to(self.table.device)
            return
        missing = [name for name in _STATES if name not in incoming_state]
        if missing:
            raise ValueError(
                f"Expected the state of a clustering_metrics metric, with entries {', '.join(_STATES)}, "
                f"but got one with {', '.join(map(str, incoming_state)) or 'no entries'}."
            )
        device = self._state_device()

        def as_list(value):
            return [t.to(device) for t in (value if isinstance(value, list) else [value])]

        for level in as_list(incoming_state["histogram"]):
            if level.dim() != 2 or level.shape[1] != 3 or level.dtype != torch.int64:
                raise ValueError(f"Expected histogram rows of shape (pairs, 3) and dtype int64 but got {tuple(level.shape)} {level.dtype}.")
            if level.shape[0] > 0:
                self._push_level(level)
        for batch in as_list(incoming_state["pending"]):
            if batch.dim() != 2 or batch.shape[1] != 2 or batch.dtype != torch.int64:
                raise ValueError(f"Expected pending label pairs of shape (n, 2) and dtype int64 but got {tuple(batch.shape)} {batch.dtype}.")
            self.pending.append(batch)
        if self._pending_labels() >= PENDING_LABELS:
            self._count_pending()

    def plot(self, val: Union[Tensor, Sequence[Tensor], None] = None, ax: Optional[_AX_TYPE] = None) -> _PLOT_OUT_TYPE:
        """Plot one value or a sequence of values; computes the current value when ``val`` is None.

        Returns:
            ``(fig, ax)`` from matplotlib.
        """
        return self._plot(val, ax)


class _AveragedMetric(ContingencyMetric):
    def __init__(self, average_method: AverageMethod = "arithmetic", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_average_method(average_method)
        self.average_method = average_method


class MutualInfoScore(ContingencyMetric):
    r"""Mutual information between two clusterings, accumulated over batches.

    A drop-in for ``torchmetrics.clustering.MutualInfoScore``.

    Example:
        >>> import torch
        >>> from clustering_metrics import MutualInfoScore
        >>> metric = MutualInfoScore()
        >>> metric(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(0.5004)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.mutual_info(summary)


class NormalizedMutualInfoScore(_AveragedMetric):
    """Normalised mutual information; a drop-in for ``torchmetrics.clustering.NormalizedMutualInfoScore``."""

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.normalized_mutual_info(summary, self.average_method)


class AdjustedMutualInfoScore(_AveragedMetric):
    """Adjusted mutual information; a drop-in for ``torchmetrics.clustering.AdjustedMutualInfoScore``."""

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0
    needs_expected_mutual_info = True

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.adjusted_mutual_info(summary, self.average_method)


class RandScore(ContingencyMetric):
    """Rand index; a drop-in for ``torchmetrics.clustering.RandScore``."""

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.rand_index(summary)


class AdjustedRandScore(ContingencyMetric):
    """Adjusted Rand index; a drop-in for ``torchmetrics.clustering.AdjustedRandScore``."""

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = -0.5
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.adjusted_rand_index(summary)


class HomogeneityScore(ContingencyMetric):
    """Homogeneity; a drop-in for ``torchmetrics.clustering.HomogeneityScore``."""

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.homogeneity(summary)


class CompletenessScore(ContingencyMetric):
    """Completeness; a drop-in for ``torchmetrics.clustering.CompletenessScore``."""

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.completeness(summary)


class VMeasureScore(ContingencyMetric):
    """V-measure; a drop-in for ``torchmetrics.clustering.VMeasureScore``."""

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def __init__(self, beta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_beta(beta)
        self.beta = beta

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.v_measure(summary, self.beta)


class FowlkesMallowsIndex(ContingencyMetric):
    """Fowlkes-Mallows index; a drop-in for ``torchmetrics.clustering.FowlkesMallowsIndex``."""

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.fowlkes_mallows(summary)


class ClusteringScores(ContingencyMetric):
    """All metrics of the family (or those named in ``metrics``) as a dict, from one histogram state.

    ``compute()`` returns ``{name: value}`` with the functional names
    (``"adjusted_rand_score"``, ...). The expected MI is computed only when
    ``adjusted_mutual_info_score`` is among the metrics.
    """

    higher_is_better: Optional[bool] = None

    def __init__(
        self,
        metrics: Optional[Sequence[str]] = None,
        average_method: AverageMethod = "arithmetic",
        beta: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        names = formulas.metric_names(metrics)
        check_average_method(average_method)
        check_beta(beta)
        self.metrics = names
        self.average_method = average_method
        self.beta = beta
        self.needs_expected_mutual_info = formulas.needs_expected_mutual_info(names)

    def compute(self) -> Dict[str, Tensor]:
        dtype = torch.get_default_dtype()
        values = formulas.scores(self.summary(), self.metrics, self.average_method, self.beta)
        return {name: value.to(dtype) for name, value in values.items()}
