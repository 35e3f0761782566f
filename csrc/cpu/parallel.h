// Threads and scratch memory of the CPU stages.
#pragma once

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../common/checks.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace clustering_metrics::cpu {

inline int64_t num_threads() { return static_cast<int64_t>(torch::stable::get_num_threads()); }

// torch's thread pool, through the stable ABI. body must not throw: the call
// crosses a C interface.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& body) {
  if (begin >= end) return;
  torch::stable::parallel_for(begin, end, grain, body);
}

constexpr int64_t kMinChunk = 1 << 15;

// Chunk boundaries depend only on n and the thread count; every result that
// could depend on them (floating-point sums) is computed in fixed blocks
// instead, so outputs are the same for any number of threads.
struct Chunks {
  int64_t n;
  int64_t count;

  explicit Chunks(int64_t n_, int64_t min_chunk = kMinChunk)
      : n(n_), count(std::max<int64_t>(1, std::min<int64_t>(num_threads(), n_ / min_chunk))) {}
  int64_t begin(int64_t c) const { return c * (n / count) + std::min(c, n % count); }
  int64_t end(int64_t c) const { return begin(c + 1); }

  template <typename F>
  void run(F&& body) const {
    parallel_for(0, count, 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) body(c, begin(c), end(c));
    });
  }
};

// An owned, uninitialised (or zeroed) array of trivially copyable T. Large
// arrays come straight from the system allocator, so their pages go back to
// the system when they are freed: scratch never outlives the call that made
// it. Those of a few MiB or more ask for transparent huge pages before first
// touch, which saves the page faults of a fresh 4 KiB-page mapping (about a
// tenth of the time of the sort path).
template <typename T>
class Array {
 public:
  Array() = default;
  explicit Array(int64_t size, bool zeroed = false) : size_(size) {
    if (size <= 0) return;
    const size_t bytes = static_cast<size_t>(size) * sizeof(T);
    constexpr size_t kHugePage = size_t{2} << 20;
    void* memory = nullptr;
    if (bytes >= 2 * kHugePage) {
      memory = std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (memory != nullptr) madvise(memory, bytes, MADV_HUGEPAGE);
#endif
      if (memory != nullptr && zeroed) std::memset(memory, 0, bytes);
    } else {
      memory = zeroed ? std::calloc(static_cast<size_t>(size), sizeof(T)) : std::malloc(bytes);
    }
    // One line naming the size: torch's allocator would print a stack trace
    // as its error crosses the stable ABI.
    CM_CHECK(memory != nullptr, "clustering_metrics: out of memory: could not allocate ", bytes,
             " bytes of scratch memory.");
    data_.reset(static_cast<T*>(memory));
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  int64_t size_ = 0;
};

}  // namespace clustering_metrics::cpu

namespace clustering_metrics::cpu {

// A 1-d tensor's elements as one contiguous array: the tensor's own memory
// when it is contiguous, else a copy gathered through its stride into an
// Array, so that a failing allocation is one line that names its size.
// (Stride-0 inputs never get here: host/expanded_inputs.h rewrites them.)
class ContiguousElements {
 public:
  explicit ContiguousElements(const Tensor& t) {
    const int64_t n = t.numel();
    if (n <= 1 || t.stride(0) == 1) {
      data_ = t.const_data_ptr();
      return;
    }
    const int64_t width = static_cast<int64_t>(t.element_size()), stride = t.stride(0);
    copy_ = Array<unsigned char>(n * width);
    const unsigned char* source = static_cast<const unsigned char*>(t.const_data_ptr());
    unsigned char* out = copy_.data();
    parallel_for(0, n, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) std::memcpy(out + i * width, source + i * stride * width, width);
    });
    data_ = out;
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }

 private:
  Array<unsigned char> copy_;
  const void* data_ = nullptr;
};

}  // namespace clustering_metrics::cpu
