// Stage 3b: counting a large pair space by sorting one 64-bit pair key per
// sample.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pipeline.h"
#include "radix_sort.h"
#include "sample_ids.h"

namespace clustering_metrics::cpu {

// Sorts each bucket of bucketed keys (bucket b spans [bucket_begin[b],
// bucket_begin[b + 1])) on its low bits and writes its runs from the bucket's
// start: run keys over the keys, run counts into run_counts at the same
// offsets. Zero-weight runs leave no cell. Returns the runs per bucket.
std::vector<int64_t> collapse_buckets(uint64_t* bucketed, int64_t* bucketed_weights, int64_t* run_counts,
                                      const std::vector<int64_t>& bucket_begin, int low_bits);

// Counts by sorting one pair key per sample: a scatter into buckets of a few
// thousand keys (scatter_into_buckets), then an in-cache sort of each
// bucket, whose runs become cells. The cells are written over the bucket's
// own storage and then packed, so the peak is two keys (plus one weight) per
// sample. Returns false, counting nothing, when an id falls outside the
// index sizes.
template <typename PredIds, typename TargetIds>
bool count_sorted(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n, uint64_t num_pred_ids,
                  uint64_t num_target_ids, int key_bits, CellList& cells) {
  const int top_bits = std::min(key_bits, 12);
  const int low_bits = key_bits - top_bits;
  const int64_t num_buckets = int64_t{1} << top_bits;
  Array<int64_t> storage(2 * n);
  uint64_t* keys = reinterpret_cast<uint64_t*>(storage.data());
  uint64_t* bucketed = keys + n;
  Array<int64_t> weight_storage;
  if (weights != nullptr) weight_storage = Array<int64_t>(n);
  int64_t* bucketed_weights = weights != nullptr ? weight_storage.data() : nullptr;

  const std::optional<std::vector<int64_t>> scattered = scatter_into_buckets(
      n, num_buckets,
      [&](int64_t begin, int64_t end, int64_t* counts) {
        return for_each_sample_cell(pred_id, target_id, num_pred_ids, num_target_ids, begin, end,
                                    [&](int64_t i, uint64_t key) {
                                      keys[i] = key;
                                      ++counts[key >> low_bits];
                                    });
      },
      [&](int64_t begin, int64_t end, int64_t* next) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t dst = next[keys[i] >> low_bits]++;
          bucketed[dst] = keys[i];
          if (weights != nullptr) bucketed_weights[dst] = weights[i];
        }
      });
  if (!scattered) return false;
  const std::vector<int64_t>& bucket_begin = *scattered;

  // Run counts go over the (now free) first half of the storage.
  int64_t* run_counts = storage.data();
  const std::vector<int64_t> runs_in_bucket =
      collapse_buckets(bucketed, bucketed_weights, run_counts, bucket_begin, low_bits);
  // Pack the buckets' runs. Every move is leftwards, so in bucket order it
  // never overwrites runs not yet moved.
  int64_t nnz = 0;
  for (int64_t b = 0; b < num_buckets; ++b) {
    const int64_t begin = bucket_begin[b], runs = runs_in_bucket[b];
    if (nnz != begin) {
      std::memmove(bucketed + nnz, bucketed + begin, runs * sizeof(uint64_t));
      std::memmove(run_counts + nnz, run_counts + begin, runs * sizeof(int64_t));
    }
    nnz += runs;
  }
  cells.keys = bucketed;
  cells.counts = run_counts;
  cells.size = nnz;
  cells.storage = std::move(storage);
  return true;
}

}  // namespace clustering_metrics::cpu
