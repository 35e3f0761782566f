// CPU implementations of the clustering_metrics ops.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <limits>

#include "../common/checks.h"
#include "../common/summary.h"
#include "expected_mutual_info.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> pair_histogram_cpu(const at::Tensor& preds,
                                                                  const at::Tensor& target,
                                                                  const std::optional<at::Tensor>& counts) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  CountedCells cells = count_pair_cells(preds, target, counts, /*keep_labels=*/true);
  return histogram_of(cells, preds.scalar_type(), target.scalar_type());
}

at::Tensor mutual_info_of(CountedCells cells) {
  const Summary summary = summarize(cells);
  return at::scalar_tensor(mutual_info(cells, summary), at::kDouble);
}

at::Tensor mutual_info_from_histogram_cpu(const at::Tensor& pred_labels, const at::Tensor& target_labels,
                                          const at::Tensor& counts) {
  check_label_pair(pred_labels, target_labels, "pred_labels", "target_labels");
  check_counts(counts, pred_labels, "counts");
  return mutual_info_of(count_pair_cells(pred_labels, target_labels, counts, /*keep_labels=*/false));
}

at::Tensor mutual_info_score_cpu(const at::Tensor& preds, const at::Tensor& target) {
  check_label_pair(preds, target, "preds", "target");
  return mutual_info_of(count_pair_cells(preds, target, std::nullopt, /*keep_labels=*/false));
}

// The nonzero totals, in label order.
at::Tensor nonzero_totals(const Totals& totals, int64_t count) {
  at::Tensor out = at::empty({count}, at::kLong);
  int64_t* data = out.mutable_data_ptr<int64_t>();
  for (int64_t id = 0; id < totals.size(); ++id) {
    if (totals[id] != 0) *data++ = totals[id];
  }
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> contingency_summary_cpu(
    const at::Tensor& preds, const at::Tensor& target, const std::optional<at::Tensor>& counts,
    bool with_expected_mutual_info) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  CountedCells cells = count_pair_cells(preds, target, counts, /*keep_labels=*/false);
  Summary summary = summarize(cells);
  at::Tensor integers = at::zeros({kNumSummaryIntegers}, at::kLong);
  at::Tensor reals = at::zeros({kNumSummaryReals}, at::kDouble);
  int64_t* ints = integers.mutable_data_ptr<int64_t>();
  double* values = reals.mutable_data_ptr<double>();
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

}  // namespace

TORCH_LIBRARY_IMPL(clustering_metrics, CPU, m) {
  m.impl("pair_histogram", &pair_histogram_cpu);
  m.impl("mutual_info_from_histogram", &mutual_info_from_histogram_cpu);
  m.impl("mutual_info_score", &mutual_info_score_cpu);
  m.impl("contingency_summary", &contingency_summary_cpu);
}

}  // namespace clustering_metrics::cpu
