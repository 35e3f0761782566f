// CPU implementations of the clustering_metrics ops.
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "../host/checks.h"
#include "../common/summary.h"
#include "../host/expanded_inputs.h"
#include "../host/expected_mutual_info.h"
#include "../host/linear_assignment.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

std::tuple<Tensor, Tensor, Tensor> histogram_of_input(const Tensor& preds, const Tensor& target,
                                                      const std::optional<Tensor>& weights) {
  CountedCells cells = count_pair_cells(preds, target, weights, /*keep_labels=*/true);
  return histogram_of(cells, preds.scalar_type(), target.scalar_type());
}

// The input to count, with expanded (stride-0) sides rewritten compactly.
CountingInput compact(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights) {
  return without_repeats(CountingInput{preds, target, weights}, histogram_of_input);
}

CountedCells count_compact(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights) {
  const CountingInput input = compact(preds, target, weights);
  return count_pair_cells(input.preds, input.target, input.weights, /*keep_labels=*/false);
}

std::tuple<Tensor, Tensor, Tensor> pair_histogram_cpu(Tensor preds, Tensor target, std::optional<Tensor> counts) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const CountingInput input = compact(preds, target, counts);
  return histogram_of_input(input.preds, input.target, input.weights);
}

Tensor scalar(double value) {
  Tensor out = torch::stable::empty({}, ScalarType::Double);
  *static_cast<double*>(out.mutable_data_ptr()) = value;
  return out;
}

Tensor mutual_info_of(CountedCells cells) {
  const Summary summary = summarize(cells);
  return scalar(mutual_info(cells, summary));
}

Tensor mutual_info_from_histogram_cpu(Tensor pred_labels, Tensor target_labels, Tensor counts) {
  check_label_pair(pred_labels, target_labels, "pred_labels", "target_labels");
  check_counts(counts, pred_labels, "counts");
  return mutual_info_of(count_compact(pred_labels, target_labels, counts));
}

Tensor mutual_info_score_cpu(Tensor preds, Tensor target) {
  check_label_pair(preds, target, "preds", "target");
  return mutual_info_of(count_compact(preds, target, std::nullopt));
}

// The nonzero totals, in label order.
Tensor nonzero_totals(const Totals& totals, int64_t count) {
  Tensor out = torch::stable::empty({count}, ScalarType::Long);
  int64_t* data = static_cast<int64_t*>(out.mutable_data_ptr());
  for (int64_t id = 0; id < totals.size(); ++id) {
    if (totals[id] != 0) *data++ = totals[id];
  }
  return out;
}

std::tuple<Tensor, Tensor, Tensor, Tensor> contingency_summary_cpu(Tensor preds, Tensor target,
                                                                   std::optional<Tensor> counts,
                                                                   bool with_expected_mutual_info,
                                                                   bool with_mutual_info) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  CountedCells cells = count_compact(preds, target, counts);
  const Summary summary = summarize(cells);
  SummaryValues values;
  values.total = summary.total;
  values.num_cells = summary.num_cells;
  values.num_pred_clusters = summary.num_pred_clusters;
  values.num_target_clusters = summary.num_target_clusters;
  values.pairs = summary.pairs;
  values.entropy_pred = summary.entropy_pred;
  values.entropy_target = summary.entropy_target;
  values.cells_n_log_n = static_cast<double>(summary.cells_n_log_n);
  values.pred_n_log_n = static_cast<double>(summary.pred_n_log_n);
  values.target_n_log_n = static_cast<double>(summary.target_n_log_n);
  values.expected_mutual_info = with_expected_mutual_info
                                    ? expected_mutual_info(summary.row_tally, summary.col_tally, summary.total)
                                    : std::numeric_limits<double>::quiet_NaN();
  // The adjusted MI's numerator is MI - EMI: the MI is then accurate relative to that too.
  // Skipped when no metric asked needs it: below kTermBlock cells it costs a
  // series per cell, more than the rest of the summary.
  values.mutual_info = with_mutual_info
                           ? mutual_info(cells, summary, with_expected_mutual_info ? values.expected_mutual_info : 0.0)
                           : std::numeric_limits<double>::quiet_NaN();
  cells = CountedCells{};  // the outputs need only the summary
  Tensor integers = torch::stable::empty({kNumSummaryIntegers}, ScalarType::Long);
  Tensor reals = torch::stable::empty({kNumSummaryReals}, ScalarType::Double);
  write_summary_slots(values, static_cast<int64_t*>(integers.mutable_data_ptr()),
                      static_cast<double*>(reals.mutable_data_ptr()));
  return {nonzero_totals(summary.row_totals, summary.num_pred_clusters),
          nonzero_totals(summary.col_totals, summary.num_target_clusters), integers, reals};
}

void count_into_table_cpu(Tensor preds, Tensor target, Tensor table, int64_t num_pred_clusters,
                          int64_t num_target_clusters) {
  check_label_pair(preds, target, "preds", "target");
  const BoundedTable bounded = check_bounded_table(table, num_pred_clusters, num_target_clusters, preds);
  count_into_table(preds, target, table, bounded);
}

std::tuple<Tensor, Tensor> rank_labels_cpu(Tensor labels) {
  check_label_tensor(labels, "labels");
  return rank_labels(labels);
}

std::tuple<Tensor, Tensor, Tensor> cluster_moments_cpu(Tensor data, Tensor ids, int64_t num_clusters,
                                                       std::optional<Tensor> weights, std::optional<Tensor> m2) {
  check_embeddings(data, ids, num_clusters);
  if (weights.has_value()) check_counts(*weights, ids, "weights");
  if (m2.has_value()) check_float64(*m2, "m2", {data.size(0)}, data);
  return cluster_moments(data, ids, num_clusters, weights, m2);
}

std::tuple<Tensor, Tensor> cluster_distances_cpu(Tensor data, Tensor ids, Tensor centroids, double p) {
  check_embeddings(data, ids, centroids.dim() == 2 ? centroids.size(0) : 0);
  check_float64(centroids, "centroids", {centroids.dim() == 2 ? centroids.size(0) : -1, data.size(1)}, data);
  check_norm_order(p);
  return cluster_distances(data, ids, centroids, p);
}

Tensor silhouette_sums_cpu(Tensor data, Tensor ids, int64_t num_clusters) {
  check_embeddings(data, ids, num_clusters);
  return silhouette_sums(data, ids, num_clusters);
}

std::tuple<Tensor, Tensor> linear_sum_assignment_cpu(Tensor cost, bool maximize) {
  return linear_sum_assignment(cost, maximize);
}

Tensor bootstrap_counts_cpu(Tensor counts, int64_t num_resamples, int64_t seed, int64_t first_resample) {
  check_bootstrap_arguments(counts, num_resamples, first_resample);
  return bootstrap_counts(counts, num_resamples, seed, first_resample);
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(clustering_metrics, CPU, m) {
  m.impl("pair_histogram", TORCH_BOX(&pair_histogram_cpu));
  m.impl("mutual_info_from_histogram", TORCH_BOX(&mutual_info_from_histogram_cpu));
  m.impl("mutual_info_score", TORCH_BOX(&mutual_info_score_cpu));
  m.impl("contingency_summary", TORCH_BOX(&contingency_summary_cpu));
  m.impl("count_into_table", TORCH_BOX(&count_into_table_cpu));
  m.impl("rank_labels", TORCH_BOX(&rank_labels_cpu));
  m.impl("cluster_moments", TORCH_BOX(&cluster_moments_cpu));
  m.impl("cluster_distances", TORCH_BOX(&cluster_distances_cpu));
  m.impl("silhouette_sums", TORCH_BOX(&silhouette_sums_cpu));
  m.impl("linear_sum_assignment", TORCH_BOX(&linear_sum_assignment_cpu));
  m.impl("bootstrap_counts", TORCH_BOX(&bootstrap_counts_cpu));
}

}  // namespace clustering_metrics::cpu
