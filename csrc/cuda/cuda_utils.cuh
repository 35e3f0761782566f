// Launch plumbing shared by the CUDA pipeline: grid sizing, device tensors
// from torch's caching allocator, host read-backs, and the vectorised label
// loads of the counting kernels.
#pragma once

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "../host/checks.h"
#include "../common/host_device.h"
#include "../simt/simt.h"
#include "runtime.cuh"

namespace clustering_metrics::cuda {

constexpr int kThreads = 256;
constexpr int kWarp = simt::kWarpSize;

// Grid for a grid-stride loop over work_items: a few waves of blocks fill the
// device; more blocks than work would only add empty ones.
inline unsigned int grid_for(int64_t work_items, int threads = kThreads) {
  const int64_t wanted = (work_items + threads - 1) / threads;
  const int64_t resident = int64_t{multiprocessor_count()} * 8;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(wanted, resident)));
}

template <typename T = int64_t>
T* data_of(const Tensor& t) {
  return static_cast<T*>(t.mutable_data_ptr());
}

// Read-only data: does not materialise a lazily copied input.
template <typename T = int64_t>
const T* cdata_of(const Tensor& t) {
  return static_cast<const T*>(t.const_data_ptr());
}

inline uint64_t* u64_ptr(const Tensor& t) { return data_of<uint64_t>(t); }

// Uninitialised tensors from torch's caching allocator on the device of
// `like`, ordered on the current stream.
inline Tensor empty_on(const Tensor& like, int64_t size, ScalarType dtype) {
  return torch::stable::empty({size}, dtype, std::nullopt, like.device());
}

inline Tensor empty_long(int64_t size, const Tensor& like) { return empty_on(like, size, ScalarType::Long); }

inline Tensor zeros_long(int64_t size, const Tensor& like) {
  Tensor t = empty_long(size, like);
  zero_on_device(t.mutable_data_ptr(), static_cast<size_t>(size) * sizeof(int64_t));
  return t;
}

inline int64_t read_back(const Tensor& t, int64_t index) {
  int64_t value = 0;
  copy_to_host(&value, cdata_of<int64_t>(t) + index, sizeof(value));
  return value;
}

// kPack labels per lane and load: 8 int64 labels are four 16-byte loads, and
// narrower labels still move 8 bytes or more per lane.
constexpr int kPack = 8;

template <typename U>
struct alignas(sizeof(U) * kPack) Pack {
  U v[kPack];
};

template <typename U>
bool pack_aligned(const void* data) {
  return reinterpret_cast<uintptr_t>(data) % sizeof(Pack<U>) == 0;
}

// The grid-stride loop of one thread over [begin, end).
template <typename Body>
CM_DEVICE void for_each_index(int64_t begin, int64_t end, Body&& body) {
  const int64_t stride = static_cast<int64_t>(simt::grid_size()) * simt::block_size();
  for (int64_t i = begin + static_cast<int64_t>(simt::block_index()) * simt::block_size() + simt::thread_index();
       i < end; i += stride) {
    body(i);
  }
}

template <typename Body>
CM_DEVICE void for_each_index(int64_t n, Body&& body) {
  for_each_index(0, n, body);
}

// Calls body(index, a[index], b[index], valid) for every index below n, with
// all 32 lanes of a warp calling it together (valid is false on lanes past
// the end), so body may use warp-collective intrinsics with a full mask.
// Element i of a is a[i * a_stride] (likewise b); labels are loaded in packs
// when both arrays are contiguous and pack-aligned (packed).
template <typename A, typename B, typename Body>
CM_DEVICE void for_each_label_pair(const A* __restrict__ a, int64_t a_stride, const B* __restrict__ b,
                                   int64_t b_stride, int64_t n, bool packed, Body&& body) {
  const int lane = static_cast<int>(simt::lane_index());
  const int64_t stride = static_cast<int64_t>(simt::grid_size()) * simt::block_size();
  const int64_t warp_start = static_cast<int64_t>(simt::block_index()) * simt::block_size() + (simt::thread_index() - lane);
  const int64_t num_packs = packed ? n / kPack : 0;
  for (int64_t base = warp_start; base < num_packs; base += stride) {
    const int64_t pack = base + lane;
    const bool valid = pack < num_packs;
    Pack<A> a_pack{};
    Pack<B> b_pack{};
    if (valid) {
      a_pack = reinterpret_cast<const Pack<A>*>(a)[pack];
      b_pack = reinterpret_cast<const Pack<B>*>(b)[pack];
    }
#pragma unroll
    for (int k = 0; k < kPack; ++k) body(pack * kPack + k, a_pack.v[k], b_pack.v[k], valid);
  }
  for (int64_t base = num_packs * kPack + warp_start; base < n; base += stride) {
    const int64_t i = base + lane;
    const bool valid = i < n;
    body(i, valid ? a[i * a_stride] : A{}, valid ? b[i * b_stride] : B{}, valid);
  }
}

// A label's offset from the side's smallest label, key - min_key, computed
// from raw bits: subtracting in the label's own width is exact because a
// side's span always fits that width, whatever the signedness.
template <typename U>
CM_HOST_DEVICE uint64_t label_offset(U raw, U min_raw) {
  return static_cast<uint64_t>(static_cast<U>(raw - min_raw));
}

// The inverse: the raw bits of the label at `offset` above the smallest.
template <typename U>
CM_HOST_DEVICE U label_at_offset(uint64_t offset, U min_raw) {
  return static_cast<U>(min_raw + static_cast<U>(offset));
}

}  // namespace clustering_metrics::cuda
