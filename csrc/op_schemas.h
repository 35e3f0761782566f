// The ops' schemas: one list for their registration (ops.cpp) and for the op
// names the Python module exports (python_module.cpp), which the fake
// kernels, the tests and the emulated library check themselves against.
#pragma once

namespace clustering_metrics {

inline constexpr const char* kOpSchemas[] = {
    "pair_histogram(Tensor preds, Tensor target, Tensor? counts=None) -> "
    "(Tensor pred_labels, Tensor target_labels, Tensor counts)",
    "mutual_info_from_histogram(Tensor pred_labels, Tensor target_labels, Tensor counts) -> Tensor",
    "mutual_info_score(Tensor preds, Tensor target) -> Tensor",
    "contingency_summary(Tensor preds, Tensor target, Tensor? counts=None, bool expected_mutual_info=False, "
    "bool mutual_info=True) -> "
    "(Tensor pred_totals, Tensor target_totals, Tensor integers, Tensor reals)",
    "count_into_table(Tensor preds, Tensor target, Tensor(a!) table, int num_pred_clusters, "
    "int num_target_clusters) -> ()",
    "rank_labels(Tensor labels) -> (Tensor ids, Tensor distinct)",
    "cluster_moments(Tensor data, Tensor ids, int num_clusters, Tensor? weights=None, Tensor? m2=None) -> "
    "(Tensor counts, Tensor means, Tensor m2)",
    "cluster_distances(Tensor data, Tensor ids, Tensor centroids, float p=2.) -> "
    "(Tensor sum_euclidean, Tensor max_norm)",
    "silhouette_sums(Tensor data, Tensor ids, int num_clusters) -> Tensor",
    "linear_sum_assignment(Tensor cost, bool maximize=False) -> (Tensor row_ind, Tensor col_ind)",
    "bootstrap_counts(Tensor counts, int num_resamples, int seed, int first_resample=0) -> Tensor",
};

}  // namespace clustering_metrics
