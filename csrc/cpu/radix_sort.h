// In-cache radix sort of small ranges of 64-bit keys with a payload, shared
// by the sorted counter (payload: weights) and the sort ranking of labels
// (payload: sample indices).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "../host/parallel.h"

namespace clustering_metrics::cpu {

// Stable LSD radix sort of keys[0, n) on their low `key_bits` bits,
// carrying payload (when not null); the scratch arrays hold n elements each.
// The result ends up back in `keys` / `payload`.
template <typename Payload>
void sort_low_bits(uint64_t* keys, Payload* payload, uint64_t* key_scratch, Payload* payload_scratch, int64_t n,
                   int key_bits, std::vector<int64_t>& counts) {
  if (n < 2 || key_bits == 0) return;
  constexpr int64_t kInsertionSortMax = 32;
  if (n <= kInsertionSortMax) {
    // Sparse key spaces leave buckets of a few keys, too few to pay for
    // clearing radix counters.
    for (int64_t i = 1; i < n; ++i) {
      const uint64_t key = keys[i];
      const Payload carried = payload != nullptr ? payload[i] : Payload{};
      int64_t j = i;
      for (; j > 0 && keys[j - 1] > key; --j) {
        keys[j] = keys[j - 1];
        if (payload != nullptr) payload[j] = payload[j - 1];
      }
      keys[j] = key;
      if (payload != nullptr) payload[j] = carried;
    }
    return;
  }
  // An even number of passes brings the data back into `keys`.
  int passes = (key_bits + 10) / 11;
  passes += passes % 2;
  const int digit_bits = (key_bits + passes - 1) / passes;
  const uint64_t digit_mask = (uint64_t{1} << digit_bits) - 1;
  counts.resize(size_t{1} << digit_bits);
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = pass * digit_bits;
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t i = 0; i < n; ++i) ++counts[(keys[i] >> shift) & digit_mask];
    int64_t running = 0;
    for (auto& count : counts) {
      const int64_t c = count;
      count = running;
      running += c;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t dst = counts[(keys[i] >> shift) & digit_mask]++;
      key_scratch[dst] = keys[i];
      if (payload != nullptr) payload_scratch[dst] = payload[i];
    }
    std::swap(keys, key_scratch);
    std::swap(payload, payload_scratch);
  }
}

// Bucket boundaries of a most-significant-digit scatter: chunk c's keys with
// top digit b go to [offsets[c][b], ...). Returns each bucket's start (one
// more entry, n, at the end) and turns `offsets` (chunk-major, counts in)
// into those scatter positions. Equal keys keep their sample order.
inline std::vector<int64_t> bucket_starts(std::vector<int64_t>& offsets, int64_t num_chunks, int64_t num_buckets,
                                          int64_t n) {
  std::vector<int64_t> starts(num_buckets + 1, 0);
  int64_t running = 0;
  for (int64_t b = 0; b < num_buckets; ++b) {
    starts[b] = running;
    for (int64_t c = 0; c < num_chunks; ++c) {
      const int64_t count = offsets[c * num_buckets + b];
      offsets[c * num_buckets + b] = running;
      running += count;
    }
  }
  starts[num_buckets] = n;
  return starts;
}

// A most-significant-digit scatter of items [0, n) into num_buckets buckets,
// in two passes over chunks of the items: count(begin, end, counts) adds
// each item's bucket to its chunk's counts, or returns false to stop;
// scatter(begin, end, next) writes each item to position next[bucket]++.
// Items keep their order within a bucket. Returns each bucket's start (and
// n last), or nothing when a count stopped (nothing is scattered then). The
// buckets are then small enough to sort in cache, one by one: two passes
// over memory instead of one per radix digit.
template <typename Count, typename Scatter>
std::optional<std::vector<int64_t>> scatter_into_buckets(int64_t n, int64_t num_buckets, Count&& count,
                                                         Scatter&& scatter) {
  const Chunks chunks(n);
  std::vector<int64_t> offsets(chunks.count * num_buckets, 0);
  std::vector<char> stopped(chunks.count, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    stopped[c] = !count(begin, end, offsets.data() + c * num_buckets);
  });
  if (any_set(stopped)) return std::nullopt;
  std::vector<int64_t> starts = bucket_starts(offsets, chunks.count, num_buckets, n);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) { scatter(begin, end, offsets.data() + c * num_buckets); });
  return starts;
}

}  // namespace clustering_metrics::cpu
