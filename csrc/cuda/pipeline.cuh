// The CUDA pipeline, with the stages and names of the CPU one (cpu/pipeline.h):
//
//   labels --count_pair_cells--> PairCells --summarize--> Summary --> mutual_info, contingency outputs
//                                    |
//                                    +--histogram_of--> (pred labels, target labels, counts)
//
// Inputs and outputs live on the current CUDA device.
#pragma once

#include "../common/bounded_table.h"
#include "../common/checks.h"

#include <optional>
#include <tuple>

namespace clustering_metrics::cuda {

// One side's labels mapped to dense ids that preserve label order: either
// directly (id = key - min_key) or by rank among the distinct labels.
struct LabelIndex {
  uint64_t min_key = 0;
  int64_t size = 0;
  Tensor sorted_offsets;  // distinct key - min_key (uint64 in int64 storage); undefined when direct

  bool direct() const { return !sorted_offsets.defined(); }
};

// The non-empty cells of a contingency table in (pred, target) label order.
// A cell's key is pred_id * target_index.size + target_id.
struct PairCells {
  LabelIndex pred_index;
  LabelIndex target_index;
  Tensor keys;    // uint64 in int64 storage, strictly increasing (possibly a view of a larger buffer)
  Tensor counts;  // int64, all > 0
  int64_t total = 0;  // sum of counts
};

// The summary op's outputs (common/summary.h), on the device.
struct Summary {
  Tensor row_totals;  // by pred id, zero for ids no sample has
  Tensor col_totals;  // by target id
  Tensor integers;    // int64, kNumSummaryIntegers
  Tensor reals;       // float64, kNumSummaryReals; the EMI slot is NaN
};

// weights, when given, are non-negative int64 multiplicities per sample; no
// input may repeat (stride 0), the ops rewrite those first
// (host/expanded_inputs.h). Synchronises with the host: the label ranges choose the counting path and
// the number of cells sizes the outputs.
PairCells count_pair_cells(const Tensor& preds, const Tensor& target,
                           const std::optional<Tensor>& weights);

// Everything but the EMI, which ops_cuda.cu adds from the host; the MI is
// always the exact form. No synchronisation.
Summary summarize(const PairCells& cells);

// (pred labels, target labels, counts) in the dtypes given.
std::tuple<Tensor, Tensor, Tensor> histogram_of(const PairCells& cells, ScalarType pred_dtype,
                                                           ScalarType target_dtype);

// count_into_table: adds every sample to its slot of the caller's table, in
// one kernel launch and without synchronising (so CUDA graphs can capture it).
void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded);

// The entries of a device int64 tensor that are not zero, in order;
// synchronises to size the output.
Tensor nonzero_entries(const Tensor& values);

}  // namespace clustering_metrics::cuda
