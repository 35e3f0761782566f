// CPU contingency-table machinery behind every op: count the non-empty
// (pred, target) cells, reduce them to MI, or turn them back into labels.
#pragma once

#include <ATen/core/Tensor.h>

#include "../common/pair_cells.h"

#include <optional>
#include <tuple>

namespace clustering_metrics::cpu {

// weights, when given, are non-negative int64 multiplicities per sample.
PairCells count_pair_cells(const at::Tensor& preds, const at::Tensor& target,
                           const std::optional<at::Tensor>& weights);

double mutual_info_from_cells(const PairCells& cells);

// (pred labels, target labels, counts) in the dtypes given.
std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const PairCells& cells,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype);

}  // namespace clustering_metrics::cpu
