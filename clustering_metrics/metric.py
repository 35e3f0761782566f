"""``MutualInfoScore``: a ``torchmetrics.Metric`` whose state is a label-pair histogram."""

from typing import Any, Optional, Sequence, Union

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat
from torchmetrics.utilities.plot import _AX_TYPE, _PLOT_OUT_TYPE

from clustering_metrics import ops
from clustering_metrics.functional import check_cluster_labels

__all__ = ["MutualInfoScore"]

_PRED, _TARGET, _COUNT = 0, 1, 2


def _state_labels(labels: Tensor) -> Tensor:
    # Every batch is stored as int64 so histograms from batches of different
    # dtypes concatenate. uint64 is reinterpreted bit for bit: MI only needs
    # labels to stay distinct, not to keep their values.
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


class MutualInfoScore(Metric):
    r"""Mutual information between two clusterings, accumulated over batches.

    A drop-in for ``torchmetrics.clustering.MutualInfoScore``: same
    constructor kwargs, same ``update``/``forward``/``compute``/``reset``.
    Instead of keeping every label of the epoch, the state is the merged
    label-pair histogram, one (pred, target, count) row per distinct pair, so
    memory grows with the number of distinct pairs, not with the samples.

    Example:
        >>> import torch
        >>> from clustering_metrics import MutualInfoScore
        >>> metric = MutualInfoScore()
        >>> metric(torch.tensor([2, 1, 0, 1, 0]), torch.tensor([0, 2, 1, 1, 0]))
        tensor(0.5004)
    """

    is_differentiable: bool = False
    higher_is_better: Optional[bool] = True
    full_state_update: bool = False
    plot_lower_bound: float = 0.0

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

    def compute(self) -> Tensor:
        """Mutual information of everything seen since the last reset (and on every rank, when synced)."""
        histogram = dim_zero_cat(self.histogram)
        mi = ops.mutual_info_from_histogram(histogram[:, _PRED], histogram[:, _TARGET], histogram[:, _COUNT])
        return mi.to(torch.get_default_dtype())

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
