"""Exact, fast clustering-comparison metrics as compiled PyTorch custom ops.

``import clustering_metrics`` loads the compiled library and registers the
``torch.ops.clustering_metrics`` ops with their fake kernels. The data flow:
labels -> pair histogram -> contingency summary (:mod:`.summary`) -> formulas
(:mod:`.formulas`), behind the functionals (:mod:`.functional`) and the
metric classes below.
"""

from clustering_metrics._loader import load_library as _load_library

_load_library()

from clustering_metrics import ops  # noqa: E402
from clustering_metrics.functional import (  # noqa: E402
    adjusted_mutual_info_score,
    adjusted_rand_score,
    clustering_scores,
    completeness_score,
    fowlkes_mallows_index,
    homogeneity_score,
    mutual_info_score,
    normalized_mutual_info_score,
    rand_score,
    v_measure_score,
)
from clustering_metrics.metric import (  # noqa: E402
    AdjustedMutualInfoScore,
    AdjustedRandScore,
    ClusteringScores,
    CompletenessScore,
    FowlkesMallowsIndex,
    HomogeneityScore,
    MutualInfoScore,
    NormalizedMutualInfoScore,
    RandScore,
    VMeasureScore,
)
from clustering_metrics.summary import ContingencySummary, contingency_summary  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "AdjustedMutualInfoScore",
    "AdjustedRandScore",
    "ClusteringScores",
    "CompletenessScore",
    "ContingencySummary",
    "FowlkesMallowsIndex",
    "HomogeneityScore",
    "MutualInfoScore",
    "NormalizedMutualInfoScore",
    "RandScore",
    "VMeasureScore",
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "clustering_scores",
    "completeness_score",
    "contingency_summary",
    "fowlkes_mallows_index",
    "homogeneity_score",
    "mutual_info_score",
    "normalized_mutual_info_score",
    "ops",
    "rand_score",
    "v_measure_score",
]
