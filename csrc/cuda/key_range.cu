// Stage 1: the range of each side's label keys and the weights' total,
// gathered on the device and read back in one copy; the ranges decide
// whether a side indexes its labels directly (common/counting_plan.h).
#include <limits>

#include "../common/labels.h"
#include "../host/dispatch.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// The device scalars read back.
enum StatusSlot : int64_t {
  kPredMinKey,
  kPredMaxKey,
  kTargetMinKey,
  kTargetMaxKey,
  kLowestWeight,
  kWeightTotal,
  kWeightOverflow,
  kStatusSlots,
};

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

CM_KERNEL void init_status_kernel(int64_t* status) {
  status[kPredMinKey] = -1;  // all ones: the largest uint64 key
  status[kPredMaxKey] = 0;
  status[kTargetMinKey] = -1;
  status[kTargetMaxKey] = 0;
  status[kLowestWeight] = 0;
  status[kWeightTotal] = 0;
  status[kWeightOverflow] = 0;
}

// range[0] = min key, range[1] = max key, combined by integer atomics.
// Eight blocks a multiprocessor: registers never limit its occupancy.
template <typename S>
CM_KERNEL void CM_LAUNCH_BOUNDS_OCCUPANCY(kThreads, 8)
    key_range_kernel_impl(const S* __restrict__ labels, int64_t n, bool packed, unsigned long long* range) {
  S lowest = labels[0], highest = labels[0];
  const int64_t num_packs = packed ? n / kPack : 0;
  for_each_index(num_packs, [&](int64_t p) {
    const Pack<S> pack = reinterpret_cast<const Pack<S>*>(labels)[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) {
      lowest = pack.v[k] < lowest ? pack.v[k] : lowest;
      highest = pack.v[k] > highest ? pack.v[k] : highest;
    }
  });
  for_each_index(num_packs * kPack, n, [&](int64_t i) {
    const S label = labels[i];
    lowest = label < lowest ? label : lowest;
    highest = label > highest ? label : highest;
  });
  // Keys preserve label order, so the extreme labels give the extreme keys.
  unsigned long long low_key = label_to_key(lowest), high_key = label_to_key(highest);
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const unsigned long long other_low = simt::shuffle_xor(simt::kFullMask, low_key, offset);
    const unsigned long long other_high = simt::shuffle_xor(simt::kFullMask, high_key, offset);
    low_key = other_low < low_key ? other_low : low_key;
    high_key = other_high > high_key ? other_high : high_key;
  }
  if (simt::lane_index() == 0) {
    simt::atomic_min(&range[0], low_key);
    simt::atomic_max(&range[1], high_key);
  }
}

// Lowest weight and the weight total with an overflow flag. A running sum is
// at most 2^63 - 1 until it is flagged, so adding one more weight (also at
// most 2^63 - 1) cannot wrap unnoticed.
CM_KERNEL void weight_summary_kernel(const int64_t* __restrict__ weights, int64_t n, int64_t* status) {
  int64_t lowest = 0;
  uint64_t sum = 0;
  bool overflowed = false;
  for_each_index(n, [&](int64_t i) {
    const int64_t w = weights[i];
    lowest = w < lowest ? w : lowest;
    if (w > 0 && !overflowed) {
      sum += static_cast<uint64_t>(w);
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  });
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const long long other_lowest = simt::shuffle_xor(simt::kFullMask, static_cast<long long>(lowest), offset);
    const unsigned long long other_sum =
        simt::shuffle_xor(simt::kFullMask, static_cast<unsigned long long>(sum), offset);
    const int other_overflowed = simt::shuffle_xor(simt::kFullMask, static_cast<int>(overflowed), offset);
    lowest = other_lowest < lowest ? other_lowest : lowest;
    overflowed = overflowed || other_overflowed != 0;
    if (!overflowed) {
      sum += other_sum;
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  }
  if (simt::lane_index() == 0) {
    if (lowest < 0) simt::atomic_min(reinterpret_cast<long long*>(&status[kLowestWeight]), static_cast<long long>(lowest));
    if (!overflowed) {
      const unsigned long long before = simt::atomic_add(reinterpret_cast<unsigned long long*>(&status[kWeightTotal]),
                                                         static_cast<unsigned long long>(sum));
      overflowed = before > static_cast<uint64_t>(kInt64Max) - sum;
    }
    if (overflowed) simt::atomic_exchange(reinterpret_cast<unsigned long long*>(&status[kWeightOverflow]), 1ull);
  }
}

void launch_key_range(const Tensor& labels, int64_t* range) {
  dispatch_label_type(labels.scalar_type(), [&](auto tag) {
    using S = LabelStorage<typename decltype(tag)::type>;
    const S* data = cdata_of<S>(labels);
    const int64_t n = labels.numel();
    simt::launch("key_range", key_range_kernel_impl<S>, grid_for(n / kPack + 1), kThreads, 0, current_stream(), data,
                 n, pack_aligned<S>(data), reinterpret_cast<unsigned long long*>(range));
    check_launch();
  });
}

}  // namespace

KeyRange measure_labels(const Tensor& labels) {
  const Tensor status = empty_long(kStatusSlots, labels);
  int64_t* status_ptr = data_of<int64_t>(status);
  simt::launch("init_status", init_status_kernel, 1, 1, 0, current_stream(), status_ptr);
  check_launch();
  launch_key_range(labels, status_ptr + kPredMinKey);
  int64_t host[2];
  copy_to_host(host, status_ptr + kPredMinKey, sizeof(host));
  return {static_cast<uint64_t>(host[0]), static_cast<uint64_t>(host[1])};
}

InputRanges measure_inputs(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights) {
  const int64_t n = preds.numel();
  const Stream stream = current_stream();
  const Tensor status = empty_long(kStatusSlots, preds);
  int64_t* status_ptr = data_of<int64_t>(status);
  simt::launch("init_status", init_status_kernel, 1, 1, 0, stream, status_ptr);
  check_launch();
  launch_key_range(preds, status_ptr + kPredMinKey);
  launch_key_range(target, status_ptr + kTargetMinKey);
  if (weights.has_value()) {
    simt::launch("weight_summary", weight_summary_kernel, grid_for(n), kThreads, 0, stream,
                 cdata_of<int64_t>(*weights), n, status_ptr);
    check_launch();
  }
  int64_t host[kStatusSlots];
  copy_to_host(host, status_ptr, sizeof(host));
  if (weights.has_value()) check_weight_summary(host[kLowestWeight], host[kWeightOverflow] != 0);
  InputRanges ranges;
  ranges.pred = {static_cast<uint64_t>(host[kPredMinKey]), static_cast<uint64_t>(host[kPredMaxKey])};
  ranges.target = {static_cast<uint64_t>(host[kTargetMinKey]), static_cast<uint64_t>(host[kTargetMaxKey])};
  ranges.total = weights.has_value() ? host[kWeightTotal] : n;
  return ranges;
}

}  // namespace clustering_metrics::cuda
