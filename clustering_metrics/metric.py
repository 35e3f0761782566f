"""The metric classes: ``torchmetrics.Metric`` subclasses.

The contingency metrics (and the cluster accuracy) share one label-pair
histogram state (:class:`ContingencyMetric`); the intrinsic metrics keep the
embedded data (:class:`EmbeddingMetric`), except the Calinski-Harabasz
score, whose state is each cluster's moments.
"""

from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.plot import _AX_TYPE, _PLOT_OUT_TYPE

from clustering_metrics import embeddings, formulas, ops
from clustering_metrics.formulas.assignment import cluster_accuracy_of_cells
from clustering_metrics.functional import (
    AverageMethod,
    check_average_method,
    check_beta,
    check_cluster_labels,
    check_num_classes,
)
from clustering_metrics.metric_state import as_int64, check_label_bounds, state_for
from clustering_metrics.resampling import BootstrapInterval, Scorer, bootstrap_cluster_accuracy, bootstrap_histogram
from clustering_metrics.summary import ContingencySummary

__all__ = [
    "AdjustedMutualInfoScore",
    "AdjustedRandScore",
    "CalinskiHarabaszScore",
    "ClusterAccuracy",
    "ClusteringScores",
    "CompletenessScore",
    "DaviesBouldinScore",
    "DunnIndex",
    "EmbeddingMetric",
    "FowlkesMallowsIndex",
    "HomogeneityScore",
    "MutualInfoScore",
    "NormalizedMutualInfoScore",
    "RandScore",
    "SilhouetteScore",
    "VMeasureScore",
]


# What torchmetrics' forward changes besides the state, and restores when it returns.
_FORWARD_SETTINGS = ("_update_count", "_computed", "_forward_cache", "_to_sync", "_should_unsync", "compute_on_cpu",
                     "_enable_grad", "_is_synced")


class _Metric(Metric):
    """torchmetrics' ``Metric``, except that a ``forward`` that raises leaves the state as it was before the call."""

    @torch.jit.unused  # as torchmetrics' own forward: a module holding a metric can still be scripted
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """This batch's value, with the batch added to the state; if the value cannot be had (``forward`` raises,
        say for a batch of one cluster), the state is left as it was, and the batch is not added.

        torchmetrics' ``forward`` moves the state aside, scores the batch alone
        and merges the two afterwards, or adds the batch before scoring it
        alone: a batch whose score raises would otherwise leave only itself in
        the state and lose every batch before it.
        """
        # torchmetrics' own choice between its two forward paths (Metric.forward).
        adds_first = self.full_state_update or self.full_state_update is None or self.dist_sync_on_step
        # The lists are copied (reset() empties them in place; no update changes a listed tensor). Set aside, the
        # state's tensors are replaced, not changed; added to first, they change in place, so they are copied.
        saved = {name: list(value) if isinstance(value, list) else value.clone() if adds_first else value
                 for name, value in ((name, getattr(self, name)) for name in self._defaults)}
        settings = {name: getattr(self, name) for name in _FORWARD_SETTINGS}
        try:
            return super().forward(*args, **kwargs)
        except Exception:
            for name, value in {**saved, **settings}.items():
                setattr(self, name, value)
            raise


class ContingencyMetric(_Metric):
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

    def bootstrap(
        self,
        num_resamples: int = 1000,
        confidence_level: float = 0.95,
        seed: Optional[int] = None,
        method: str = "percentile",
    ) -> BootstrapInterval:
        """The metric of everything seen, with a bootstrap confidence interval over those samples.

        As :func:`clustering_metrics.functional.bootstrap_scores` on the
        state's histogram (synced across ranks first, as ``compute()`` is):
        the same resamples and values for the same seed.
        """
        return self._bootstrap(lambda summary: {"value": self._score(summary)}, num_resamples, confidence_level,
                               seed, method)["value"]

    def _cells(self) -> "tuple[Tensor, Tensor, Tensor]":
        # The histogram of everything seen, synced across ranks as compute() is.
        with self.sync_context():
            self._state.check_own(self)
            return ops.pair_histogram(*self._state.weighted_pairs(self))

    def _bootstrap(self, scorer: Scorer, num_resamples: int, confidence_level: float, seed: Optional[int],
                   method: str) -> Dict[str, BootstrapInterval]:
        return bootstrap_histogram(*self._cells(), scorer, self.needs_expected_mutual_info, num_resamples,
                                   confidence_level, seed, method)

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
    """Normalised mutual information; a drop-in for ``torchmetrics.clustering.NormalizedMutualInfoScore``.

    Example (two batches; scikit-learn gives 0.4477 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import NormalizedMutualInfoScore
        >>> metric = NormalizedMutualInfoScore(average_method="geometric")
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.4477)
    """

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.normalized_mutual_info(summary, self.average_method)


class AdjustedMutualInfoScore(_AveragedMetric):
    """Adjusted mutual information; a drop-in for ``torchmetrics.clustering.AdjustedMutualInfoScore``.

    Example (two batches; scikit-learn gives 0.1828 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import AdjustedMutualInfoScore
        >>> metric = AdjustedMutualInfoScore()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.1828)
    """

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0
    needs_expected_mutual_info = True

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.adjusted_mutual_info(summary, self.average_method)


class RandScore(ContingencyMetric):
    """Rand index; a drop-in for ``torchmetrics.clustering.RandScore``.

    Example (two batches; scikit-learn gives 0.6000 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import RandScore
        >>> metric = RandScore()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.6000)
    """

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.rand_index(summary)


class AdjustedRandScore(ContingencyMetric):
    """Adjusted Rand index; a drop-in for ``torchmetrics.clustering.AdjustedRandScore``.

    Example (two batches; scikit-learn gives 0.1176 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import AdjustedRandScore
        >>> metric = AdjustedRandScore()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.1176)
    """

    higher_is_better: Optional[bool] = None
    plot_lower_bound: float = -0.5
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.adjusted_rand_index(summary)


class HomogeneityScore(ContingencyMetric):
    """Homogeneity; a drop-in for ``torchmetrics.clustering.HomogeneityScore``.

    Example (two batches; scikit-learn gives 0.5409 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import HomogeneityScore
        >>> metric = HomogeneityScore()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.5409)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.homogeneity(summary)


class CompletenessScore(ContingencyMetric):
    """Completeness; a drop-in for ``torchmetrics.clustering.CompletenessScore``.

    Example (two batches; scikit-learn gives 0.3707 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import CompletenessScore
        >>> metric = CompletenessScore()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.3707)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def _score(self, summary: ContingencySummary) -> Tensor:
        return formulas.completeness(summary)


class VMeasureScore(ContingencyMetric):
    """V-measure; a drop-in for ``torchmetrics.clustering.VMeasureScore``.

    Example (two batches; scikit-learn gives 0.4141 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import VMeasureScore
        >>> metric = VMeasureScore(beta=2.0)
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.4141)
    """

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
    """Fowlkes-Mallows index; a drop-in for ``torchmetrics.clustering.FowlkesMallowsIndex``.

    Example (two batches; scikit-learn gives 0.4082 on the six labels together):
        >>> import torch
        >>> from clustering_metrics import FowlkesMallowsIndex
        >>> metric = FowlkesMallowsIndex()
        >>> metric.update(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]))
        >>> metric.update(torch.tensor([1, 1, 2]), torch.tensor([1, 1, 1]))
        >>> metric.compute()
        tensor(0.4082)
    """

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

    Example (scikit-learn gives an MI of 0.3749 and an adjusted Rand index of 0.1176):
        >>> import torch
        >>> from clustering_metrics import ClusteringScores
        >>> metric = ClusteringScores(["mutual_info_score", "adjusted_rand_score"])
        >>> metric.update(torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([0, 0, 0, 1, 1, 1]))
        >>> metric.compute()
        {'mutual_info_score': tensor(0.3749), 'adjusted_rand_score': tensor(0.1176)}
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

    def bootstrap(  # type: ignore[override]
        self,
        num_resamples: int = 1000,
        confidence_level: float = 0.95,
        seed: Optional[int] = None,
        method: str = "percentile",
    ) -> Dict[str, BootstrapInterval]:
        """``{name: BootstrapInterval}`` for every metric, from one set of resamples of the state."""
        return self._bootstrap(lambda summary: formulas.scores(summary, self.metrics, self.average_method, self.beta),
                               num_resamples, confidence_level, seed, method)


class ClusterAccuracy(ContingencyMetric):
    """The accuracy of the best one-to-one map from clusters to classes; a drop-in for
    ``torchmetrics.clustering.ClusterAccuracy``.

    It keeps the histogram state of every contingency metric, so a
    ``MetricCollection`` of it and them counts each batch once. ``num_classes``
    is optional; given, labels must lie in ``[0, num_classes)`` and the state is
    the dense ``num_classes x num_classes`` table of the known label bounds
    (one kernel launch an update, no host synchronisation). The assignment is
    exact on the integer counts, and solved on the host
    (:func:`clustering_metrics.ops.linear_sum_assignment`).

    Example:
        >>> import torch
        >>> from clustering_metrics import ClusterAccuracy
        >>> metric = ClusterAccuracy()
        >>> metric(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([1, 1, 0, 0, 0]))
        tensor(0.8000)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0

    def __init__(self, num_classes: Optional[int] = None, **kwargs: Any) -> None:
        num_classes = check_num_classes(num_classes)
        super().__init__(num_pred_clusters=num_classes, num_target_clusters=num_classes, **kwargs)
        self.num_classes = num_classes

    def compute(self) -> Tensor:
        self._state.check_own(self)
        cells = ops.pair_histogram(*self._state.weighted_pairs(self))
        return cluster_accuracy_of_cells(*cells).to(torch.get_default_dtype())

    def bootstrap(
        self,
        num_resamples: int = 1000,
        confidence_level: float = 0.95,
        seed: Optional[int] = None,
        method: str = "percentile",
    ) -> BootstrapInterval:
        """The accuracy of everything seen with a bootstrap interval; each resample solves its own assignment."""
        return bootstrap_cluster_accuracy(*self._cells(), num_resamples, confidence_level, seed, method)


class EmbeddingMetric(_Metric):
    """Base of the intrinsic metrics that need every point: the state is the embedded data and its labels.

    The Davies-Bouldin index, the Dunn index and the silhouette need each
    cluster's final centroid (or every other point) before any distance, so
    the data cannot be reduced as it arrives: like torchmetrics, the state
    is every row of ``data`` (in its own dtype) and its label (int64), O(N d)
    memory, gathered across ranks. Unlike torchmetrics, an update stores a
    copy, so refilling a batch buffer in place cannot change the result. The
    states (``data``, ``labels``) have the same names in every subclass, so a
    ``MetricCollection`` of them keeps one copy through compute groups.
    """

    is_differentiable: bool = False
    full_state_update: bool = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("data", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")

    def update(self, data: Tensor, labels: Tensor) -> None:
        """Add a batch of embedded points and their cluster labels."""
        embeddings.check_embeddings(data, labels)
        self.data.append(data.detach().clone())
        self.labels.append(as_int64(labels).clone())

    def _gathered(self) -> "tuple[Tensor, Tensor]":
        data = self.data if isinstance(self.data, Tensor) else torch.cat(self.data) if self.data else None
        labels = self.labels if isinstance(self.labels, Tensor) else torch.cat(self.labels) if self.labels else None
        if data is None:
            raise ValueError(f"{type(self).__name__}.compute() needs data: call update() first.")
        return data, labels

    def plot(self, val: Union[Tensor, Sequence[Tensor], None] = None, ax: Optional[_AX_TYPE] = None) -> _PLOT_OUT_TYPE:
        """Plot one value or a sequence of values; computes the current value when ``val`` is None."""
        return self._plot(val, ax)


class DaviesBouldinScore(EmbeddingMetric):
    """The Davies-Bouldin index, lower is better; a drop-in for ``torchmetrics.clustering.DaviesBouldinScore``
    (whose ``higher_is_better`` is wrongly True), in float64.

    Example (two clusters on a line, {0, 1} and {10, 11}: (0.5 + 0.5) / 10):
        >>> import torch
        >>> from clustering_metrics import DaviesBouldinScore
        >>> metric = DaviesBouldinScore()
        >>> metric.update(torch.tensor([[0.0], [1.0], [10.0], [11.0]]), torch.tensor([0, 0, 1, 1]))
        >>> metric.compute()
        tensor(0.1000)
    """

    higher_is_better: Optional[bool] = False
    plot_lower_bound: float = 0.0

    def compute(self) -> Tensor:
        return embeddings.davies_bouldin_score(*self._gathered())


class DunnIndex(EmbeddingMetric):
    """torchmetrics' Dunn index (see :func:`clustering_metrics.functional.dunn_index`); a drop-in for
    ``torchmetrics.clustering.DunnIndex``.

    Example (two clusters on a line, {0, 1} and {10, 11}: centroids 10 apart over a largest distance to a centroid of 0.5):
        >>> import torch
        >>> from clustering_metrics import DunnIndex
        >>> metric = DunnIndex()
        >>> metric.update(torch.tensor([[0.0], [1.0], [10.0], [11.0]]), torch.tensor([0, 0, 1, 1]))
        >>> metric.compute()
        tensor(20.)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = 0.0

    def __init__(self, p: float = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
            raise ValueError(f"Expected argument `p` to be a positive number (or math.inf), but got {p!r}")
        self.p = p

    def compute(self) -> Tensor:
        return embeddings.dunn_index(*self._gathered(), p=self.p)


class SilhouetteScore(EmbeddingMetric):
    """The mean silhouette of all samples (torchmetrics has none): exact Euclidean distances, O(n^2 d) time and
    O(n k) memory at ``compute()``, the same bits at any thread count.

    Example (two clusters on a line, {0, 1} and {10, 11}: the mean of 1 - 1/10.5 and 1 - 1/9.5):
        >>> import torch
        >>> from clustering_metrics import SilhouetteScore
        >>> metric = SilhouetteScore()
        >>> metric.update(torch.tensor([[0.0], [1.0], [10.0], [11.0]]), torch.tensor([0, 0, 1, 1]))
        >>> metric.compute()
        tensor(0.8997)
    """

    higher_is_better: Optional[bool] = True
    plot_lower_bound: float = -1.0
    plot_upper_bound: float = 1.0

    def __init__(self, metric: embeddings.SilhouetteMetric = "euclidean", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if metric not in ("euclidean", "sqeuclidean"):
            raise ValueError(f"Expected argument `metric` to be 'euclidean' or 'sqeuclidean' but got {metric!r}")
        self.metric = metric

    def compute(self) -> Tensor:
        return embeddings.silhouette_score(*self._gathered(), metric=self.metric)


class CalinskiHarabaszScore(_Metric):
    """The Calinski-Harabasz score; a drop-in for ``torchmetrics.clustering.CalinskiHarabaszScore``.

    Its state is not the data but each cluster's moments: its label, size,
    mean and centred second moment (``cluster_labels``, ``cluster_sizes``,
    ``cluster_means``, ``cluster_m2``), O(k d) memory. An update reduces the
    batch per cluster and merges it into the state by Chan's pairwise
    update, which keeps the second moments accurate however far the data
    sit from the origin (the means are float64 values: the user guide says
    what that costs far from it); ranks' states are gathered and merged the
    same way.

    Example:
        >>> import torch
        >>> from clustering_metrics import CalinskiHarabaszScore
        >>> metric = CalinskiHarabaszScore()
        >>> metric.update(torch.tensor([[0.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        >>> metric.update(torch.tensor([[4.0, 0.0], [4.0, 1.0]]), torch.tensor([1, 1]))
        >>> metric.compute()
        tensor(32.)
    """

    is_differentiable: bool = False
    higher_is_better: Optional[bool] = True
    full_state_update: bool = False
    plot_lower_bound: float = 0.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("cluster_labels", "cluster_sizes", "cluster_means", "cluster_m2"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, data: Tensor, labels: Tensor) -> None:
        """Add a batch of embedded points and their cluster labels."""
        embeddings.check_embeddings(data, labels)
        ids, distinct = ops.rank_labels(labels)
        sizes, means, m2 = ops.cluster_moments(embeddings._op_data(data), ids, distinct.numel())
        merged = self._merged([*self._moments(), (as_int64(distinct), sizes, means, m2)])
        self.cluster_labels, self.cluster_sizes, self.cluster_means, self.cluster_m2 = ([t] for t in merged)

    def _moments(self) -> "list[tuple[Tensor, Tensor, Tensor, Tensor]]":
        # List states, or the one tensor each that torchmetrics leaves after a sync.
        states = [self.cluster_labels, self.cluster_sizes, self.cluster_means, self.cluster_m2]
        if isinstance(states[0], Tensor):
            return [tuple(states)]
        return list(zip(*states))

    @staticmethod
    def _merged(parts: "list[tuple[Tensor, Tensor, Tensor, Tensor]]") -> "tuple[Tensor, Tensor, Tensor, Tensor]":
        labels, sizes, means, m2 = (torch.cat(column) for column in zip(*parts))
        ids, distinct = ops.rank_labels(labels)
        sizes, means, m2 = ops.cluster_moments(means, ids, distinct.numel(), weights=sizes, m2=m2)
        return distinct, sizes, means, m2

    def compute(self) -> Tensor:
        parts = self._moments()
        if not parts:
            raise ValueError("CalinskiHarabaszScore.compute() needs data: call update() first.")
        _, sizes, means, m2 = self._merged(parts)
        embeddings._check_cluster_count(sizes.numel(), int(sizes.sum()))
        return embeddings.calinski_harabasz_from_moments(sizes, means, m2).to(torch.get_default_dtype())

    def plot(self, val: Union[Tensor, Sequence[Tensor], None] = None, ax: Optional[_AX_TYPE] = None) -> _PLOT_OUT_TYPE:
        """Plot one value or a sequence of values; computes the current value when ``val`` is None."""
        return self._plot(val, ax)
