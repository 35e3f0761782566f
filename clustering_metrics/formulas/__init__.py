"""Every metric of the family as a formula over a :class:`~clustering_metrics.summary.ContingencySummary`.

One module per family: :mod:`.information` (mutual information, normalised and
adjusted MI, homogeneity, completeness, V-measure) and :mod:`.pair_counting`
(Rand, adjusted Rand, Fowlkes-Mallows). The formulas are torch operations on
the summary's 0-dim tensors, so they run on its device without synchronising,
and follow scikit-learn's conventions on the edge cases (single clusters,
empty input, a perfect match, h + c = 0). Results are float64.
"""

from typing import Dict, List, Sequence, Union

from torch import Tensor

from clustering_metrics.formulas.information import (
    adjusted_mutual_info,
    completeness,
    homogeneity,
    mutual_info,
    normalized_mutual_info,
    v_measure,
)
from clustering_metrics.formulas.pair_counting import adjusted_rand_index, fowlkes_mallows, rand_index
from clustering_metrics.summary import ContingencySummary

__all__ = [
    "METRICS",
    "NEEDS_EXPECTED_MUTUAL_INFO",
    "NEEDS_MUTUAL_INFO",
    "adjusted_mutual_info",
    "adjusted_rand_index",
    "completeness",
    "fowlkes_mallows",
    "homogeneity",
    "metric_names",
    "mutual_info",
    "needs_expected_mutual_info",
    "needs_mutual_info",
    "normalized_mutual_info",
    "rand_index",
    "scores",
    "v_measure",
]

# Metric name (as the functional is called) -> formula(summary, average_method, beta).
METRICS = {
    "mutual_info_score": lambda s, average_method, beta: mutual_info(s),
    "normalized_mutual_info_score": lambda s, average_method, beta: normalized_mutual_info(s, average_method),
    "adjusted_mutual_info_score": lambda s, average_method, beta: adjusted_mutual_info(s, average_method),
    "rand_score": lambda s, average_method, beta: rand_index(s),
    "adjusted_rand_score": lambda s, average_method, beta: adjusted_rand_index(s),
    "homogeneity_score": lambda s, average_method, beta: homogeneity(s),
    "completeness_score": lambda s, average_method, beta: completeness(s),
    "v_measure_score": lambda s, average_method, beta: v_measure(s, beta),
    "fowlkes_mallows_index": lambda s, average_method, beta: fowlkes_mallows(s),
}
NEEDS_EXPECTED_MUTUAL_INFO = frozenset({"adjusted_mutual_info_score"})
NEEDS_MUTUAL_INFO = frozenset({"mutual_info_score", "normalized_mutual_info_score", "adjusted_mutual_info_score",
                               "homogeneity_score", "completeness_score", "v_measure_score"})


def metric_names(metrics: Union[str, Sequence[str], None] = None) -> List[str]:
    """The names in ``metrics``, a name or a sequence of names (default: every metric), checked against :data:`METRICS`."""
    names = list(METRICS) if metrics is None else [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(METRICS)}")
    return names


def needs_expected_mutual_info(names: Sequence[str]) -> bool:
    """Whether any of the metrics needs the expected MI, the costliest part of a summary."""
    return any(name in NEEDS_EXPECTED_MUTUAL_INFO for name in names)


def needs_mutual_info(names: Sequence[str]) -> bool:
    """Whether any of the metrics needs the MI (the information metrics do, the pair-counting ones do not)."""
    return any(name in NEEDS_MUTUAL_INFO for name in names)


def scores(
    summary: ContingencySummary,
    metrics: Union[str, Sequence[str], None] = None,
    average_method: str = "arithmetic",
    beta: float = 1.0,
) -> Dict[str, Tensor]:
    """{metric name: float64 0-dim tensor} for the named metrics (default: all), from one summary."""
    return {name: METRICS[name](summary, average_method, beta) for name in metric_names(metrics)}
