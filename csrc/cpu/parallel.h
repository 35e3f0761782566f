// Threads and scratch memory of the CPU stages.
#pragma once

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

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
    if (memory == nullptr) throw std::bad_alloc();
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
