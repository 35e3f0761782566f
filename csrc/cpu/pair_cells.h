// CPU contingency-table machinery behind every op: count the non-empty
// (pred, target) cells, reduce them to MI, or turn them back into labels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <tuple>

namespace clustering_metrics::cpu {

// One side's labels mapped to dense ids that preserve label order: either
// directly (id = key - min_key) or by rank among the distinct labels.
struct LabelIndex {
  uint64_t min_key = 0;
  int64_t size = 0;
  at::Tensor sorted_keys;  // distinct keys (uint64 in int64 storage); undefined when direct

  bool direct() const { return !sorted_keys.defined(); }
};

// The non-empty cells of a contingency table in (pred, target) label order.
// A cell's key is pred_id * target_index.size + target_id.
struct PairCells {
  LabelIndex pred_index;
  LabelIndex target_index;
  at::Tensor keys;    // uint64 in int64 storage, strictly increasing
  at::Tensor counts;  // int64, all > 0
  int64_t total = 0;  // sum of counts
};

// weights, when given, are non-negative int64 multiplicities per sample.
PairCells count_pair_cells(const at::Tensor& preds, const at::Tensor& target,
                           const std::optional<at::Tensor>& weights);

double mutual_info_from_cells(const PairCells& cells);

// (pred labels, target labels, counts) in the dtypes given.
std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const PairCells& cells,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype);

}  // namespace clustering_metrics::cpu
