#include "sorted_counting.h"

namespace clustering_metrics::cpu {

void sort_low_bits(uint64_t* keys, int64_t* payload, uint64_t* key_scratch, int64_t* payload_scratch, int64_t n,
                   int key_bits, std::vector<int64_t>& counts) {
  if (n < 2 || key_bits == 0) return;
  constexpr int64_t kInsertionSortMax = 32;
  if (n <= kInsertionSortMax) {
    // Sparse pair spaces leave buckets of a few keys, too few to pay for
    // clearing radix counters.
    for (int64_t i = 1; i < n; ++i) {
      const uint64_t key = keys[i];
      const int64_t weight = payload != nullptr ? payload[i] : 0;
      int64_t j = i;
      for (; j > 0 && keys[j - 1] > key; --j) {
        keys[j] = keys[j - 1];
        if (payload != nullptr) payload[j] = payload[j - 1];
      }
      keys[j] = key;
      if (payload != nullptr) payload[j] = weight;
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

std::vector<int64_t> collapse_buckets(uint64_t* bucketed, int64_t* bucketed_weights, int64_t* run_counts,
                                      const std::vector<int64_t>& bucket_begin, int low_bits) {
  const int64_t num_buckets = static_cast<int64_t>(bucket_begin.size()) - 1;
  std::vector<int64_t> runs_in_bucket(num_buckets, 0);
  parallel_for(0, num_buckets, 1, [&](int64_t first, int64_t last) {
    int64_t largest = 0;
    for (int64_t b = first; b < last; ++b) largest = std::max(largest, bucket_begin[b + 1] - bucket_begin[b]);
    std::vector<uint64_t> key_scratch(largest);
    std::vector<int64_t> weight_scratch(bucketed_weights != nullptr ? largest : 0);
    std::vector<int64_t> digit_counts;
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = bucket_begin[b], size = bucket_begin[b + 1] - begin;
      uint64_t* bucket = bucketed + begin;
      int64_t* bucket_weights = bucketed_weights != nullptr ? bucketed_weights + begin : nullptr;
      sort_low_bits(bucket, bucket_weights, key_scratch.data(), weight_scratch.data(), size, low_bits, digit_counts);
      int64_t runs = 0;
      for (int64_t i = 0; i < size;) {
        const uint64_t key = bucket[i];
        int64_t count = 0;
        do {
          count += bucket_weights == nullptr ? 1 : bucket_weights[i];
          ++i;
        } while (i < size && bucket[i] == key);
        if (count == 0) continue;  // zero-weight samples leave no cell
        bucket[runs] = key;
        run_counts[begin + runs] = count;
        ++runs;
      }
      runs_in_bucket[b] = runs;
    }
  });
  return runs_in_bucket;
}

}  // namespace clustering_metrics::cpu
