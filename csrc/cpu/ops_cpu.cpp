// CPU implementations of the clustering_metrics ops.
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "../common/checks.h"
#include "../common/summary.h"
#include "../host/expanded_inputs.h"
#include "bounded_counting.h"
#include "expected_mutual_info.h"
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
                                                                   bool with_expected_mutual_info) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  CountedCells cells = count_compact(preds, target, counts);
  Summary summary = summarize(cells);
  Tensor integers = torch::stable::empty({kNumSummaryIntegers}, ScalarType::Long);
  Tensor reals = torch::stable::empty({kNumSummaryReals}, ScalarType::Double);
  int64_t* ints = static_cast<int64_t*>(integers.mutable_data_ptr());
  double* values = static_cast<double*>(reals.mutable_data_ptr());
  std::fill(ints, ints + kNumSummaryIntegers, 0);
  std::fill(values, values + kNumSummaryReals, 0.0);
  ints[kNumSamples] = summary.total;
  ints[kNumCells] = summary.num_cells;
  ints[kNumPredClusters] = summary.num_pred_clusters;
  ints[kNumTargetClusters] = summary.num_target_clusters;
  write_pair_counts(summary.total, summary.pairs, ints, values);
  double emi = std::numeric_limits<double>::quiet_NaN();
  if (with_expected_mutual_info) emi = expected_mutual_info(summary.row_tally, summary.col_tally, summary.total);
  values[kExpectedMutualInfo] = emi;
  values[kMutualInfo] = mutual_info(cells, summary, with_expected_mutual_info ? emi : 0.0);
  cells = CountedCells{};  // the outputs need only the summary
  values[kEntropyPred] = summary.entropy_pred;
  values[kEntropyTarget] = summary.entropy_target;
  values[kCellsNLogN] = static_cast<double>(summary.cells_n_log_n);
  values[kPredNLogN] = static_cast<double>(summary.pred_n_log_n);
  values[kTargetNLogN] = static_cast<double>(summary.target_n_log_n);
  return {nonzero_totals(summary.row_totals, summary.num_pred_clusters),
          nonzero_totals(summary.col_totals, summary.num_target_clusters), integers, reals};
}

void count_into_table_cpu(Tensor preds, Tensor target, Tensor table, int64_t num_pred_clusters,
                          int64_t num_target_clusters) {
  check_label_pair(preds, target, "preds", "target");
  const BoundedTable bounded = check_bounded_table(table, num_pred_clusters, num_target_clusters, preds);
  count_into_table(preds, target, table, bounded);
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(clustering_metrics, CPU, m) {
  m.impl("pair_histogram", TORCH_BOX(&pair_histogram_cpu));
  m.impl("mutual_info_from_histogram", TORCH_BOX(&mutual_info_from_histogram_cpu));
  m.impl("mutual_info_score", TORCH_BOX(&mutual_info_score_cpu));
  m.impl("contingency_summary", TORCH_BOX(&contingency_summary_cpu));
  m.impl("count_into_table", TORCH_BOX(&count_into_table_cpu));
}

}  // namespace clustering_metrics::cpu
