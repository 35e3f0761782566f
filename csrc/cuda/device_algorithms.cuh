// The library algorithms of the CUDA pipeline: radix sorts, unique, run-
// length encoding, reduce-by-key and selection. Compiled by nvcc they are
// CUB's device-wide primitives, with temporary storage from a byte tensor of
// torch's caching allocator on the current stream; with CM_EMULATE (tests
// only) they are plain host implementations of the same contracts. The
// counting functions return how many items they wrote, which costs a read
// back to the host.
#pragma once

#include <cstdint>

#include "cuda_utils.cuh"

#if !defined(CM_EMULATE)
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#else
#include <algorithm>
#include <numeric>
#include <vector>
#endif

namespace clustering_metrics::cuda {

#if !defined(CM_EMULATE)

namespace detail {

// Runs a CUB device algorithm twice, first to size its temporary storage and
// then for real.
template <typename CubCall>
void run_cub(const Tensor& like, CubCall&& call) {
  size_t bytes = 0;
  CM_CUDA_CHECK(call(nullptr, bytes));
  const Tensor temp = empty_on(like, static_cast<int64_t>(std::max<size_t>(bytes, 1)), ScalarType::Byte);
  CM_CUDA_CHECK(call(temp.mutable_data_ptr(), bytes));
}

// As run_cub, for an algorithm that writes how many items it produced.
template <typename CubCall>
int64_t run_counting_cub(const Tensor& like, CubCall&& call) {
  const Tensor count = empty_long(1, like);
  run_cub(like, [&](void* temp, size_t& bytes) { return call(temp, bytes, data_of<int64_t>(count)); });
  return read_back(count, 0);
}

struct IsPositive {
  __host__ __device__ bool operator()(int64_t value) const { return value > 0; }
};

}  // namespace detail

// Sorts keys on their bits [0, end_bit) (every key is below 2^end_bit).
inline void sort_keys(const uint64_t* in, uint64_t* out, int64_t n, int end_bit, const Tensor& like) {
  detail::run_cub(like, [&](void* temp, size_t& bytes) {
    return cub::DeviceRadixSort::SortKeys(temp, bytes, in, out, n, 0, end_bit, current_stream());
  });
}

// As sort_keys, carrying values; equal keys keep their order.
inline void sort_pairs(const uint64_t* keys_in, uint64_t* keys_out, const int64_t* values_in, int64_t* values_out,
                       int64_t n, int end_bit, const Tensor& like) {
  detail::run_cub(like, [&](void* temp, size_t& bytes) {
    return cub::DeviceRadixSort::SortPairs(temp, bytes, keys_in, keys_out, values_in, values_out, n, 0, end_bit,
                                           current_stream());
  });
}

// The distinct keys of sorted keys.
inline int64_t unique(const uint64_t* sorted, uint64_t* out, int64_t n, const Tensor& like) {
  return detail::run_counting_cub(like, [&](void* temp, size_t& bytes, int64_t* count) {
    return cub::DeviceSelect::Unique(temp, bytes, sorted, out, count, n, current_stream());
  });
}

// The runs of sorted keys: each distinct key and its multiplicity.
inline int64_t run_length_encode(const uint64_t* sorted, uint64_t* keys_out, int64_t* lengths_out, int64_t n,
                                 const Tensor& like) {
  return detail::run_counting_cub(like, [&](void* temp, size_t& bytes, int64_t* count) {
    return cub::DeviceRunLengthEncode::Encode(temp, bytes, sorted, keys_out, lengths_out, count, n,
                                              current_stream());
  });
}

// Each distinct key of sorted keys and the sum of its values.
inline int64_t reduce_by_key(const uint64_t* sorted, const int64_t* values, uint64_t* keys_out, int64_t* sums_out,
                             int64_t n, const Tensor& like) {
  return detail::run_counting_cub(like, [&](void* temp, size_t& bytes, int64_t* count) {
    return cub::DeviceReduce::ReduceByKey(temp, bytes, sorted, keys_out, values, sums_out, count, ::cuda::std::plus<>{},
                                          n, current_stream());
  });
}

// The entries i of values[0, m) that are positive: their keys (keys[i], or i
// when keys is null) and values, in order.
inline int64_t select_positive(const uint64_t* keys, const int64_t* values, int64_t m, uint64_t* keys_out,
                               int64_t* values_out, const Tensor& like) {
  const auto positive = thrust::make_transform_iterator(values, detail::IsPositive{});
  const int64_t selected = detail::run_counting_cub(like, [&](void* temp, size_t& bytes, int64_t* count) {
    return keys == nullptr
               ? cub::DeviceSelect::Flagged(temp, bytes, thrust::counting_iterator<uint64_t>(0), positive, keys_out,
                                            count, m, current_stream())
               : cub::DeviceSelect::Flagged(temp, bytes, keys, positive, keys_out, count, m, current_stream());
  });
  detail::run_counting_cub(like, [&](void* temp, size_t& bytes, int64_t* count) {
    return cub::DeviceSelect::If(temp, bytes, values, values_out, count, m, detail::IsPositive{}, current_stream());
  });
  return selected;
}

#else  // CM_EMULATE: the same contracts on host memory

inline void sort_keys(const uint64_t* in, uint64_t* out, int64_t n, int, const Tensor&) {
  std::copy(in, in + n, out);
  std::sort(out, out + n);
}

inline void sort_pairs(const uint64_t* keys_in, uint64_t* keys_out, const int64_t* values_in, int64_t* values_out,
                       int64_t n, int, const Tensor&) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys_in[a] < keys_in[b]; });
  for (int64_t i = 0; i < n; ++i) {
    keys_out[i] = keys_in[order[i]];
    values_out[i] = values_in[order[i]];
  }
}

inline int64_t unique(const uint64_t* sorted, uint64_t* out, int64_t n, const Tensor&) {
  return std::unique_copy(sorted, sorted + n, out) - out;
}

inline int64_t run_length_encode(const uint64_t* sorted, uint64_t* keys_out, int64_t* lengths_out, int64_t n,
                                 const Tensor&) {
  int64_t runs = 0;
  for (int64_t i = 0; i < n; ++runs) {
    int64_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    keys_out[runs] = sorted[i];
    lengths_out[runs] = j - i;
    i = j;
  }
  return runs;
}

inline int64_t reduce_by_key(const uint64_t* sorted, const int64_t* values, uint64_t* keys_out, int64_t* sums_out,
                             int64_t n, const Tensor&) {
  int64_t runs = 0;
  for (int64_t i = 0; i < n; ++runs) {
    int64_t sum = 0, j = i;
    for (; j < n && sorted[j] == sorted[i]; ++j) sum += values[j];
    keys_out[runs] = sorted[i];
    sums_out[runs] = sum;
    i = j;
  }
  return runs;
}

inline int64_t select_positive(const uint64_t* keys, const int64_t* values, int64_t m, uint64_t* keys_out,
                               int64_t* values_out, const Tensor&) {
  int64_t selected = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (values[i] > 0) {
      keys_out[selected] = keys == nullptr ? static_cast<uint64_t>(i) : keys[i];
      values_out[selected++] = values[i];
    }
  }
  return selected;
}

#endif

}  // namespace clustering_metrics::cuda
