// count_into_table on the GPU: labels promised to lie in [0, K), checked per
// sample, with the last slot for those outside (common/bounded_table.h), in
// one launch of the dense counting kernels (dense_counting.cuh). Labels are
// read through their strides: an expanded or strided input is never copied.
#include "../host/dispatch.h"
#include "dense_counting.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

template <typename P, typename T>
struct BoundedCells : LabelPairs<P, T> {
  LabelKind pred_kind;
  LabelKind target_kind;
  BoundedTable table;

  // The bounds checks need more registers than the op path's cells: three
  // blocks (40 registers), two with two 64-bit sides.
  static constexpr int kSharedBlocksPerMultiprocessor = sizeof(P) == 8 && sizeof(T) == 8 ? 2 : 3;

  CM_DEVICE uint32_t slot(P p, T t) const {
    return table.slot(bounded_value(p, pred_kind), bounded_value(t, target_kind));
  }
};

}  // namespace

void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded) {
  // No normalisation of bools: bounded_value reads any nonzero byte as 1.
  const int64_t n = preds.numel();
  if (n == 0) return;
  const LabelKind pred_kind = label_kind(preds.scalar_type());
  const LabelKind target_kind = label_kind(target.scalar_type());
  dispatch_label_width(preds.element_size(), [&](auto pred_tag) {
    using P = decltype(pred_tag);
    dispatch_label_width(target.element_size(), [&](auto target_tag) {
      using T = decltype(target_tag);
      const BoundedCells<P, T> bounded_cells{
          {cdata_of<P>(preds), cdata_of<T>(target), preds.stride(0), target.stride(0)}, pred_kind, target_kind, bounded};
      count_into_slots(bounded_cells, nullptr, n, bounded.num_slots(), data_of<int64_t>(table));
    });
  });
}

}  // namespace clustering_metrics::cuda
