"""The contingency summary: everything the clustering metrics need from one label-pair histogram.

``contingency_summary`` runs the ``clustering_metrics::contingency_summary``
op and names its outputs. Every metric of the family is a short formula over
a summary (:mod:`clustering_metrics.formulas`), so any number of metrics cost
one histogram. The slot order mirrors ``csrc/common/summary.h``.
"""

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from clustering_metrics import ops

__all__ = ["ContingencySummary", "contingency_summary"]

# csrc/common/summary.h, SummaryInteger and SummaryReal, in order.
INTEGER_SLOTS = (
    "n_samples",
    "num_cells",
    "num_pred_clusters",
    "num_target_clusters",
    "pairs_in_cells_high",
    "pairs_in_cells_low",
    "pairs_in_pred_high",
    "pairs_in_pred_low",
    "pairs_in_target_high",
    "pairs_in_target_low",
)
REAL_SLOTS = (
    "mutual_info",
    "entropy_pred",
    "entropy_target",
    "expected_mutual_info",
    "cells_n_log_n",
    "pred_n_log_n",
    "target_n_log_n",
    "pairs_total",
    "pairs_in_cells",
    "pairs_in_pred",
    "pairs_in_target",
    "pair_agreements",
    "adjusted_rand_numerator",
    "adjusted_rand_denominator",
    "pairs_product",
)
_INTEGER = {name: i for i, name in enumerate(INTEGER_SLOTS)}
_REAL = {name: i for i, name in enumerate(REAL_SLOTS)}


def _unsigned_128(high: int, low: int) -> int:
    return ((high & (2**64 - 1)) << 64) | (low & (2**64 - 1))


@dataclass(frozen=True)
class ContingencySummary:
    """The outputs of the summary op, on the device of the labels.

    Attributes:
        pred_totals: int64 sizes of the predicted clusters, in label order.
        target_totals: int64 sizes of the target clusters, in label order.
        integers: int64 exact counts, see :data:`INTEGER_SLOTS`.
        reals: float64 values, see :data:`REAL_SLOTS`: the MI, the two entropies,
            the expected MI (NaN unless asked for), the sums of ``n log n``, and
            the pair counts with the exact integer expressions of the pair-counting
            metrics, each converted to float64 within about 1.5 ulp.

    Each slot is also an attribute (``summary.mutual_info``,
    ``summary.num_cells``, ...): a 0-dim tensor on the summary's device.
    ``has_expected_mutual_info`` says whether the expected MI was computed.
    """

    pred_totals: Tensor
    target_totals: Tensor
    integers: Tensor
    reals: Tensor
    has_expected_mutual_info: bool = False

    def __getattr__(self, name: str) -> Tensor:
        if name in _INTEGER:
            return self.integers[_INTEGER[name]]
        if name in _REAL:
            return self.reals[_REAL[name]]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    @property
    def perfect_match(self) -> Tensor:
        """Whether the two clusterings are equal up to relabelling (every row and column has one cell)."""
        return (self.num_cells == self.num_pred_clusters) & (self.num_cells == self.num_target_clusters)

    def exact_pair_counts(self) -> tuple:
        """(pairs within cells, within pred clusters, within target clusters) as exact Python ints.

        These are sums of ``C(n, 2)``, up to 2^125; reading them synchronises with the device.
        """
        values = [int(v) for v in self.integers.tolist()]
        return tuple(
            _unsigned_128(values[_INTEGER[f"pairs_in_{side}_high"]], values[_INTEGER[f"pairs_in_{side}_low"]])
            for side in ("cells", "pred", "target")
        )


def contingency_summary(
    preds: Tensor, target: Tensor, counts: Optional[Tensor] = None, expected_mutual_info: bool = False
) -> ContingencySummary:
    """The contingency summary of two label vectors (or of a histogram, with ``counts`` per pair).

    ``expected_mutual_info`` also computes the MI expected under random labelings
    with the same cluster sizes (needed by the adjusted MI only; it costs more than
    the rest of the summary on tables with many distinct cluster sizes).
    """
    return ContingencySummary(*ops.contingency_summary(preds, target, counts, expected_mutual_info),
                              has_expected_mutual_info=expected_mutual_info)


