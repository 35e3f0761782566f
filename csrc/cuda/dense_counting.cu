// Stage 3a on the op path: label pairs whose side ranges were just measured
// counted into a dense table, whose positive entries become the cells.
#include "../host/dispatch.h"
#include "dense_counting.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// Labels are known to lie in the side ranges, so a slot is offset
// arithmetic. Only used where every id is below 2^22 (dense tables), so
// slots fit 32 bits.
template <typename P, typename T>
struct RangeCells : LabelPairs<P, T> {
  P pred_min_raw;
  T target_min_raw;
  uint32_t num_target_ids;

  // Four blocks a multiprocessor (32 registers a thread), except with two
  // 64-bit sides, which would spill at 32 (three: 40 registers).
  static constexpr int kSharedBlocksPerMultiprocessor = sizeof(P) == 8 && sizeof(T) == 8 ? 3 : 4;

  CM_DEVICE uint32_t slot(P p, T t) const {
    return static_cast<uint32_t>(label_offset(p, pred_min_raw)) * num_target_ids +
           static_cast<uint32_t>(label_offset(t, target_min_raw));
  }
};

}  // namespace

void count_dense(const Tensor& preds, uint64_t pred_min_raw, const Tensor& target, uint64_t target_min_raw,
                 uint64_t num_pred_ids, uint64_t num_target_ids, const std::optional<Tensor>& weights,
                 CellList& cells) {
  const int64_t n = preds.numel();
  const uint64_t num_cells = num_pred_ids * num_target_ids;
  const Tensor table = zeros_long(static_cast<int64_t>(num_cells), preds);
  const int64_t* weight_ptr = weights.has_value() ? cdata_of<int64_t>(*weights) : nullptr;
  dispatch_label_width(preds.element_size(), [&](auto pred_tag) {
    using P = decltype(pred_tag);
    dispatch_label_width(target.element_size(), [&](auto target_tag) {
      using T = decltype(target_tag);
      // Contiguous labels (count_pair_cells made them so): strides 1.
      const RangeCells<P, T> range_cells{{cdata_of<P>(preds), cdata_of<T>(target), 1, 1},
                                         static_cast<P>(pred_min_raw),
                                         static_cast<T>(target_min_raw),
                                         static_cast<uint32_t>(num_target_ids)};
      count_into_slots(range_cells, weight_ptr, n, static_cast<uint32_t>(num_cells), data_of<int64_t>(table));
    });
  });
  keep_positive(nullptr, table, cells);
}

}  // namespace clustering_metrics::cuda
