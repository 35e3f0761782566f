// The contingency-table representation every backend produces: the
// non-empty (pred, target) cells in label order, on the device of the input.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace clustering_metrics {

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

}  // namespace clustering_metrics
