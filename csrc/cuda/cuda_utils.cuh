// Launch plumbing shared by the CUDA kernels: grid sizing, vectorised label
// loads, CUB temporary storage and host read-backs, all on torch's current
// stream and caching allocator.
#pragma once

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/c/shim.h>
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "../common/checks.h"

namespace clustering_metrics::cuda {

constexpr int kThreads = 256;
constexpr int kWarp = 32;

#define CM_CUDA_CHECK(expression)                                                              \
  do {                                                                                         \
    const cudaError_t cm_cuda_error = (expression);                                            \
    CM_CHECK(cm_cuda_error == cudaSuccess, "CUDA error: ", cudaGetErrorString(cm_cuda_error),  \
             " (", #expression, ")");                                                          \
  } while (false)

// After a launch: a bad configuration shows at once, a fault at the next sync.
#define CM_CUDA_LAUNCH_CHECK() CM_CUDA_CHECK(cudaGetLastError())

inline int current_device() {
  int device = 0;
  CM_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// torch's current stream on the current device, from the stable C shim's
// aoti_torch_get_current_cuda_stream. That function lives in libtorch_cuda,
// which a CPU-only torch lacks, so it is looked up in the loaded torch when
// first needed instead of linked: the library then loads under any torch.
inline cudaStream_t current_stream() {
  using GetStream = AOTITorchError (*)(int32_t device_index, void** stream);
  static const GetStream get_stream = []() -> GetStream {
    void* library = dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_NOLOAD);
    return library == nullptr ? nullptr
                              : reinterpret_cast<GetStream>(dlsym(library, "aoti_torch_get_current_cuda_stream"));
  }();
  CM_CHECK(get_stream != nullptr, "clustering_metrics: the torch in this process has no CUDA support "
           "(libtorch_cuda.so is not loaded), so it cannot have CUDA tensors.");
  void* stream = nullptr;
  CM_CHECK(get_stream(current_device(), &stream) == AOTI_TORCH_SUCCESS,
           "clustering_metrics: could not get torch's current CUDA stream.");
  return static_cast<cudaStream_t>(stream);
}

inline int device_attribute(cudaDeviceAttr attribute) {
  int value = 0;
  CM_CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, current_device()));
  return value;
}

// The CUDA runtime is linked statically, so the kernels need a driver for
// the CUDA major version they were built with, whatever CUDA torch has.
inline void check_cuda_driver() {
  static const int driver = [] {
    int version = 0;
    return cudaDriverGetVersion(&version) == cudaSuccess ? version : 0;
  }();
  CM_CHECK(driver / 1000 >= CUDART_VERSION / 1000, "clustering_metrics: its CUDA kernels were built with CUDA ",
           CUDART_VERSION / 1000, ".", CUDART_VERSION % 1000 / 10, " and need an NVIDIA driver for CUDA ",
           CUDART_VERSION / 1000, " or newer, but ",
           driver == 0 ? std::string("no driver was found")
                       : "this driver supports CUDA " + std::to_string(driver / 1000) + "." +
                             std::to_string(driver % 1000 / 10),
           ". The CPU ops work; for CUDA tensors, update the driver or build clustering_metrics from source "
           "with your CUDA toolkit (README: Installing).");
}

inline int multiprocessor_count() { return device_attribute(cudaDevAttrMultiProcessorCount); }

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

// Uninitialised device tensors from torch's caching allocator, ordered on the
// current stream.
inline Tensor empty_on(const Tensor& like, int64_t size, ScalarType dtype) {
  return torch::stable::empty({size}, dtype, std::nullopt, like.device());
}

inline Tensor empty_long(int64_t size, const Tensor& like) { return empty_on(like, size, ScalarType::Long); }

inline Tensor zeros_long(int64_t size, const Tensor& like) {
  Tensor t = empty_long(size, like);
  torch::stable::zero_(t);
  return t;
}

// Host copies of device values: synchronisation points of the current stream.
inline void copy_to_host(void* host, const void* device, size_t bytes) {
  const cudaStream_t stream = current_stream();
  CM_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream));
  CM_CUDA_CHECK(cudaStreamSynchronize(stream));
}

inline int64_t read_back(const Tensor& t, int64_t index) {
  int64_t value = 0;
  copy_to_host(&value, data_of<int64_t>(t) + index, sizeof(value));
  return value;
}

// Runs a CUB device algorithm twice, first to size its temporary storage and
// then for real, with the storage a byte tensor from torch's caching
// allocator on the current stream.
template <typename CubCall>
void run_cub(const Tensor& like, CubCall&& call) {
  size_t bytes = 0;
  CM_CUDA_CHECK(call(nullptr, bytes));
  const Tensor temp = empty_on(like, static_cast<int64_t>(std::max<size_t>(bytes, 1)), ScalarType::Byte);
  CM_CUDA_CHECK(call(temp.mutable_data_ptr(), bytes));
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
