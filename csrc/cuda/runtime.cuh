// The CUDA runtime as the launch code uses it: the current stream, the
// device's shape, copies and launch checks. Compiled by nvcc these are the
// CUDA runtime's; with CM_EMULATE (tests only) they act on host memory and
// the emulated device of tests/emulator, so the launch code runs unchanged.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "../host/checks.h"
#include "../simt/simt.h"

#if !defined(CM_EMULATE)
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/c/shim.h>
#endif

namespace clustering_metrics::cuda {

using simt::Stream;

#if !defined(CM_EMULATE)

// Makes a tensor's device current for the ops' lifetime.
using DeviceGuard = torch::stable::accelerator::DeviceGuard;

#define CM_CUDA_CHECK(expression)                                                              \
  do {                                                                                         \
    const cudaError_t cm_cuda_error = (expression);                                            \
    CM_CHECK(cm_cuda_error == cudaSuccess, "CUDA error: ", cudaGetErrorString(cm_cuda_error),  \
             " (", #expression, ")");                                                          \
  } while (false)

inline int current_device() {
  int device = 0;
  CM_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// torch's current stream on the current device, from the stable C shim's
// aoti_torch_get_current_cuda_stream. That function lives in libtorch_cuda,
// which a CPU-only torch lacks, so it is looked up in the loaded torch when
// first needed instead of linked: the library then loads under any torch.
inline Stream current_stream() {
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
  return static_cast<Stream>(stream);
}

inline int device_attribute(cudaDeviceAttr attribute) {
  int value = 0;
  CM_CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, current_device()));
  return value;
}

inline int multiprocessor_count() { return device_attribute(cudaDevAttrMultiProcessorCount); }
inline int shared_bytes_per_block() { return device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin); }

// Lets kernel use up to shared_bytes_per_block() of dynamic shared memory.
// Always the device maximum: the attribute is process-wide, and a smaller
// value set here could race with another thread's larger launch.
template <typename Kernel>
void allow_all_shared_memory(Kernel kernel) {
  CM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes_per_block()));
}

template <typename Kernel>
int blocks_per_multiprocessor(Kernel kernel, int threads, size_t shared_bytes) {
  int blocks = 0;
  CM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, shared_bytes));
  return blocks;
}

// After a launch: a bad configuration shows at once, a fault at the next sync.
inline void check_launch() { CM_CUDA_CHECK(cudaGetLastError()); }

// Host copies of device values: synchronisation points of the current stream.
inline void copy_to_host(void* host, const void* device, size_t bytes) {
  const Stream stream = current_stream();
  CM_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream));
  CM_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// From pageable host memory, so the copy is done when the call returns.
inline void copy_to_device(void* device, const void* host, size_t bytes) {
  CM_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, current_stream()));
}

inline void copy_on_device(void* destination, const void* source, size_t bytes) {
  CM_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToDevice, current_stream()));
}

inline void zero_on_device(void* device, size_t bytes) {
  CM_CUDA_CHECK(cudaMemsetAsync(device, 0, bytes, current_stream()));
}

inline bool stream_is_capturing() {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  CM_CUDA_CHECK(cudaStreamIsCapturing(current_stream(), &capture));
  return capture != cudaStreamCaptureStatusNone;
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

#else  // CM_EMULATE: host memory, the emulated device

struct DeviceGuard {
  explicit DeviceGuard(int32_t) {}
};
inline Stream current_stream() { return nullptr; }
inline int multiprocessor_count() { return simt::emulator::device().multiprocessors; }
inline int shared_bytes_per_block() { return simt::emulator::device().shared_bytes_per_block; }
template <typename Kernel>
void allow_all_shared_memory(Kernel) {}
template <typename Kernel>
int blocks_per_multiprocessor(Kernel, int, size_t shared_bytes) {
  const auto& device = simt::emulator::device();
  const size_t by_memory = shared_bytes == 0 ? device.max_blocks_per_multiprocessor
                                             : device.shared_bytes_per_multiprocessor / shared_bytes;
  return static_cast<int>(std::min<size_t>(device.max_blocks_per_multiprocessor, by_memory));
}
inline void check_launch() {}
inline void copy_to_host(void* host, const void* device, size_t bytes) { std::memcpy(host, device, bytes); }
inline void copy_to_device(void* device, const void* host, size_t bytes) { std::memcpy(device, host, bytes); }
inline void copy_on_device(void* destination, const void* source, size_t bytes) {
  std::memcpy(destination, source, bytes);
}
inline void zero_on_device(void* device, size_t bytes) { std::memset(device, 0, bytes); }
inline bool stream_is_capturing() { return false; }
inline void check_cuda_driver() {}

#endif

}  // namespace clustering_metrics::cuda
