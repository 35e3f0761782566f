// CUDA implementations of the clustering_metrics ops, mirroring cpu/ops_cpu.cpp.
//
// With CM_EMULATE (tests only) the same op bodies are registered as the CPU
// kernels of the test library clustering_metrics_emulated, where they run
// the whole CUDA pipeline, kernels and launch code, on host memory through
// the SIMT emulator (tests/emulator).
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <cmath>
#include <vector>

#include "../common/summary.h"
#include "../host/checks.h"
#include "../host/expanded_inputs.h"
#include "../host/expected_mutual_info.h"
#include "../host/linear_assignment.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// The ops read label ranges and output sizes back to the host, which a CUDA
// graph cannot record; refusing up front leaves the capture in a clean state.
// Also checks the driver, which every op's first CUDA call would need.
void check_not_capturing(const char* op) {
  check_cuda_driver();
  CM_CHECK(!stream_is_capturing(), "clustering_metrics::", op,
           " cannot be captured in a CUDA graph: it synchronises to read label ranges and output sizes "
           "back to the host. Call it outside the captured region, or count into a table with "
           "count_into_table (the metrics' num_pred_clusters and num_target_clusters), which can be captured.");
}

std::tuple<Tensor, Tensor, Tensor> histogram_of_input(const Tensor& preds, const Tensor& target,
                                                      const std::optional<Tensor>& weights) {
  return histogram_of(count_pair_cells(preds, target, weights, /*keep_labels=*/true), preds.scalar_type(),
                      target.scalar_type());
}

// The cells of the input, with expanded (stride-0) sides rewritten compactly.
CountedCells count_compact(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights) {
  const CountingInput input = without_repeats(CountingInput{preds, target, weights}, histogram_of_input);
  return count_pair_cells(input.preds, input.target, input.weights, /*keep_labels=*/false);
}

std::tuple<Tensor, Tensor, Tensor> pair_histogram_cuda(const Tensor& preds, const Tensor& target,
                                                       const std::optional<Tensor>& counts) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const DeviceGuard device_guard(preds.get_device_index());
  check_not_capturing("pair_histogram");
  const CountingInput input = without_repeats(CountingInput{preds, target, counts}, histogram_of_input);
  return histogram_of_input(input.preds, input.target, input.weights);
}

// A 0-dim float64 tensor of the MI, on the device.
Tensor mutual_info_of(const CountedCells& cells) {
  Summary summary = summarize(cells);
  mutual_info(cells, summary);
  Tensor mi = torch::stable::empty({}, ScalarType::Double, std::nullopt, cells.listed.keys.device());
  copy_on_device(mi.mutable_data_ptr(), cdata_of<double>(summary.reals) + kMutualInfo, sizeof(double));
  return mi;
}

Tensor mutual_info_from_histogram_cuda(const Tensor& pred_labels, const Tensor& target_labels, const Tensor& counts) {
  check_label_pair(pred_labels, target_labels, "pred_labels", "target_labels");
  check_counts(counts, pred_labels, "counts");
  const DeviceGuard device_guard(pred_labels.get_device_index());
  check_not_capturing("mutual_info_from_histogram");
  return mutual_info_of(count_compact(pred_labels, target_labels, counts));
}

Tensor mutual_info_score_cuda(const Tensor& preds, const Tensor& target) {
  check_label_pair(preds, target, "preds", "target");
  const DeviceGuard device_guard(preds.get_device_index());
  check_not_capturing("mutual_info_score");
  return mutual_info_of(count_compact(preds, target, std::nullopt));
}

CountTally tally_on_host(const Tensor& totals) {
  std::vector<int64_t> host(totals.numel());
  copy_to_host(host.data(), cdata_of<int64_t>(totals), host.size() * sizeof(int64_t));
  CountTally tally;
  tally.add(host.data(), static_cast<int64_t>(host.size()));
  return tally;
}

// The EMI runs on the CPU from the copied-back totals: it needs only them
// (at most about sqrt(2N) distinct values a side, so a few KB), and long
// double precision, which GPUs lack.
std::tuple<Tensor, Tensor, Tensor, Tensor> contingency_summary_cuda(const Tensor& preds, const Tensor& target,
                                                                    const std::optional<Tensor>& counts,
                                                                    bool with_expected_mutual_info,
                                                                    bool with_mutual_info) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const DeviceGuard device_guard(preds.get_device_index());
  check_not_capturing("contingency_summary");
  const CountedCells cells = count_compact(preds, target, counts);
  Summary summary = summarize(cells);
  if (with_mutual_info) mutual_info(cells, summary);  // the slot stays NaN otherwise
  Tensor pred_totals = nonzero_entries(summary.row_totals);
  Tensor target_totals = nonzero_entries(summary.col_totals);
  if (with_expected_mutual_info) {
    const double emi = expected_mutual_info(tally_on_host(pred_totals), tally_on_host(target_totals), cells.total);
    copy_to_device(data_of<double>(summary.reals) + kExpectedMutualInfo, &emi, sizeof(emi));
  }
  return {pred_totals, target_totals, summary.integers, summary.reals};
}

// No synchronisation, so it may be captured in a CUDA graph.
void count_into_table_cuda(const Tensor& preds, const Tensor& target, Tensor table, int64_t num_pred_clusters,
                           int64_t num_target_clusters) {
  check_label_pair(preds, target, "preds", "target");
  const BoundedTable bounded = check_bounded_table(table, num_pred_clusters, num_target_clusters, preds);
  const DeviceGuard device_guard(preds.get_device_index());
  check_cuda_driver();
  count_into_table(preds, target, table, bounded);
}

std::tuple<Tensor, Tensor> rank_labels_cuda(const Tensor& labels) {
  check_label_tensor(labels, "labels");
  const DeviceGuard device_guard(labels.get_device_index());
  check_not_capturing("rank_labels");
  return rank_labels(labels);
}

std::tuple<Tensor, Tensor, Tensor> cluster_moments_cuda(const Tensor& data, const Tensor& ids, int64_t num_clusters,
                                                        const std::optional<Tensor>& weights,
                                                        const std::optional<Tensor>& m2) {
  check_embeddings(data, ids, num_clusters);
  if (weights.has_value()) check_counts(*weights, ids, "weights");
  if (m2.has_value()) check_float64(*m2, "m2", {data.size(0)}, data);
  const DeviceGuard device_guard(data.get_device_index());
  check_not_capturing("cluster_moments");
  return cluster_moments(data, ids, num_clusters, weights, m2);
}

std::tuple<Tensor, Tensor> cluster_distances_cuda(const Tensor& data, const Tensor& ids, const Tensor& centroids,
                                                  double p) {
  check_embeddings(data, ids, centroids.dim() == 2 ? centroids.size(0) : 0);
  check_float64(centroids, "centroids", {centroids.dim() == 2 ? centroids.size(0) : -1, data.size(1)}, data);
  check_norm_order(p);
  const DeviceGuard device_guard(data.get_device_index());
  check_not_capturing("cluster_distances");
  return cluster_distances(data, ids, centroids, p);
}

Tensor silhouette_sums_cuda(const Tensor& data, const Tensor& ids, int64_t num_clusters) {
  check_embeddings(data, ids, num_clusters);
  const DeviceGuard device_guard(data.get_device_index());
  check_not_capturing("silhouette_sums");
  return silhouette_sums(data, ids, num_clusters);
}

// The assignment runs on the host: a GPU histogram's table is small (a few
// thousand clusters), and the solver is a sequence of dependent
// shortest-path searches, which one GPU thread would run far slower.
std::tuple<Tensor, Tensor> linear_sum_assignment_cuda(const Tensor& cost, bool maximize) {
  const DeviceGuard device_guard(cost.get_device_index());
  check_not_capturing("linear_sum_assignment");
  const torch::stable::Device host(torch::headeronly::DeviceType::CPU);
  auto [rows, cols] = linear_sum_assignment(torch::stable::to(cost, host), maximize);
  return {torch::stable::to(rows, cost.device()), torch::stable::to(cols, cost.device())};
}

Tensor bootstrap_counts_cuda(const Tensor& counts, int64_t num_resamples, int64_t seed, int64_t first_resample) {
  check_bootstrap_arguments(counts, num_resamples, first_resample);
  const DeviceGuard device_guard(counts.get_device_index());
  check_not_capturing("bootstrap_counts");
  return bootstrap_counts(counts, num_resamples, seed, first_resample);
}

}  // namespace

#if defined(CM_EMULATE)
STABLE_TORCH_LIBRARY_IMPL(clustering_metrics_emulated, CPU, m) {
#else
STABLE_TORCH_LIBRARY_IMPL(clustering_metrics, CUDA, m) {
#endif
  m.impl("pair_histogram", TORCH_BOX(&pair_histogram_cuda));
  m.impl("mutual_info_from_histogram", TORCH_BOX(&mutual_info_from_histogram_cuda));
  m.impl("mutual_info_score", TORCH_BOX(&mutual_info_score_cuda));
  m.impl("contingency_summary", TORCH_BOX(&contingency_summary_cuda));
  m.impl("count_into_table", TORCH_BOX(&count_into_table_cuda));
  m.impl("rank_labels", TORCH_BOX(&rank_labels_cuda));
  m.impl("cluster_moments", TORCH_BOX(&cluster_moments_cuda));
  m.impl("cluster_distances", TORCH_BOX(&cluster_distances_cuda));
  m.impl("silhouette_sums", TORCH_BOX(&silhouette_sums_cuda));
  m.impl("linear_sum_assignment", TORCH_BOX(&linear_sum_assignment_cuda));
  m.impl("bootstrap_counts", TORCH_BOX(&bootstrap_counts_cuda));
}

}  // namespace clustering_metrics::cuda
