// Macros and types shared by host and device code. Everything under
// csrc/common is header-only and free of torch types, so the CPU kernels, the
// CUDA kernels and the host emulator of the CUDA kernels compile the same
// maths and produce the same numbers. (Host code that both backends share
// and that uses torch's types lives in csrc/host.)
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define CM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define CM_HOST_DEVICE inline
#endif

#if !defined(__SIZEOF_INT128__)
#error "clustering_metrics needs a compiler with unsigned __int128 for exact products"
#endif

namespace clustering_metrics {

using u128 = unsigned __int128;

}  // namespace clustering_metrics
