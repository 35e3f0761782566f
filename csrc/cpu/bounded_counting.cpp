// count_into_table on the CPU: one pass adding each sample to its slot of the
// caller's table (common/bounded_table.h). Labels are read through their
// strides, so an expanded or strided input is never copied.
#include "../host/dispatch.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {

void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded) {
  const int64_t n = preds.numel();
  if (n == 0) return;
  const int64_t pred_stride = preds.stride(0), target_stride = target.stride(0);
  const LabelKind pred_kind = label_kind(preds.scalar_type());
  const LabelKind target_kind = label_kind(target.scalar_type());
  int64_t* slots = static_cast<int64_t*>(table.mutable_data_ptr());
  dispatch_label_width(preds.element_size(), [&](auto pred_width) {
    using P = decltype(pred_width);
    const P* pred = static_cast<const P*>(preds.const_data_ptr());
    dispatch_label_width(target.element_size(), [&](auto target_width) {
      using T = decltype(target_width);
      const T* targ = static_cast<const T*>(target.const_data_ptr());
      for (int64_t i = 0; i < n; ++i) {
        ++slots[bounded.slot(bounded_value(pred[i * pred_stride], pred_kind),
                             bounded_value(targ[i * target_stride], target_kind))];
      }
    });
  });
}

}  // namespace clustering_metrics::cpu
