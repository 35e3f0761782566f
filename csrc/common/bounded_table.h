// The bounded table of count_into_table: labels promised to lie in [0, K) on
// each side are counted straight into a dense int64 table of Kp x Kt cells
// plus one slot for samples with a label outside. The promise is checked
// where it is cheap (on the device, per sample) instead of before counting,
// which would need the label range on the host: the op then never
// synchronises, and a broken promise shows in the last slot, not as a wrong
// count. Shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace clustering_metrics {

// How a label's raw bits read as a non-negative value.
enum class LabelKind : uint8_t { kUnsigned, kSigned, kBool };

// A label as a value to compare with K; negative labels become the largest
// uint64, which no bound reaches. Bools are any nonzero byte (labels.h).
template <typename U>
CM_HOST_DEVICE uint64_t bounded_value(U raw, LabelKind kind) {
  if (kind == LabelKind::kBool) return raw != 0;
  if (kind == LabelKind::kSigned && (raw >> (8 * sizeof(U) - 1)) != 0) return ~uint64_t{0};
  return static_cast<uint64_t>(raw);
}

struct BoundedTable {
  uint32_t num_pred_ids;
  uint32_t num_target_ids;

  // Cells plus the outside slot; at most 2^32 - 1, so every slot fits 32 bits
  // and all ones is free for the kernels' sentinel.
  CM_HOST_DEVICE uint32_t num_slots() const { return num_pred_ids * num_target_ids + 1; }
  CM_HOST_DEVICE uint32_t outside_slot() const { return num_pred_ids * num_target_ids; }

  CM_HOST_DEVICE uint32_t slot(uint64_t pred_value, uint64_t target_value) const {
    return pred_value < num_pred_ids && target_value < num_target_ids
               ? static_cast<uint32_t>(pred_value) * num_target_ids + static_cast<uint32_t>(target_value)
               : outside_slot();
  }
};

constexpr uint64_t kMaxBoundedSlots = 0xffffffffu;

}  // namespace clustering_metrics
