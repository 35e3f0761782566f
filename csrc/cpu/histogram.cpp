// The pair histogram: the listed cells turned back into labels, in output
// tensors sized to the cells, so that no scratch outlives the call.
#include <ATen/ATen.h>

#include <algorithm>

#include "../common/dispatch.h"
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

std::tuple<at::Tensor, at::Tensor, at::Tensor> histogram_of(CountedCells& cells, at::ScalarType pred_dtype,
                                                           at::ScalarType target_dtype) {
  const CellList& listed = listed_cells(cells);
  const int64_t nnz = listed.size;
  at::Tensor pred_labels = at::empty({nnz}, at::TensorOptions().dtype(pred_dtype));
  at::Tensor target_labels = at::empty({nnz}, at::TensorOptions().dtype(target_dtype));
  at::Tensor counts = at::empty({nnz}, at::TensorOptions().dtype(at::kLong));
  CM_DISPATCH_LABEL_TYPES(pred_dtype, "histogram_of", [&] {
    write_labels_kernel_impl(cells, /*for_pred=*/true, pred_labels.mutable_data_ptr<scalar_t>());
  });
  CM_DISPATCH_LABEL_TYPES(target_dtype, "histogram_of", [&] {
    write_labels_kernel_impl(cells, /*for_pred=*/false, target_labels.mutable_data_ptr<scalar_t>());
  });
  if (nnz > 0) std::copy(listed.counts, listed.counts + nnz, counts.mutable_data_ptr<int64_t>());
  return {pred_labels, target_labels, counts};
}

}  // namespace clustering_metrics::cpu
