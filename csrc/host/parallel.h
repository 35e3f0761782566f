// Host threads and scratch memory: torch's intra-op thread pool through the
// stable ABI, chunking that never depends on more than n and the thread
// count, and owned arrays whose allocation failure is one line.
#pragma once

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "checks.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace clustering_metrics {

inline int64_t num_threads() { return static_cast<int64_t>(torch::stable::get_num_threads()); }

// Units of work below which a loop stays on the calling thread, a unit being
// about what counting one sample costs (~1 ns). Waking the pool costs tens of
// microseconds, and on a CPU shared with other processes its threads,
// spinning while they wait for the next region, take cores from the caller:
// small updates then ran 2-4x slower.
constexpr int64_t kMinChunk = 1 << 17;

// The units of work of sorting one item in cache (several radix passes and a
// scatter): sorts split into threads at an eighth of the items counts do.
constexpr int64_t kSortWork = 8;

// body(first, last) over [begin, end) on torch's thread pool, in ranges of
// at least grain. Whatever a body throws (an allocation failure, say) is
// caught inside it and rethrown here, so that no exception crosses torch's C
// interface, which would print a C++ stack trace on the way.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& body) {
  if (begin >= end) return;
  if (end - begin <= grain) {
    body(begin, end);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mutex;
  torch::stable::parallel_for(begin, end, grain, [&](int64_t first, int64_t last) {
    try {
      body(first, last);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  });
  if (failure) std::rethrow_exception(failure);
}

// Whether any chunk raised its flag.
inline bool any_set(const std::vector<char>& flags) {
  return std::any_of(flags.begin(), flags.end(), [](char f) { return f != 0; });
}

// The grain of a loop over `tasks` that together cost `work` items: each
// thread's share is then at least kMinChunk items, so a small loop stays on
// the calling thread.
inline int64_t grain_for(int64_t tasks, int64_t work) {
  if (work <= 0) return std::max<int64_t>(tasks, 1);
  const double per_task = static_cast<double>(work) / static_cast<double>(std::max<int64_t>(tasks, 1));
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(kMinChunk) / std::max(per_task, 1e-9)));
}

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
    parallel_for(0, n, kMinChunk, [&](int64_t begin, int64_t end) {
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

}  // namespace clustering_metrics
