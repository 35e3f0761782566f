// Stage 5: the MI reduction on the GPU, always by the exact form of
// common/information_terms.h: one non-negative term per cell, in double, in
// an ordered reduction (ordered_reduction.cuh), so the MI is within a few
// ulps of double relative however small it is, and the same bits on every
// run. (The CPU may take the entropy form from the summary's long double
// sums instead; GPUs have no long double.)
#include "../common/compensated_sum.h"
#include "../common/information_terms.h"
#include "../common/summary.h"
#include "ordered_reduction.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// What a block of cells contributes to N MI.
struct TermSums {
  CompensatedSum<double> terms;  // sum of mu phi(x)
  u128 sum_of_expected = 0;      // sum of a b

  CM_DEVICE void add(const TermSums& other) {
    terms.add(other.terms);
    sum_of_expected += other.sum_of_expected;
  }
};

// Block b sums the terms of cells [b * kTermBlock, (b + 1) * kTermBlock).
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    mutual_info_terms_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts,
                             int64_t num_cells, uint64_t num_target_ids, const int64_t* __restrict__ row_totals,
                             const int64_t* __restrict__ col_totals, int64_t total, TermSums* block_sums) {
  const int64_t begin = static_cast<int64_t>(simt::block_index()) * kTermBlock;
  const int64_t end = begin + kTermBlock < num_cells ? begin + kTermBlock : num_cells;
  TermSums sums;
  for (int64_t i = begin + simt::thread_index(); i < end; i += kTermThreads) {
    const uint64_t row = keys[i] / num_target_ids;
    const int64_t a = row_totals[row], b = col_totals[keys[i] - row * num_target_ids];
    sums.terms.add(mutual_info_cell_term<double>(counts[i], a, b, total));
    sums.sum_of_expected += static_cast<u128>(a) * static_cast<u128>(b);
  }
  const TermSums block = reduce_block_in_order(sums);
  if (simt::thread_index() == 0) block_sums[simt::block_index()] = block;
}

CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    finish_mutual_info_kernel(const TermSums* __restrict__ block_sums, int64_t num_blocks, int64_t total,
                              double* mutual_info) {
  const TermSums sums = fold_in_order(block_sums, num_blocks);
  if (simt::thread_index() == 0) {
    *mutual_info = finish_mutual_info<double>(sums.terms.value(), sums.sum_of_expected, total);
  }
}

}  // namespace

void mutual_info(const CountedCells& cells, Summary& summary) {
  const CellList& listed = cells.listed;
  const int64_t num_cells = listed.keys.numel();
  const Stream stream = current_stream();
  const int64_t blocks = blocks_for(num_cells);
  const Tensor block_sums = block_sums_storage<TermSums>(listed.keys, blocks);
  auto* block_sums_ptr = data_of<TermSums>(block_sums);
  if (blocks > 0) {
    simt::launch("mutual_info_terms", mutual_info_terms_kernel, static_cast<unsigned int>(blocks), kTermThreads, 0,
                 stream, u64_ptr(listed.keys), cdata_of<int64_t>(listed.counts), num_cells,
                 static_cast<uint64_t>(cells.target_index.size), cdata_of<int64_t>(summary.row_totals),
                 cdata_of<int64_t>(summary.col_totals), cells.total, block_sums_ptr);
    check_launch();
  }
  simt::launch("finish_mutual_info", finish_mutual_info_kernel, 1, kTermThreads, 0, stream, block_sums_ptr, blocks,
               cells.total, data_of<double>(summary.reals) + kMutualInfo);
  check_launch();
}

}  // namespace clustering_metrics::cuda
