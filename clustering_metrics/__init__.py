"""Exact, fast clustering-comparison metrics as compiled PyTorch custom ops.

``import clustering_metrics`` loads the compiled library and registers the
``torch.ops.clustering_metrics`` ops with their fake kernels. The data flow:
labels -> pair histogram -> contingency summary (:mod:`.summary`) -> formulas
(:mod:`.formulas`), behind the functionals (:mod:`.functional`) and the
metric classes below; embedded data -> per-cluster reductions -> the
intrinsic metrics (:mod:`.embeddings`).
"""

from clustering_metrics._loader import load_library as _load_library

_load_library()

from clustering_metrics import ops  # noqa: E402
from clustering_metrics.functional import (  # noqa: E402
    adjusted_mutual_info_score,
    adjusted_rand_score,
    bootstrap_scores,
    calinski_harabasz_score,
    cluster_accuracy,
    clustering_scores,
    completeness_score,
    contingency_matrix,
    davies_bouldin_score,
    dunn_index,
    fowlkes_mallows_index,
    homogeneity_score,
    mutual_info_score,
    normalized_mutual_info_score,
    pair_confusion_matrix,
    pairwise_scores,
    rand_score,
    silhouette_samples,
    silhouette_score,
    v_measure_score,
)
from clustering_metrics.summary import ContingencySummary, contingency_summary  # noqa: E402

# The metric classes subclass torchmetrics.Metric, and importing torchmetrics
# takes about a second (it imports scipy.signal): they load on first use, so
# that the functionals, the ops and the command line start fast.
_METRIC_CLASSES = (
    "AdjustedMutualInfoScore",
    "AdjustedRandScore",
    "CalinskiHarabaszScore",
    "ClusterAccuracy",
    "ClusteringScores",
    "CompletenessScore",
    "DaviesBouldinScore",
    "DunnIndex",
    "FowlkesMallowsIndex",
    "HomogeneityScore",
    "MutualInfoScore",
    "NormalizedMutualInfoScore",
    "RandScore",
    "SilhouetteScore",
    "VMeasureScore",
)


def __getattr__(name: str):
    if name in _METRIC_CLASSES:
        from clustering_metrics import metric

        return getattr(metric, name)
    raise AttributeError(f"module 'clustering_metrics' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_METRIC_CLASSES))


__version__ = "0.1.0"
__all__ = sorted([
    *_METRIC_CLASSES,
    "ContingencySummary",
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "bootstrap_scores",
    "calinski_harabasz_score",
    "cluster_accuracy",
    "clustering_scores",
    "completeness_score",
    "contingency_matrix",
    "contingency_summary",
    "davies_bouldin_score",
    "dunn_index",
    "fowlkes_mallows_index",
    "homogeneity_score",
    "mutual_info_score",
    "normalized_mutual_info_score",
    "ops",
    "pair_confusion_matrix",
    "pairwise_scores",
    "rand_score",
    "silhouette_samples",
    "silhouette_score",
    "v_measure_score",
])
