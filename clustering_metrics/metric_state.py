"""The two kinds of state a contingency metric keeps, one class each.

* :class:`HistogramState` (no label bounds): label-pair histograms of any
  integer labels, kept as a log-structured list plus the pending labels of
  recent small batches, so that an update costs O(batch) and the state
  O(distinct pairs).
* :class:`TableState` (``num_pred_clusters`` and ``num_target_clusters``
  given): a dense int64 table counted by one kernel launch per update,
  without a host synchronisation.

Both keep a ``bounds`` state, ``[num_pred_clusters, num_target_clusters]``
(``[0, 0]`` without bounds), so that a state always says how to read it:
merging, loading and compute groups compare it with the metric's own bounds
and refuse a state of other bounds, whatever its size.
"""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from clustering_metrics import _C, ops
from clustering_metrics.summary import ContingencySummary, contingency_summary

__all__ = [
    "HistogramState", "TableState", "MAX_TABLE_CELLS", "PENDING_LABELS", "as_int64", "cells_of_table", "check_label_bounds",
    "state_for",
]

_PRED, _TARGET, _COUNT = 0, 1, 2
NO_BOUNDS = (0, 0)

# Batches smaller than this are kept as labels and counted together once this
# many have gathered: an update then costs an append, not an op call.
PENDING_LABELS = 1 << 16

# The most slots (cells plus the outside slot) of a bounded table, as the
# extension exports it (csrc/common/bounded_table.h).
MAX_TABLE_CELLS = _C.MAX_BOUNDED_SLOTS


def _describe_bounds(bounds: Sequence[int]) -> str:
    return "no label bounds" if tuple(bounds) == NO_BOUNDS else f"label bounds {tuple(bounds)}"


def _same_on_every_rank(gathered: Tensor) -> Tensor:
    """The ``bounds`` state's reduction across ranks: every rank must have the same."""
    gathered = gathered.reshape(-1, 2)
    if not bool((gathered == gathered[0]).all()):
        raise ValueError(
            "The ranks' metrics have different label bounds "
            f"({', '.join(_describe_bounds(b) for b in gathered.tolist())}); give every rank the same "
            "num_pred_clusters and num_target_clusters."
        )
    return gathered[0]


def _available_memory_bytes() -> Optional[int]:
    """Memory this process could still allocate: the least of the system's available memory and a cgroup limit."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit_path, usage_path in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_path) as limit, open(usage_path) as usage:
                text = limit.read().strip()
                if text != "max":
                    limits.append(max(0, int(text) - int(usage.read().strip())))
        except (OSError, ValueError):
            pass
    if not limits and hasattr(os, "sysconf"):
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            pass
    return min(limits) if limits else None


def check_label_bounds(num_pred_clusters: Any, num_target_clusters: Any) -> Optional[Tuple[int, int]]:
    """The bounds as Python ints, or None when neither is given; refuses bounds whose table cannot be had."""
    if num_pred_clusters is None and num_target_clusters is None:
        return None
    bounds = (num_pred_clusters, num_target_clusters)
    if not all(_is_integer(b) and b >= 1 for b in bounds):
        raise ValueError(
            "Expected `num_pred_clusters` and `num_target_clusters` to be given together, as positive integers, "
            f"but got {num_pred_clusters!r} and {num_target_clusters!r}."
        )
    # Python ints before the product: numpy integers would wrap around.
    num_pred, num_target = int(num_pred_clusters), int(num_target_clusters)
    if num_pred * num_target + 1 > MAX_TABLE_CELLS:
        raise ValueError(
            f"Expected num_pred_clusters x num_target_clusters below 2^32 - 1 but got {num_pred} x {num_target}; "
            "for more cells, leave the bounds out."
        )
    table_bytes = 8 * (num_pred * num_target + 1)
    available = _available_memory_bytes()
    if available is not None and table_bytes > available:
        raise ValueError(
            f"The label bounds {num_pred} x {num_target} need a table of {table_bytes} bytes "
            f"({table_bytes / 2**30:.1f} GiB), more than the {available} bytes ({available / 2**30:.1f} GiB) of "
            "memory available; give smaller bounds, or leave them out (the state then grows with the distinct "
            "label pairs seen)."
        )
    return num_pred, num_target


def _is_integer(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _tensors(value: Any) -> List[Any]:
    # A list state, or the one tensor torchmetrics leaves after a sync.
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_rows(value: Any, name: str, width: int, what: str, source: str) -> None:
    for t in _tensors(value):
        if not isinstance(t, Tensor) or t.dim() != 2 or t.shape[1] != width or t.dtype != torch.int64:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(
                f"Expected `{name}` to hold {what} of shape (n, {width}) and dtype int64 but got {got} ({source})."
            )


def cells_of_table(table: Tensor, num_target_clusters: int) -> Tuple[Tensor, Tensor, Tensor]:
    """(pred ids, target ids, counts) of the non-empty cells of a ``count_into_table`` table (its outside slot left out)."""
    cells = table[:-1].nonzero().squeeze(1)
    return cells // num_target_clusters, cells % num_target_clusters, table[cells]


class _State:
    """What both kinds of state share: the ``bounds`` state, the checks of an incoming state and the summary."""

    def weighted_pairs(self, metric: Any) -> Tuple[Tensor, Tensor, Tensor]:
        """(preds, target, counts): everything counted, as label pairs with a count each (a pair may repeat)."""
        raise NotImplementedError

    def summary(self, metric: Any, expected_mutual_info: bool) -> ContingencySummary:
        return contingency_summary(*self.weighted_pairs(metric), expected_mutual_info=expected_mutual_info)

    names: Tuple[str, ...] = ()
    other_names: Tuple[str, ...] = ()
    bounds: Tuple[int, int] = NO_BOUNDS

    def add_states(self, metric: Any) -> None:
        metric.add_state("bounds", default=torch.tensor(self.bounds, dtype=torch.int64), dist_reduce_fx=_same_on_every_rank)

    def check_own(self, metric: Any) -> None:
        """Refuses a metric whose state is another's: a compute group of metrics with different bounds."""
        held = getattr(metric, "bounds", None)
        if not isinstance(held, Tensor) or tuple(held.tolist()) != self.bounds:
            shown = _describe_bounds(held.tolist()) if isinstance(held, Tensor) else "no state"
            raise ValueError(
                f"This {type(metric).__name__} has {_describe_bounds(self.bounds)} but holds the state of a metric "
                f"with {shown}. Metrics share a state only in a compute group (MetricCollection), which needs the "
                "same num_pred_clusters and num_target_clusters on all its metrics: put metrics with other bounds "
                "in other groups, or let MetricCollection form the groups."
            )

    def check_incoming(self, state: Dict[str, Any], source: str) -> None:
        """Refuses a state (from merge_state or load_state_dict) that this metric cannot add or hold."""
        required = [name for name in self.names if name != "bounds" or self.bounds != NO_BOUNDS]
        if any(name in state for name in self.other_names) or any(name not in state for name in required):
            raise ValueError(
                f"Expected the state of a clustering_metrics metric with {_describe_bounds(self.bounds)}, with "
                f"entries {', '.join(required)}, but got one with {', '.join(map(str, state)) or 'no entries'} "
                f"({source})."
            )
        if "bounds" in state:
            bounds = state["bounds"]
            if not isinstance(bounds, Tensor) or bounds.shape != (2,) or bounds.dtype != torch.int64:
                got = f"{tuple(bounds.shape)} {bounds.dtype}" if isinstance(bounds, Tensor) else type(bounds).__name__
                raise ValueError(f"Expected `bounds` to be an int64 tensor of shape (2,) but got {got} ({source}).")
            if tuple(bounds.tolist()) != self.bounds:
                raise ValueError(
                    f"Expected a state with {_describe_bounds(self.bounds)}, as this metric has, but got one with "
                    f"{_describe_bounds(bounds.tolist())} ({source}): a state adds only to a metric with the same "
                    "bounds."
                )


class HistogramState(_State):
    """No label bounds: histograms of distinct pairs plus the pending labels of small batches.

    * ``histogram``: (pairs, 3) int64 rows (pred, target, count), kept as a
      log-structured list, each under half the size of the one before, so
      that an update merges into small ones only and the list holds under
      twice the rows of one merged histogram;
    * ``pending``: (n, 2) int64 label pairs of recent small batches (at most
      ``PENDING_LABELS`` in all), counted together when they fill up.
    """

    names = ("bounds", "histogram", "pending")
    other_names = ("table",)

    def add_states(self, metric: Any) -> None:
        super().add_states(metric)
        # List states so torchmetrics gathers ranks of different sizes; each
        # always holds one int64 tensor (possibly empty) so that a rank that
        # saw no data still sends int64, not torchmetrics' float placeholder.
        metric.add_state("histogram", default=[], dist_reduce_fx="cat")
        metric.add_state("pending", default=[], dist_reduce_fx="cat")
        self.reset(metric)

    def reset(self, metric: Any) -> None:
        device = metric.bounds.device
        metric.histogram = [torch.empty((0, 3), dtype=torch.int64, device=device)]
        metric.pending = [torch.empty((0, 2), dtype=torch.int64, device=device)]
        # [the list, its length, its labels] when last counted; changed in
        # place, since setting a module attribute costs more than an update.
        metric._pending_count = [metric.pending, 1, 0]

    def update(self, metric: Any, preds: Tensor, target: Tensor) -> None:
        device = metric.histogram[0].device if metric.histogram else metric.device
        if preds.numel() >= PENDING_LABELS:
            self._push_level(metric, _histogram(preds, target).to(device))
            return
        metric.pending.append(_pending_batch(preds, target, device))
        if self._pending_labels(metric) >= PENDING_LABELS:
            self._count_pending(metric)

    def weighted_pairs(self, metric: Any) -> Tuple[Tensor, Tensor, Tensor]:
        # After a sync, torchmetrics leaves each list state as one gathered tensor.
        pending, histogram = _cat(metric.pending, 2), _cat(metric.histogram, 3)
        preds = torch.cat([histogram[:, _PRED], pending[:, _PRED]])
        target = torch.cat([histogram[:, _TARGET], pending[:, _TARGET]])
        counts = torch.cat([histogram[:, _COUNT], torch.ones_like(pending[:, _PRED])])
        return preds, target, counts

    def check_incoming(self, state: Dict[str, Any], source: str) -> None:
        super().check_incoming(state, source)
        _check_rows(state["histogram"], "histogram", 3, "histogram rows (pred, target, count)", source)
        _check_rows(state["pending"], "pending", 2, "label pairs (pred, target)", source)
        if any(bool((level[:, _COUNT] < 0).any()) for level in _tensors(state["histogram"]) if level.numel()):
            raise ValueError(f"Expected non-negative histogram counts but the state has a negative one ({source}).")

    def add(self, metric: Any, state: Dict[str, Any]) -> None:
        device = metric.histogram[0].device if metric.histogram else metric.device
        for level in _tensors(state["histogram"]):
            if level.shape[0] > 0:
                self._push_level(metric, level.to(device))
        for batch in _tensors(state["pending"]):
            metric.pending.append(batch.to(device))
        if self._pending_labels(metric) >= PENDING_LABELS:
            self._count_pending(metric)

    @staticmethod
    def _pending_labels(metric: Any) -> int:
        # Counts only what was appended since the last call, unless
        # torchmetrics replaced the list (sync, to(), load_state_dict).
        count = metric._pending_count
        if count[0] is not metric.pending or count[1] > len(metric.pending):
            count[:] = [metric.pending, 0, 0]
        count[2] += sum(p.shape[0] for p in metric.pending[count[1]:])
        count[1] = len(metric.pending)
        return count[2]

    def _count_pending(self, metric: Any) -> None:
        pending = torch.cat(metric.pending)
        metric.pending = [pending[:0].clone()]
        self._push_level(metric, _histogram(pending[:, _PRED].contiguous(), pending[:, _TARGET].contiguous()))

    @staticmethod
    def _push_level(metric: Any, level: Tensor) -> None:
        # Merge while the last histogram is at least half the one before: the
        # sizes then at least halve along the list, so it holds under twice
        # the rows of the first, and each row is merged O(log) times.
        levels = [h for h in metric.histogram if h.shape[0] > 0] + [level]
        while len(levels) >= 2 and levels[-2].shape[0] <= 2 * levels[-1].shape[0]:
            last = levels.pop()
            levels[-1] = _merged([levels[-1], last])
        metric.histogram = levels


class TableState(_State):
    """Known label bounds: ``table``, a dense int64 contingency table plus one count of samples outside the bounds.

    An update is one :func:`clustering_metrics.ops.count_into_table` launch
    that never synchronises with the GPU; the table is summed across ranks.
    """

    names = ("bounds", "table")
    other_names = ("histogram", "pending")

    def __init__(self, bounds: Tuple[int, int]) -> None:
        self.bounds = bounds

    def add_states(self, metric: Any) -> None:
        super().add_states(metric)
        num_pred, num_target = self.bounds
        size = num_pred * num_target + 1
        try:
            table = torch.zeros(size, dtype=torch.int64)
        except RuntimeError:  # torch's allocator message runs to a page; say what was asked for
            raise ValueError(
                f"Could not allocate the table of the label bounds {num_pred} x {num_target}: {8 * size} bytes."
            ) from None
        metric.add_state("table", default=table, dist_reduce_fx="sum")

    def reset(self, metric: Any) -> None:
        pass

    def update(self, metric: Any, preds: Tensor, target: Tensor) -> None:
        device = metric.table.device
        ops.count_into_table(preds.to(device), target.to(device), metric.table, *self.bounds)

    def weighted_pairs(self, metric: Any) -> Tuple[Tensor, Tensor, Tensor]:
        num_pred, num_target = self.bounds
        outside = int(metric.table[-1])
        if outside:
            raise ValueError(
                f"{outside} samples had a label outside the bounds given, preds in [0, {num_pred}) and target in "
                f"[0, {num_target}); they were not counted. Fix the labels or the bounds, then reset() the metric."
            )
        return cells_of_table(metric.table, num_target)

    def check_incoming(self, state: Dict[str, Any], source: str) -> None:
        super().check_incoming(state, source)
        table = state["table"]
        size = self.bounds[0] * self.bounds[1] + 1
        if not isinstance(table, Tensor) or table.shape != (size,) or table.dtype != torch.int64:
            got = f"{tuple(table.shape)} {table.dtype}" if isinstance(table, Tensor) else type(table).__name__
            raise ValueError(
                f"Expected `table` to be an int64 tensor of shape ({size},) (num_pred_clusters x num_target_clusters "
                f"+ 1) but got {got} ({source})."
            )
        if bool((table < 0).any()):
            raise ValueError(f"Expected non-negative table counts but the state has a negative one ({source}).")

    def add(self, metric: Any, state: Dict[str, Any]) -> None:
        metric.table += state["table"].to(metric.table.device)


def state_for(bounds: Optional[Tuple[int, int]]) -> _State:
    """The state of a metric with these label bounds (None: no bounds)."""
    return HistogramState() if bounds is None else TableState(bounds)


def as_int64(labels: Tensor) -> Tensor:
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
    return torch.stack([as_int64(preds), as_int64(target)], dim=1).to(device)


def _histogram(preds: Tensor, target: Tensor, counts: Optional[Tensor] = None) -> Tensor:
    """(pairs, 3) int64 rows (pred, target, count), one per distinct pair."""
    pred, target_labels, count = ops.pair_histogram(preds, target, counts)
    return torch.stack([as_int64(pred), as_int64(target_labels), count], dim=1)


def _merged(levels: Sequence[Tensor]) -> Tensor:
    """Histograms merged into one with distinct pairs."""
    stacked = torch.cat(list(levels))
    return _histogram(stacked[:, _PRED].contiguous(), stacked[:, _TARGET].contiguous(), stacked[:, _COUNT].contiguous())


def _cat(value: Any, width: int) -> Tensor:
    tensors = [t.reshape(-1, width) for t in _tensors(value)]
    return torch.cat(tensors) if tensors else torch.empty((0, width), dtype=torch.int64)
