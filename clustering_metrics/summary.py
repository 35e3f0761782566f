"""The contingency summary: everything the clustering metrics need from one label-pair histogram.

``contingency_summary`` runs the ``clustering_metrics::contingency_summary``
op and names its outputs. Every metric of the family is a short formula over
a summary (:mod:`clustering_metrics.formulas`), so any number of metrics cost
one histogram. The slots are laid out once, in ``csrc/common/summary.h``;
the extension exports their names (``_C.SUMMARY_INTEGER_SLOTS`` and
``_C.SUMMARY_REAL_SLOTS``), and :class:`ContingencySummary` declares a field
for each, which a test checks against that export.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from clustering_metrics import _C, ops

__all__ = ["ContingencySummary", "contingency_summary", "stack_summaries"]

_INTEGER = {name: i for i, name in enumerate(_C.SUMMARY_INTEGER_SLOTS)}
_REAL = {name: i for i, name in enumerate(_C.SUMMARY_REAL_SLOTS)}


class _Slot:
    """A field of the summary: one slot of its ``integers`` or ``reals`` output, as a 0-dim tensor."""

    def __init__(self, output: str) -> None:
        self.output = output

    def __set_name__(self, owner: type, name: str) -> None:
        slots = _INTEGER if self.output == "integers" else _REAL
        if name not in slots:
            raise TypeError(f"the extension has no {self.output} slot named {name!r} (csrc/common/summary.h)")
        self.index = slots[name]

    def __get__(self, summary: Optional["ContingencySummary"], owner: type) -> Tensor:
        if summary is None:
            return self  # type: ignore[return-value]  # the descriptor itself, on the class
        return getattr(summary, self.output)[..., self.index]


def _unsigned_128(high: int, low: int) -> int:
    return ((high & (2**64 - 1)) << 64) | (low & (2**64 - 1))


@dataclass(frozen=True)
class ContingencySummary:
    """The outputs of the summary op, on the device of the labels.

    Attributes:
        pred_totals: int64 sizes of the predicted clusters, in label order.
        target_totals: int64 sizes of the target clusters, in label order.
        integers: int64 exact counts, named by the integer fields below.
        reals: float64 values, named by the real fields below: the MI (NaN
            when not asked for), the two entropies, the expected MI (NaN
            unless asked for), the sums of
            ``n log n``, and the pair counts with the exact integer expressions
            of the pair-counting metrics, each converted to float64 within
            about 1.5 ulp.
        has_expected_mutual_info: whether the expected MI was computed.
        has_mutual_info: whether the MI was computed.

    Every other field is a 0-dim tensor on the summary's device, read from
    one slot of ``integers`` or ``reals``. A batch of summaries (the
    bootstrap's resamples, :func:`stack_summaries`) stacks ``integers`` and
    ``reals`` along a first dimension: each field is then a tensor over the
    batch, and the formulas, being elementwise, score every summary at once.
    """

    pred_totals: Tensor
    target_totals: Tensor
    integers: Tensor
    reals: Tensor
    has_expected_mutual_info: bool = False
    has_mutual_info: bool = True

    # The int64 slots. A 128-bit pair count is two slots, its high and low words.
    n_samples = _Slot("integers")
    num_cells = _Slot("integers")
    num_pred_clusters = _Slot("integers")
    num_target_clusters = _Slot("integers")
    pairs_in_cells_high = _Slot("integers")
    pairs_in_cells_low = _Slot("integers")
    pairs_in_pred_high = _Slot("integers")
    pairs_in_pred_low = _Slot("integers")
    pairs_in_target_high = _Slot("integers")
    pairs_in_target_low = _Slot("integers")

    # The float64 slots.
    mutual_info = _Slot("reals")
    entropy_pred = _Slot("reals")
    entropy_target = _Slot("reals")
    expected_mutual_info = _Slot("reals")
    cells_n_log_n = _Slot("reals")  # sum of n log n over cells
    pred_n_log_n = _Slot("reals")  # ... over pred clusters
    target_n_log_n = _Slot("reals")  # ... over target clusters
    pairs_total = _Slot("reals")  # C(N, 2)
    pairs_in_cells = _Slot("reals")  # I = sum of C(n, 2) over cells
    pairs_in_pred = _Slot("reals")  # A = sum of C(a, 2) over pred clusters
    pairs_in_target = _Slot("reals")  # B = sum of C(b, 2) over target clusters
    pair_agreements = _Slot("reals")  # C(N, 2) - A - B + 2 I
    adjusted_rand_numerator = _Slot("reals")  # I C(N, 2) - A B
    adjusted_rand_denominator = _Slot("reals")  # (A + B) C(N, 2) / 2 - A B
    pairs_product = _Slot("reals")  # A B

    @property
    def perfect_match(self) -> Tensor:
        """Whether the two clusterings are equal up to relabelling (every row and column has one cell)."""
        return (self.num_cells == self.num_pred_clusters) & (self.num_cells == self.num_target_clusters)

    def transposed(self) -> "ContingencySummary":
        """The summary of the transposed table (preds and target swapped): each ``pred`` slot traded for its
        ``target`` slot; every other slot is symmetric in the two sides."""
        integers, reals = self.integers.clone(), self.reals.clone()
        for output, slots in ((integers, _INTEGER), (reals, _REAL)):
            for name, index in slots.items():
                if "pred" in name:
                    output[..., index] = getattr(self, name.replace("pred", "target"))
                    output[..., slots[name.replace("pred", "target")]] = getattr(self, name)
        return ContingencySummary(self.target_totals, self.pred_totals, integers, reals, self.has_expected_mutual_info,
                                  self.has_mutual_info)

    def exact_pair_counts(self) -> Tuple[int, int, int]:
        """(pairs within cells, within pred clusters, within target clusters) as exact Python ints.

        These are sums of ``C(n, 2)``, up to 2^125; reading them synchronises with the device.
        """
        values = [int(v) for v in self.integers.tolist()]
        return tuple(  # type: ignore[return-value]
            _unsigned_128(values[_INTEGER[f"pairs_in_{side}_high"]], values[_INTEGER[f"pairs_in_{side}_low"]])
            for side in ("cells", "pred", "target")
        )


def slot_fields() -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """The summary's (integer, real) fields as the class declares them, in declaration order."""
    fields = [(name, value) for name, value in vars(ContingencySummary).items() if isinstance(value, _Slot)]
    return (tuple(name for name, slot in fields if slot.output == "integers"),
            tuple(name for name, slot in fields if slot.output == "reals"))


def stack_summaries(summaries: Sequence[ContingencySummary]) -> ContingencySummary:
    """One batched summary of several (of the same kind): their slots stacked, their cluster totals dropped."""
    if not summaries:
        raise ValueError("stack_summaries needs at least one summary")
    first = summaries[0]
    empty = first.integers.new_empty(0)
    return ContingencySummary(empty, empty, torch.stack([s.integers for s in summaries]),
                              torch.stack([s.reals for s in summaries]), first.has_expected_mutual_info,
                              first.has_mutual_info)


def contingency_summary(
    preds: Tensor,
    target: Tensor,
    counts: Optional[Tensor] = None,
    expected_mutual_info: bool = False,
    mutual_info: bool = True,
) -> ContingencySummary:
    """The contingency summary of two label vectors (or of a histogram, with ``counts`` per pair).

    ``expected_mutual_info`` also computes the MI expected under random labelings
    with the same cluster sizes (needed by the adjusted MI only; it costs more than
    the rest of the summary on tables with many distinct cluster sizes).
    ``mutual_info=False`` leaves the MI out (the pair-counting metrics do without
    it; on tables of fewer than 4096 cells it costs a series per cell).
    """
    return ContingencySummary(*ops.contingency_summary(preds, target, counts, expected_mutual_info, mutual_info),
                              has_expected_mutual_info=expected_mutual_info, has_mutual_info=mutual_info)

