// CPU implementations of the clustering_metrics ops.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../common/checks.h"
#include "pair_cells.h"

namespace clustering_metrics::cpu {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> pair_histogram_cpu(const at::Tensor& preds,
                                                                  const at::Tensor& target,
                                                                  const std::optional<at::Tensor>& counts) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const CountedCells cells = count_pair_cells(preds, target, counts);
  return cells_to_histogram(cells, preds.scalar_type(), target.scalar_type());
}

at::Tensor mutual_info_from_histogram_cpu(const at::Tensor& pred_labels, const at::Tensor& target_labels,
                                          const at::Tensor& counts) {
  check_label_pair(pred_labels, target_labels, "pred_labels", "target_labels");
  check_counts(counts, pred_labels, "counts");
  return at::scalar_tensor(mutual_info_from_cells(count_pair_cells(pred_labels, target_labels, counts)),
                           at::kDouble);
}

at::Tensor mutual_info_score_cpu(const at::Tensor& preds, const at::Tensor& target) {
  check_label_pair(preds, target, "preds", "target");
  return at::scalar_tensor(mutual_info_from_cells(count_pair_cells(preds, target, std::nullopt)), at::kDouble);
}

}  // namespace

TORCH_LIBRARY_IMPL(clustering_metrics, CPU, m) {
  m.impl("pair_histogram", &pair_histogram_cpu);
  m.impl("mutual_info_from_histogram", &mutual_info_from_histogram_cpu);
  m.impl("mutual_info_score", &mutual_info_score_cpu);
}

}  // namespace clustering_metrics::cpu
