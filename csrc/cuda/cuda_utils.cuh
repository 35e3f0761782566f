// Launch plumbing shared by the CUDA kernels: grid sizing, vectorised label
// loads, CUB temporary storage and host read-backs, all on torch's current
// stream and caching allocator.
#pragma once

#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdint>

namespace clustering_metrics::cuda {

constexpr int kThreads = 256;
constexpr int kWarp = 32;

inline cudaStream_t current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

inline int device_attribute(cudaDeviceAttr attribute) {
  int value = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, c10::cuda::current_device()));
  return value;
}

inline int multiprocessor_count() { return device_attribute(cudaDevAttrMultiProcessorCount); }

// Grid for a grid-stride loop over work_items: a few waves of blocks fill the
// device; more blocks than work would only add empty ones.
inline unsigned int grid_for(int64_t work_items, int threads = kThreads) {
  const int64_t wanted = (work_items + threads - 1) / threads;
  const int64_t resident = int64_t{multiprocessor_count()} * 8;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(wanted, resident)));
}

inline uint64_t* u64_ptr(const at::Tensor& t) { return reinterpret_cast<uint64_t*>(t.data_ptr<int64_t>()); }

inline at::Tensor empty_long(int64_t size, const at::Tensor& like) {
  return at::empty({size}, like.options().dtype(at::kLong));
}

// One device-to-host read: a synchronisation point of the current stream.
inline int64_t read_back(const at::Tensor& t, int64_t index) { return t[index].item<int64_t>(); }

// Runs a CUB device algorithm twice, first to size its temporary storage and
// then for real, with the storage taken from torch's caching allocator.
template <typename CubCall>
void run_cub(const at::Tensor& like, CubCall&& call) {
  size_t bytes = 0;
  C10_CUDA_CHECK(call(nullptr, bytes));
  const at::Tensor temp = at::empty({static_cast<int64_t>(std::max<size_t>(bytes, 1))},
                                    like.options().dtype(at::kByte));
  C10_CUDA_CHECK(call(temp.data_ptr(), bytes));
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

// Calls body(index, a[index], b[index], valid) for every index below n, with
// all 32 lanes of a warp calling it together (valid is false on lanes past
// the end), so body may use warp-collective intrinsics with a full mask.
// Labels are loaded in packs when both arrays are pack-aligned.
template <typename A, typename B, typename Body>
__device__ __forceinline__ void for_each_label_pair(const A* __restrict__ a, const B* __restrict__ b, int64_t n,
                                                    bool packed, Body&& body) {
  const int lane = threadIdx.x % kWarp;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t warp_start = static_cast<int64_t>(blockIdx.x) * blockDim.x + (threadIdx.x - lane);
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
    body(i, valid ? a[i] : A{}, valid ? b[i] : B{}, valid);
  }
}

// A label's offset from the side's smallest label, key - min_key, computed
// from raw bits: subtracting in the label's own width is exact because a
// side's span always fits that width, whatever the signedness.
template <typename U>
__host__ __device__ __forceinline__ uint64_t label_offset(U raw, U min_raw) {
  return static_cast<uint64_t>(static_cast<U>(raw - min_raw));
}

// The inverse: the raw bits of the label at `offset` above the smallest.
template <typename U>
__host__ __device__ __forceinline__ U label_at_offset(uint64_t offset, U min_raw) {
  return static_cast<U>(min_raw + static_cast<U>(offset));
}

}  // namespace clustering_metrics::cuda
