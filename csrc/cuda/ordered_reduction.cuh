// Fixed-order reductions of the summary and MI kernels. Their
// floating-point sums have a shape that depends only on the number of
// items: one block per kTermBlock items, a fixed thread stride inside it, a
// fixed-order tree over the threads, then one block that folds the block
// sums in order. No floating-point atomics, so a result is the same bits on
// every run. A block sum type T has a default constructor and add(const T&).
#pragma once

#include "../common/information_terms.h"
#include "cuda_utils.cuh"

namespace clustering_metrics::cuda {

constexpr int kTermThreads = 256;

inline int64_t blocks_for(int64_t items) { return (items + kTermBlock - 1) / kTermBlock; }

// Folds the block's per-thread values pairwise in a fixed order; every
// thread of the block must call it.
template <typename T>
CM_DEVICE T reduce_block_in_order(const T& mine) {
  CM_SHARED_ARRAY(T, values, kTermThreads);
  const unsigned t = simt::thread_index();
  values[t] = mine;
  simt::sync_block();
  for (unsigned width = kTermThreads / 2; width > 0; width /= 2) {
    if (t < width) {
      T sum = values[t];
      sum.add(values[t + width]);
      values[t] = sum;
    }
    simt::sync_block();
  }
  const T result = values[0];
  simt::sync_block();  // a caller may reduce again into the same storage
  return result;
}

// Thread t folds a contiguous stretch of block sums in order, then the
// threads' results are folded as a tree.
template <typename T>
CM_DEVICE T fold_in_order(const T* block_sums, int64_t num_blocks) {
  const int64_t per_thread = (num_blocks + kTermThreads - 1) / kTermThreads;
  const int64_t begin = simt::thread_index() * per_thread;
  const int64_t end = begin + per_thread < num_blocks ? begin + per_thread : num_blocks;
  T sum;
  for (int64_t b = begin; b < end; ++b) sum.add(block_sums[b]);
  return reduce_block_in_order(sum);
}

// Device scratch for one block sum per block, from torch's caching allocator.
template <typename T>
Tensor block_sums_storage(const Tensor& like, int64_t num_blocks) {
  return empty_on(like, std::max<int64_t>(num_blocks, 1) * static_cast<int64_t>(sizeof(T)), ScalarType::Byte);
}

}  // namespace clustering_metrics::cuda
