"""The metric classes: ``torchmetrics.Metric`` subclasses sharing one label-pair histogram state."""

from typing import Any, Dict, Optional, Sequence, Union

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


def _state_labels(labels: Tensor) -> Tensor:
    # Every batch is stored as int64 so histograms from batches of different
    # dtypes concatenate. uint64 is reinterpreted bit for bit: the metrics
    # only need labels to stay distinct, not to keep their values.
    if labels.dtype == torch.uint64:
        return labels.view(torch.int64)
    return labels.to(torch.int64)


def _merge(histograms: Sequence[Tensor]) -> Tensor:
    """Merge (pairs, 3) int64 histograms into one with distinct pairs."""
    stacked = torch.cat(list(histograms)) if len(histograms) > 1 else histograms[0]
    pred, target, count = ops.pair_histogram(
        stacked[:, _PRED].contiguous(), stacked[:, _TARGET].contiguous(), stacked[:, _COUNT].contiguous()
    )
    return torch.stack([pred, target, count], dim=1)


class ContingencyMetric(Metric):
    """Base of every metric here: the state is the label-pair histogram of everything seen since the last reset.

    Instead of keeping every label of the epoch, the state is the merged
    histogram, one ``(pred, target, count)`` int64 row per distinct pair, so
    memory grows with the number of distinct pairs, not with the samples. The
    state has the same name and content in every subclass, so torchmetrics'
    compute groups let a ``MetricCollection`` of any of them keep one state and
    build one histogram a batch. A subclass only says how to score a
    :class:`~clustering_metrics.summary.ContingencySummary`.
    """

    is_differentiable: bool = False
    full_state_update: bool = False
    needs_expected_mutual_info: bool = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A list state so torchmetrics gathers ranks of different sizes; it
        # always holds one int64 tensor (possibly empty) so that a rank that
        # saw no data still sends int64, not torchmetrics' float placeholder.
        self.add_state("histogram", default=[], dist_reduce_fx="cat")
        self.histogram = [self._empty_histogram()]

    def _empty_histogram(self) -> Tensor:
        return torch.empty((0, 3), dtype=torch.int64, device=self.device)

    def reset(self) -> None:
        super().reset()
        self.histogram = [self._empty_histogram()]

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch of labels to the histogram."""
        check_cluster_labels(preds, target)
        pred, target_labels, count = ops.pair_histogram(preds, target)
        batch = torch.stack([_state_labels(pred), _state_labels(target_labels), count], dim=1)
        state_device = self.histogram[0].device if self.histogram else batch.device
        self.histogram = [_merge([*self.histogram, batch.to(state_device)])]

    def summary(self) -> ContingencySummary:
        """The contingency summary of everything seen since the last reset (and on every rank, when synced)."""
        histogram = dim_zero_cat(self.histogram)
        return contingency_summary(
            histogram[:, _PRED], histogram[:, _TARGET], histogram[:, _COUNT],
            expected_mutual_info=self.needs_expected_mutual_info,
        )

    def compute(self) -> Tensor:
        """The metric of everything seen since the last reset (and on every rank, when synced)."""
        return self._score(self.summary()).to(torch.get_default_dtype())

    def _score(self, summary: ContingencySummary) -> Tensor:
        raise NotImplementedError

    def _reduce_states(self, incoming_state: dict) -> None:
        # Used by forward() and merge_state(): merge the two histograms instead
        # of concatenating them, so the state stays one row per distinct pair.
        incoming = incoming_state["histogram"]
        incoming = incoming if isinstance(incoming, list) else [incoming]
        device = self.histogram[0].device
        self.histogram = [_merge([h.to(device) for h in incoming] + self.histogram)]

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
