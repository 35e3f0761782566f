// The pair histogram: the cells turned back into labels of the input dtypes,
// in output tensors sized to the cells.
#include "../host/dispatch.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

template <typename U>
CM_KERNEL void write_labels_kernel_impl(const uint64_t* __restrict__ cell_keys, int64_t num_cells,
                                        uint64_t num_target_ids, bool pred_side,
                                        const uint64_t* __restrict__ sorted_offsets, U min_raw, U* labels) {
  for_each_index(num_cells, [&](int64_t i) {
    const uint64_t row = cell_keys[i] / num_target_ids;
    const uint64_t id = pred_side ? row : cell_keys[i] - row * num_target_ids;
    labels[i] = label_at_offset(sorted_offsets == nullptr ? id : sorted_offsets[id], min_raw);
  });
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> histogram_of(const CountedCells& cells, ScalarType pred_dtype,
                                                ScalarType target_dtype) {
  const CellList& listed = cells.listed;
  const int64_t num_cells = listed.keys.numel();
  const uint64_t num_target_ids = static_cast<uint64_t>(cells.target_index.size);
  Tensor pred_labels = empty_on(listed.keys, num_cells, pred_dtype);
  Tensor target_labels = empty_on(listed.keys, num_cells, target_dtype);
  // The counts sized to the cells: the cells may be a view of a larger buffer.
  Tensor counts = empty_long(num_cells, listed.keys);
  if (num_cells == 0) return {pred_labels, target_labels, counts};
  copy_on_device(counts.mutable_data_ptr(), listed.counts.const_data_ptr(), num_cells * sizeof(int64_t));
  const auto write_side = [&](const LabelIndex& index, bool pred_side, Tensor& labels) {
    const uint64_t min_raw = raw_bits_of_key(labels.scalar_type(), index.min_key);
    dispatch_label_width(labels.element_size(), [&](auto width_tag) {
      using U = decltype(width_tag);
      simt::launch("write_labels", write_labels_kernel_impl<U>, grid_for(num_cells), kThreads, 0, current_stream(),
                   cdata_of<uint64_t>(listed.keys), num_cells, num_target_ids, pred_side,
                   index.ranked ? cdata_of<uint64_t>(index.sorted_offsets) : nullptr, static_cast<U>(min_raw),
                   data_of<U>(labels));
      check_launch();
    });
  };
  write_side(cells.pred_index, /*pred_side=*/true, pred_labels);
  write_side(cells.target_index, /*pred_side=*/false, target_labels);
  return {pred_labels, target_labels, counts};
}

}  // namespace clustering_metrics::cuda
