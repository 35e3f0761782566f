#include "sorted_counting.h"

namespace clustering_metrics::cpu {

std::vector<int64_t> collapse_buckets(uint64_t* bucketed, int64_t* bucketed_weights, int64_t* run_counts,
                                      const std::vector<int64_t>& bucket_begin, int low_bits) {
  const int64_t num_buckets = static_cast<int64_t>(bucket_begin.size()) - 1;
  std::vector<int64_t> runs_in_bucket(num_buckets, 0);
  parallel_for(0, num_buckets, grain_for(num_buckets, kSortWork * bucket_begin.back()), [&](int64_t first, int64_t last) {
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
