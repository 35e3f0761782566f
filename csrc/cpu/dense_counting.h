// Stage 3a: counting a small pair space into dense per-chunk tables.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "pipeline.h"
#include "sample_ids.h"

namespace clustering_metrics::cpu {

// Counts into one private dense table per worker; the tables are added only
// as their sums are read (DenseCounts::sum_into). Tables that fit L1, and
// weighted counts (histogram merges), use 64-bit counters. Larger tables use
// 8-bit counters, which keep a 10^6-cell table in L2; a counter that wraps
// carries 2^8 into a 64-bit table allocated on first use. Workers claim
// blocks of samples as they go, so that a thread slowed by another process
// on its core does not hold up the rest (the counts, integers, do not depend
// on who counted what). Returns false, counting nothing, when an id falls
// outside the index sizes.
template <typename PredIds, typename TargetIds>
bool count_dense(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n, uint64_t num_pred_ids,
                 uint64_t num_target_ids, int64_t num_cells, DenseCounts& dense) {
  constexpr int64_t kL1Cells = 4096;
  constexpr int64_t kBlock = 1 << 16;
  const bool narrow_counters = weights == nullptr && num_cells > kL1Cells;
  const int64_t workers = Chunks(n).count;
  const int64_t num_blocks = (n + kBlock - 1) / kBlock;
  std::atomic<int64_t> next_block{0};
  std::atomic<bool> out_of_range{false};
  Array<uint8_t> narrow_tables;
  if (narrow_counters) narrow_tables = Array<uint8_t>(workers * num_cells, /*zeroed=*/true);
  std::vector<Array<int64_t>> wide_tables(workers);
  parallel_for(0, workers, 1, [&](int64_t first, int64_t last) {
    for (int64_t w = first; w < last; ++w) {
      int64_t* wide = nullptr;
      auto wide_table = [&]() {
        if (wide == nullptr) {
          wide_tables[w] = Array<int64_t>(num_cells, /*zeroed=*/true);
          wide = wide_tables[w].data();
        }
        return wide;
      };
      auto count_blocks_with = [&](auto&& add) {
        for (int64_t b = next_block++; b < num_blocks && !out_of_range; b = next_block++) {
          const int64_t begin = b * kBlock, end = std::min(n, begin + kBlock);
          if (!for_each_sample_cell(pred_id, target_id, num_pred_ids, num_target_ids, begin, end, add)) {
            out_of_range = true;
          }
        }
      };
      if (weights != nullptr) {
        int64_t* table = wide_table();
        count_blocks_with([&](int64_t i, uint64_t cell) { table[cell] += weights[i]; });
      } else if (!narrow_counters) {
        int64_t* table = wide_table();
        count_blocks_with([&](int64_t, uint64_t cell) { ++table[cell]; });
      } else {
        uint8_t* table = narrow_tables.data() + w * num_cells;
        // table by value: a uint8_t store may alias anything, so a pointer
        // reached through a reference would be reloaded for every sample.
        count_blocks_with([table, &wide_table](int64_t, uint64_t cell) {
          if (__builtin_expect(++table[cell] == 0, 0)) wide_table()[cell] += int64_t{1} << 8;
        });
      }
    }
  });
  if (out_of_range) return false;
  dense.num_cells = num_cells;
  dense.num_narrow = narrow_counters ? workers : 0;
  dense.narrow = std::move(narrow_tables);
  dense.wide = std::move(wide_tables);
  return true;
}

}  // namespace clustering_metrics::cpu
