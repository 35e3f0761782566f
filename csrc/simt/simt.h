// The portability layer of the hand-written CUDA kernels: everything a kernel
// body uses of CUDA, in one place. Compiled by nvcc it maps, at no cost, to
// CUDA's built-in indices, shared memory, __syncthreads, the warp intrinsics
// and atomics. Compiled with CM_EMULATE by a host compiler (tests only), it
// maps to a host SIMT emulator (tests/emulator/simt_emulator.h) that runs
// every GPU thread as a fiber, rendezvous warp collectives, checks barriers
// and detects shared-memory races, so the same kernel bodies run in CI
// without a GPU.
//
// Kernels are declared CM_KERNEL, their device helpers CM_DEVICE, read their
// geometry from thread_index() ... grid_size(), keep shared memory behind
// Shared<T> (a plain T* under nvcc), and are launched with launch().
#pragma once

#include <cstdint>

#if defined(CM_EMULATE)
#include <simt_emulator.h>
#else

#include <cuda_runtime.h>

#define CM_KERNEL __global__
#define CM_DEVICE __device__ __forceinline__
#define CM_LAUNCH_BOUNDS(threads) __launch_bounds__(threads)
// Also asks for registers that let min_blocks blocks share a multiprocessor.
#define CM_LAUNCH_BOUNDS_OCCUPANCY(threads, min_blocks) __launch_bounds__(threads, min_blocks)

// A block-wide array in static shared memory. Raw storage: a __shared__
// array of a type with default member initialisers is not allowed.
#define CM_SHARED_ARRAY(type, name, count)                                          \
  __shared__ alignas(type) unsigned char name##_storage[(count) * sizeof(type)]; \
  ::clustering_metrics::simt::Shared<type> name = reinterpret_cast<type*>(name##_storage)

namespace clustering_metrics::simt {

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;

using Stream = cudaStream_t;

// Shared memory, as the kernels see it.
template <typename T>
using Shared = T*;

CM_DEVICE unsigned thread_index() { return threadIdx.x; }
CM_DEVICE unsigned block_index() { return blockIdx.x; }
CM_DEVICE unsigned block_size() { return blockDim.x; }
CM_DEVICE unsigned grid_size() { return gridDim.x; }
CM_DEVICE unsigned lane_index() { return threadIdx.x % kWarpSize; }

// The block's dynamic shared memory (the launch's shared_bytes).
template <typename T>
CM_DEVICE Shared<T> dynamic_shared() {
  extern __shared__ __align__(16) unsigned char dynamic_shared_storage[];
  return reinterpret_cast<T*>(dynamic_shared_storage);
}

CM_DEVICE void sync_block() { __syncthreads(); }

template <typename T>
CM_DEVICE T shuffle_xor(unsigned mask, T value, int lane_mask) {
  return __shfl_xor_sync(mask, value, lane_mask);
}
CM_DEVICE unsigned ballot(unsigned mask, bool predicate) { return __ballot_sync(mask, predicate); }
// The lanes of `mask` whose value equals this lane's (sm_70 and later).
CM_DEVICE unsigned match_any(unsigned mask, unsigned value) { return __match_any_sync(mask, value); }

// Atomics on global (T*) or shared (Shared<T>, the same under nvcc) memory.
template <typename T>
CM_DEVICE T atomic_add(T* address, T value) {
  return atomicAdd(address, value);
}
template <typename T>
CM_DEVICE T atomic_min(T* address, T value) {
  return atomicMin(address, value);
}
template <typename T>
CM_DEVICE T atomic_max(T* address, T value) {
  return atomicMax(address, value);
}
template <typename T>
CM_DEVICE T atomic_exchange(T* address, T value) {
  return atomicExch(address, value);
}

// Bit tricks with a portable meaning.
CM_DEVICE int lowest_set_lane(unsigned mask) { return __ffs(mask) - 1; }
CM_DEVICE int population(unsigned mask) { return __popc(mask); }

// Runs kernel on grid x block threads with shared_bytes of dynamic shared
// memory, on stream; the caller checks the launch. The name is for the
// emulator's launch counts.
template <typename... Params, typename... Args>
void launch(const char*, void (*kernel)(Params...), unsigned grid, unsigned block, size_t shared_bytes, Stream stream,
            Args&&... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<Params>(args)...);
}

}  // namespace clustering_metrics::simt

#endif
