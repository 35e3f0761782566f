// Stage 1: the range of each side's label keys, exact or guessed from a
// sample, which decides whether a side can index its labels directly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../common/counting_plan.h"
#include "../common/labels.h"
#include "../host/parallel.h"

namespace clustering_metrics::cpu {

// The strided sample that guesses a side's range and its labels: about
// kSamples samples spread evenly, and the last one.
constexpr int64_t kSamples = 4096;

template <typename F>
void for_each_sampled(int64_t n, F&& fn) {
  const int64_t stride = std::max<int64_t>(1, n / kSamples);
  for (int64_t i = 0; i < n; i += stride) fn(i);
  fn(n - 1);
}

template <typename S>
KeyRange key_range(const S* data, int64_t n) {
  Chunks chunks(n);
  std::vector<S> lo(chunks.count, data[0]), hi(chunks.count, data[0]);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    // Min/max on raw values vectorises; label_to_key is monotone, so the
    // keys of the extremes are the extreme keys.
    S chunk_lo = data[begin], chunk_hi = data[begin];
    for (int64_t i = begin; i < end; ++i) {
      chunk_lo = std::min(chunk_lo, data[i]);
      chunk_hi = std::max(chunk_hi, data[i]);
    }
    lo[c] = chunk_lo;
    hi[c] = chunk_hi;
  });
  return {label_to_key(*std::min_element(lo.begin(), lo.end())),
          label_to_key(*std::max_element(hi.begin(), hi.end()))};
}

// A guess of the range from an evenly strided sample, widened by 1/64 of
// its span on each side because a sample of many clusters misses the last
// few. Exact for small inputs; for large ones usually a superset of the
// true range, which is all a direct index needs (counting checks every id).
template <typename S>
KeyRange sampled_key_range(const S* data, int64_t n) {
  S lo = data[0], hi = data[0];
  for_each_sampled(n, [&](int64_t i) {
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
  });
  KeyRange range{label_to_key(lo), label_to_key(hi)};
  if (n <= kSamples) return range;
  const uint64_t margin = range.span() / 64 + 2;
  range.min_key = range.min_key > margin ? range.min_key - margin : 0;
  range.max_key = range.max_key < UINT64_MAX - margin ? range.max_key + margin : UINT64_MAX;
  return range;
}

}  // namespace clustering_metrics::cpu
