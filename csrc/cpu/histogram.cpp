// The pair histogram: the listed cells turned back into labels, in output
// tensors sized to the cells, so that no scratch outlives the call.
#include <torch/csrc/stable/ops.h>

#include <algorithm>

#include "../host/checks.h"
#include "../host/dispatch.h"
#include "../common/labels.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

// Writes each cell's pred label (for_pred) or target label as T.
template <typename T>
void write_labels_kernel_impl(const CountedCells& cells, bool for_pred, T* out) {
  const LabelIndex& index = for_pred ? cells.pred_index : cells.target_index;
  const uint64_t* keys = cells.listed.keys;
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  Chunks(cells.listed.size).run([&](int64_t, int64_t begin, int64_t end) {
    for_each_cell(keys, cols, begin, end, [&](int64_t i, uint64_t row, uint64_t col) {
      out[i] = key_to_label<T>(index.key_of(for_pred ? row : col));
    });
  });
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> histogram_of(CountedCells& cells, ScalarType pred_dtype, ScalarType target_dtype) {
  const CellList& listed = listed_cells(cells);
  const int64_t nnz = listed.size;
  Tensor pred_labels = torch::stable::empty({nnz}, pred_dtype);
  Tensor target_labels = torch::stable::empty({nnz}, target_dtype);
  Tensor counts = torch::stable::empty({nnz}, ScalarType::Long);
  dispatch_label_type(pred_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    write_labels_kernel_impl(cells, /*for_pred=*/true, static_cast<T*>(pred_labels.mutable_data_ptr()));
  });
  dispatch_label_type(target_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    write_labels_kernel_impl(cells, /*for_pred=*/false, static_cast<T*>(target_labels.mutable_data_ptr()));
  });
  if (nnz > 0) std::copy(listed.counts, listed.counts + nnz, static_cast<int64_t*>(counts.mutable_data_ptr()));
  return {pred_labels, target_labels, counts};
}

}  // namespace clustering_metrics::cpu
