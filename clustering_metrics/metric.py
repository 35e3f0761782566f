"""The metric classes: ``torchmetrics.Metric`` subclasses sharing one label-pair histogram state."""

from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.plot import _AX_TYPE, _PLOT_OUT_TYPE

from clustering_metrics import formulas
from clustering_metrics.functional import AverageMethod, check_average_method, check_beta, check_cluster_labels
from clustering_metrics.metric_state import check_label_bounds, state_for
from clustering_metrics.summary import ContingencySummary

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


class ContingencyMetric(Metric):
    """Base of every metric here: the state counts every label pair seen since the last reset.

    Instead of keeping every label of the epoch, the state holds counts, so
    memory grows with the number of distinct label pairs, not with the
    samples (:mod:`clustering_metrics.metric_state`):

    * without label bounds, histograms of distinct pairs (``histogram``) and
      the pairs of recent small batches (``pending``), so that an update
      costs O(batch) amortised, whatever the state's size;
    * given ``num_pred_clusters`` and ``num_target_clusters`` (labels in
      ``[0, num_pred_clusters)`` and ``[0, num_target_clusters)``), a dense
      int64 contingency table (``table``) of ``num_pred_clusters *
      num_target_clusters`` cells plus one count of samples with a label
      outside the bounds. An ``update()`` is then one kernel launch
      (:func:`clustering_metrics.ops.count_into_table`) that never
      synchronises with the GPU, so it can run inside a captured CUDA graph;
      ``compute()`` raises if any label was outside the bounds. The table
      takes ``8 * num_pred_clusters * num_target_clusters`` bytes, and bounds
      whose table would not fit the memory available are refused.

    Either way the state also holds ``bounds``, which ``merge_state``,
    ``load_state_dict`` and ``compute`` compare with the metric's own: a
    state of other bounds is refused with a ``ValueError``, whatever its size.
    ``compute()`` counts everything exactly. The states have the same names
    and contents in every subclass, so torchmetrics' compute groups let a
    ``MetricCollection`` of any of them with the same bounds keep one state
    and count each batch once. A subclass only says how to score a
    :class:`~clustering_metrics.summary.ContingencySummary`.

    ``compute()`` before any ``update()`` scores empty input (e.g. MI 0), with
    torchmetrics' warning that compute was called before update.
    """

    is_differentiable: bool = False
    full_state_update: bool = False
    needs_expected_mutual_info: bool = False

    def __init__(
        self, num_pred_clusters: Optional[int] = None, num_target_clusters: Optional[int] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.label_bounds = check_label_bounds(num_pred_clusters, num_target_clusters)
        self._state = state_for(self.label_bounds)
        self._state.add_states(self)

    def reset(self) -> None:
        super().reset()
        self._state.reset(self)

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch of labels."""
        check_cluster_labels(preds, target)
        self._state.update(self, preds, target)

    def summary(self) -> ContingencySummary:
        """The contingency summary of everything seen since the last reset (and on every rank, when synced)."""
        self._state.check_own(self)
        return self._state.summary(self, self.needs_expected_mutual_info)

    def compute(self) -> Tensor:
        """The metric of everything seen since the last reset (and on every rank, when synced)."""
        return self._score(self.summary()).to(torch.get_default_dtype())

    def _score(self, summary: ContingencySummary) -> Tensor:
        raise NotImplementedError

    def merge_state(self, incoming_state: Union[Dict[str, Any], Metric]) -> None:
        """Add another metric's state (any metric of this package with the same label bounds), or a state dict."""
        if isinstance(incoming_state, ContingencyMetric):
            incoming_state = incoming_state.metric_state
        super().merge_state(incoming_state)

    def _reduce_states(self, incoming_state: Dict[str, Any]) -> None:
        # Used by forward() and merge_state(): add the incoming state to ours.
        self._state.check_own(self)
        self._state.check_incoming(incoming_state, "merge_state")
        self._state.add(self, incoming_state)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        # torchmetrics sets whatever the dict holds; a state of other bounds or
        # shapes would then score wrong, so it is checked as merge_state does.
        names = ("bounds", "table", "histogram", "pending")
        incoming = {name: state_dict[prefix + name] for name in names if prefix + name in state_dict}
        if incoming:
            self._state.check_incoming(incoming, "load_state_dict")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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
        metrics: Union[str, Sequence[str], None] = None,
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
