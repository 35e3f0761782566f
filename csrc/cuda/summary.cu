// Stage 4: the contingency summary on the GPU: cluster totals, pair counts,
// entropies and sums of n log n of counted cells; the MI is its own stage
// (mutual_info.cu), the EMI is added by the op from the host.
//
// Totals are exact int64 sums (integer atomics commute), and pair counts
// exact 128-bit sums. The floating-point sums are ordered reductions
// (ordered_reduction.cuh), the same bits on every run.
#include <cmath>

#include "../common/compensated_sum.h"
#include "../common/exact_arithmetic.h"
#include "../common/information_terms.h"
#include "../common/summary.h"
#include "ordered_reduction.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// What a block of cells contributes.
struct CellSums {
  CompensatedSum<double> n_log_n;  // sum of n log n
  u128 pairs = 0;                  // sum of C(n, 2)

  CM_DEVICE void add(const CellSums& other) {
    n_log_n.add(other.n_log_n);
    pairs += other.pairs;
  }
};

// What a block of cluster totals contributes.
struct TotalSums {
  CompensatedSum<double> entropy;  // sum of a log(N / a)
  CompensatedSum<double> n_log_n;  // sum of a log a
  u128 pairs = 0;                  // sum of C(a, 2)
  int64_t nonzero = 0;

  CM_DEVICE void add(const TotalSums& other) {
    entropy.add(other.entropy);
    n_log_n.add(other.n_log_n);
    pairs += other.pairs;
    nonzero += other.nonzero;
  }
};

CM_DEVICE double n_log_n(int64_t v) { return v > 1 ? static_cast<double>(v) * log(static_cast<double>(v)) : 0.0; }

CM_KERNEL void marginals_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts,
                                int64_t num_cells, uint64_t num_target_ids, unsigned long long* row_totals,
                                unsigned long long* col_totals) {
  for_each_index(num_cells, [&](int64_t i) {
    const uint64_t row = keys[i] / num_target_ids;
    const auto count = static_cast<unsigned long long>(counts[i]);
    simt::atomic_add(&row_totals[row], count);
    simt::atomic_add(&col_totals[keys[i] - row * num_target_ids], count);
  });
}

// Block b sums cells [b * kTermBlock, (b + 1) * kTermBlock).
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    cell_sums_kernel(const int64_t* __restrict__ counts, int64_t num_cells, CellSums* block_sums) {
  const int64_t begin = static_cast<int64_t>(simt::block_index()) * kTermBlock;
  const int64_t end = begin + kTermBlock < num_cells ? begin + kTermBlock : num_cells;
  CellSums sums;
  for (int64_t i = begin + simt::thread_index(); i < end; i += kTermThreads) {
    sums.n_log_n.add(n_log_n(counts[i]));
    sums.pairs += pairs_of(counts[i]);
  }
  const CellSums block = reduce_block_in_order(sums);
  if (simt::thread_index() == 0) block_sums[simt::block_index()] = block;
}

// Block b sums totals [b * kTermBlock, (b + 1) * kTermBlock).
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    total_sums_kernel(const int64_t* __restrict__ totals, int64_t size, int64_t total, TotalSums* block_sums) {
  const int64_t begin = static_cast<int64_t>(simt::block_index()) * kTermBlock;
  const int64_t end = begin + kTermBlock < size ? begin + kTermBlock : size;
  TotalSums sums;
  for (int64_t i = begin + simt::thread_index(); i < end; i += kTermThreads) {
    const int64_t a = totals[i];
    if (a == 0) continue;
    sums.entropy.add(entropy_term<double>(a, total));
    sums.n_log_n.add(n_log_n(a));
    sums.pairs += pairs_of(a);
    sums.nonzero += 1;
  }
  const TotalSums block = reduce_block_in_order(sums);
  if (simt::thread_index() == 0) block_sums[simt::block_index()] = block;
}

// One block: every slot of the summary, the MI and the EMI as NaN until
// their stages fill them.
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    finish_kernel(const CellSums* __restrict__ cell_blocks, int64_t num_cell_blocks,
                  const TotalSums* __restrict__ row_blocks, int64_t num_row_blocks,
                  const TotalSums* __restrict__ col_blocks, int64_t num_col_blocks, int64_t total, int64_t num_cells,
                  int64_t* integers, double* reals) {
  const CellSums cells = fold_in_order(cell_blocks, num_cell_blocks);
  const TotalSums rows = fold_in_order(row_blocks, num_row_blocks);
  const TotalSums cols = fold_in_order(col_blocks, num_col_blocks);
  if (simt::thread_index() != 0) return;
  const double n = static_cast<double>(total);
  SummaryValues values;
  values.total = total;
  values.num_cells = num_cells;
  values.num_pred_clusters = rows.nonzero;
  values.num_target_clusters = cols.nonzero;
  values.pairs = PairCounts{cells.pairs, rows.pairs, cols.pairs};
  values.mutual_info = NAN;
  values.expected_mutual_info = NAN;
  values.entropy_pred = total > 0 ? rows.entropy.value() / n : 0.0;
  values.entropy_target = total > 0 ? cols.entropy.value() / n : 0.0;
  values.cells_n_log_n = cells.n_log_n.value();
  values.pred_n_log_n = rows.n_log_n.value();
  values.target_n_log_n = cols.n_log_n.value();
  write_summary_slots(values, integers, reals);
}

}  // namespace

Summary summarize(const CountedCells& cells) {
  const CellList& listed = cells.listed;
  const int64_t num_cells = listed.keys.numel();
  const Stream stream = current_stream();
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  const int64_t* counts = cdata_of<int64_t>(listed.counts);

  Tensor marginals = zeros_long(rows + cols, listed.keys);
  if (num_cells > 0) {
    auto* row_totals = reinterpret_cast<unsigned long long*>(data_of<int64_t>(marginals));
    simt::launch("marginals", marginals_kernel, grid_for(num_cells), kThreads, 0, stream, u64_ptr(listed.keys),
                 counts, num_cells, static_cast<uint64_t>(cols), row_totals, row_totals + rows);
    check_launch();
  }
  Summary summary;
  summary.row_totals = torch::stable::narrow(marginals, 0, 0, rows);
  summary.col_totals = torch::stable::narrow(marginals, 0, rows, cols);

  const int64_t cell_blocks = blocks_for(num_cells), row_blocks = blocks_for(rows), col_blocks = blocks_for(cols);
  CM_CHECK(cell_blocks <= int64_t{0x7fffffff}, "contingency summary: ", num_cells,
           " cells are more than one launch covers.");
  const Tensor cell_sums = block_sums_storage<CellSums>(listed.keys, cell_blocks);
  const Tensor total_sums = block_sums_storage<TotalSums>(listed.keys, row_blocks + col_blocks);
  auto* cell_sums_ptr = data_of<CellSums>(cell_sums);
  auto* row_sums_ptr = data_of<TotalSums>(total_sums);
  auto* col_sums_ptr = row_sums_ptr + row_blocks;
  if (cell_blocks > 0) {
    simt::launch("cell_sums", cell_sums_kernel, static_cast<unsigned int>(cell_blocks), kTermThreads, 0, stream,
                 counts, num_cells, cell_sums_ptr);
    check_launch();
  }
  if (row_blocks > 0) {
    simt::launch("total_sums", total_sums_kernel, static_cast<unsigned int>(row_blocks), kTermThreads, 0, stream,
                 cdata_of<int64_t>(summary.row_totals), rows, cells.total, row_sums_ptr);
    check_launch();
  }
  if (col_blocks > 0) {
    simt::launch("total_sums", total_sums_kernel, static_cast<unsigned int>(col_blocks), kTermThreads, 0, stream,
                 cdata_of<int64_t>(summary.col_totals), cols, cells.total, col_sums_ptr);
    check_launch();
  }
  summary.integers = empty_on(listed.keys, kNumSummaryIntegers, ScalarType::Long);
  summary.reals = empty_on(listed.keys, kNumSummaryReals, ScalarType::Double);
  simt::launch("finish_summary", finish_kernel, 1, kTermThreads, 0, stream, cell_sums_ptr, cell_blocks, row_sums_ptr,
               row_blocks, col_sums_ptr, col_blocks, cells.total, num_cells, data_of<int64_t>(summary.integers),
               data_of<double>(summary.reals));
  check_launch();
  return summary;
}

}  // namespace clustering_metrics::cuda
