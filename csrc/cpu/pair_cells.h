// CPU contingency-table machinery behind every op: count the non-empty
// (pred, target) cells, reduce them to MI, or turn them back into labels.
#pragma once

#include <ATen/core/Tensor.h>

#include "../common/pair_cells.h"

#include <optional>
#include <tuple>
#include <vector>

namespace clustering_metrics::cpu {

// The per-chunk tables of a pair space counted densely. A cell's count is
// the sum of its entries over the tables; the MI needs each count once, so
// the sums are formed on the fly instead of being stored.
struct DenseCounts {
  int64_t num_cells = 0;
  at::Tensor narrow;             // (chunks, num_cells) uint8: counts mod 2^8, or undefined
  std::vector<at::Tensor> wide;  // per chunk, int64: the rest of the counts, or undefined

  // out[k] = count of cell begin + k, for cells [begin, end).
  void sum_into(int64_t begin, int64_t end, int64_t* out) const;
};

// The counters' result: listed cells, or, when `dense` has cells, the dense
// tables, with keys and counts left undefined.
struct CountedCells : PairCells {
  DenseCounts dense;

  bool is_dense() const { return dense.num_cells > 0; }
};

// weights, when given, are non-negative int64 multiplicities per sample.
CountedCells count_pair_cells(const at::Tensor& preds, const at::Tensor& target,
                              const std::optional<at::Tensor>& weights);

double mutual_info_from_cells(const CountedCells& cells);

// (pred labels, target labels, counts) in the dtypes given.
std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const CountedCells& cells,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype);

}  // namespace clustering_metrics::cpu
