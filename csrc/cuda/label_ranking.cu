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

// labels[r] = the label at offset sorted_offsets[r] from the smallest.
template <typename U>
CM_KERNEL void labels_at_offsets_kernel_impl(const uint64_t* __restrict__ sorted_offsets, int64_t count, U min_raw,
                                             U* labels) {
  for_each_index(count, [&](int64_t r) { labels[r] = label_at_offset(sorted_offsets[r], min_raw); });
}

// Replaces label offsets by their ranks among the distinct ones, found by
// sorting them (only as many radix bits as the span needs).
void rank_offsets(Tensor& ids, const KeyRange& range, LabelIndex& index) {
  const int64_t n = ids.numel();
  index.ranked = true;
  const Tensor sorted = torch::stable::empty_like(ids);
  sort_keys(u64_ptr(ids), u64_ptr(sorted), n, bit_width(range.span()), ids);
  Tensor distinct = torch::stable::empty_like(ids);
  index.size = unique(u64_ptr(sorted), u64_ptr(distinct), n, ids);
  index.sorted_offsets = torch::stable::narrow(distinct, 0, 0, index.size);
  simt::launch("rank", rank_kernel, grid_for(n), kThreads, 0, current_stream(), u64_ptr(ids), n,
               cdata_of<uint64_t>(index.sorted_offsets), index.size);
  check_launch();
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
  rank_offsets(ids, range, index);
  return ids;
}

std::tuple<Tensor, Tensor> rank_labels(const Tensor& labels_in) {
  const Tensor labels = contiguous_labels(labels_in);
  const int64_t n = labels.numel();
  const ScalarType dtype = labels.scalar_type();
  if (n == 0) return {empty_long(0, labels), empty_on(labels, 0, dtype)};
  // Ranked whatever the span: the ids must be dense over the labels present.
  const KeyRange range = measure_labels(labels);
  Tensor ids = label_offsets(labels, range.min_key);
  LabelIndex index;
  index.min_key = range.min_key;
  rank_offsets(ids, range, index);
  Tensor distinct = empty_on(labels, index.size, dtype);
  const uint64_t min_raw = raw_bits_of_key(dtype, range.min_key);
  dispatch_label_width(labels.element_size(), [&](auto width_tag) {
    using U = decltype(width_tag);
    simt::launch("labels_at_offsets", labels_at_offsets_kernel_impl<U>, grid_for(index.size), kThreads, 0,
                 current_stream(), cdata_of<uint64_t>(index.sorted_offsets), index.size, static_cast<U>(min_raw),
                 data_of<U>(distinct));
    check_launch();
  });
  return {ids, distinct};
}

}  // namespace clustering_metrics::cuda
