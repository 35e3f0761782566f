// Stage 2: each side's labels as dense ids that preserve label order. A side
// with a small range is indexed directly (id = key - min_key); a wide one is
// ranked among its distinct labels by sorting its offsets (only as many
// radix bits as the span needs) and a binary search per sample, which no
// choice of label values makes slow.
#include <type_traits>

#include "../common/labels.h"
#include "../host/dispatch.h"
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

template <typename U>
CM_KERNEL void label_offsets_kernel_impl(const U* __restrict__ labels, int64_t n, U min_raw, uint64_t* offsets) {
  for_each_index(n, [&](int64_t i) { offsets[i] = label_offset(labels[i], min_raw); });
}

// Replaces each label offset by its rank among the sorted distinct offsets.
CM_KERNEL void rank_kernel(uint64_t* ids, int64_t n, const uint64_t* __restrict__ sorted_offsets, int64_t count) {
  for_each_index(n, [&](int64_t i) {
    const uint64_t offset = ids[i];
    int64_t lo = 0, hi = count;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (sorted_offsets[mid] < offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    ids[i] = static_cast<uint64_t>(lo);
  });
}

// Label offsets (key - min_key) of one side as a uint64 tensor.
Tensor label_offsets(const Tensor& labels, uint64_t min_key) {
  const int64_t n = labels.numel();
  Tensor offsets = empty_long(n, labels);
  const uint64_t min_raw = raw_bits_of_key(labels.scalar_type(), min_key);
  dispatch_label_width(labels.element_size(), [&](auto width_tag) {
    using U = decltype(width_tag);
    simt::launch("label_offsets", label_offsets_kernel_impl<U>, grid_for(n), kThreads, 0, current_stream(),
                 cdata_of<U>(labels), n, static_cast<U>(min_raw), u64_ptr(offsets));
    check_launch();
  });
  return offsets;
}

}  // namespace

uint64_t raw_bits_of_key(ScalarType dtype, uint64_t key) {
  return dispatch_label_type(dtype, [&](auto tag) -> uint64_t {
    using T = typename decltype(tag)::type;
    return static_cast<RawBits<T>>(key_to_label<T>(key));
  });
}

Tensor index_labels(const Tensor& labels, const KeyRange& range, LabelIndex& index) {
  Tensor ids = label_offsets(labels, range.min_key);
  index.min_key = range.min_key;
  const int64_t n = ids.numel();
  if (indexes_directly(range.span(), n)) {
    index.size = static_cast<int64_t>(range.span()) + 1;
    return ids;
  }
  index.ranked = true;
  const Tensor sorted = torch::stable::empty_like(ids);
  sort_keys(u64_ptr(ids), u64_ptr(sorted), n, bit_width(range.span()), ids);
  Tensor distinct = torch::stable::empty_like(ids);
  index.size = unique(u64_ptr(sorted), u64_ptr(distinct), n, ids);
  index.sorted_offsets = torch::stable::narrow(distinct, 0, 0, index.size);
  simt::launch("rank", rank_kernel, grid_for(n), kThreads, 0, current_stream(), u64_ptr(ids), n,
               cdata_of<uint64_t>(index.sorted_offsets), index.size);
  check_launch();
  return ids;
}

}  // namespace clustering_metrics::cuda
