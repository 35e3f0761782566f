// CUDA contingency-table machinery behind every op, mirroring cpu/pair_cells.h:
// count the non-empty (pred, target) cells, reduce them to MI, or turn them
// back into labels. Inputs and outputs live on the current CUDA device.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <tuple>

#include "../common/pair_cells.h"

namespace clustering_metrics::cuda {

// weights, when given, are non-negative int64 multiplicities per sample.
// Synchronises with the host: the label ranges choose the counting path and
// the number of cells sizes the outputs.
PairCells count_pair_cells(const at::Tensor& preds, const at::Tensor& target,
                           const std::optional<at::Tensor>& weights);

// A float64 0-dim tensor on the device of the cells; no synchronisation.
at::Tensor mutual_info_from_cells(const PairCells& cells);

// (pred labels, target labels, counts) in the dtypes given.
std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const PairCells& cells,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype);

}  // namespace clustering_metrics::cuda
