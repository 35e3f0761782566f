// The contingency summary on the GPU: cluster totals, pair counts, entropies
// and the exact-form MI of counted cells.
//
// Totals are exact int64 sums (integer atomics commute), and pair counts
// exact 128-bit sums. The floating-point sums have a fixed shape that depends
// only on the number of items: one block per kTermBlock items, a fixed
// thread stride inside it, a fixed-order tree over the threads, then one
// block that folds the block sums in order. No floating-point atomics, so
// the result is the same bits on every run. The kernels are written against
// the portability layer (simt/simt.h), so that they also run in the
// emulator.
#include <cmath>

#include "../common/compensated_sum.h"
#include "../common/exact_arithmetic.h"
#include "../common/information_terms.h"
#include "../common/summary.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

constexpr int kTermThreads = 256;

// What a block of cells contributes.
struct CellSums {
  CompensatedSum<double> mi_terms;   // sum of mu phi(x)
  CompensatedSum<double> n_log_n;    // sum of n log n
  u128 sum_of_expected = 0;          // sum of a b
  u128 pairs = 0;                    // sum of C(n, 2)

  CM_DEVICE void add(const CellSums& other) {
    mi_terms.add(other.mi_terms);
    n_log_n.add(other.n_log_n);
    sum_of_expected += other.sum_of_expected;
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

// Folds the block's per-thread values pairwise in a fixed order; every
// thread of the block must call it.
template <typename T>
CM_DEVICE T reduce_block_in_order(const T& mine) {
  CM_SHARED_ARRAY(T, values, kTermThreads);
  const unsigned t = simt::thread_index();
  values[t] = mine;
  simt::sync_block();
  for (unsigned width = kTermThreads / 2; width > 0; width /= 2) {
    if (t < width) {
      T sum = values[t];
      sum.add(values[t + width]);
      values[t] = sum;
    }
    simt::sync_block();
  }
  const T result = values[0];
  simt::sync_block();  // a caller may reduce again into the same storage
  return result;
}

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
    cell_sums_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts, int64_t num_cells,
                     uint64_t num_target_ids, const int64_t* __restrict__ row_totals,
                     const int64_t* __restrict__ col_totals, int64_t total, CellSums* block_sums) {
  const int64_t begin = static_cast<int64_t>(simt::block_index()) * kTermBlock;
  const int64_t end = begin + kTermBlock < num_cells ? begin + kTermBlock : num_cells;
  CellSums sums;
  for (int64_t i = begin + simt::thread_index(); i < end; i += kTermThreads) {
    const uint64_t row = keys[i] / num_target_ids;
    const uint64_t col = keys[i] - row * num_target_ids;
    const int64_t a = row_totals[row], b = col_totals[col], n = counts[i];
    sums.mi_terms.add(mutual_info_cell_term<double>(n, a, b, total));
    sums.n_log_n.add(n_log_n(n));
    sums.sum_of_expected += static_cast<u128>(a) * static_cast<u128>(b);
    sums.pairs += pairs_of(n);
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

// Thread t folds a contiguous stretch of block sums in order, then the
// threads' results are folded as a tree.
template <typename T>
CM_DEVICE T fold_in_order(const T* block_sums, int64_t num_blocks) {
  const int64_t per_thread = (num_blocks + kTermThreads - 1) / kTermThreads;
  const int64_t begin = simt::thread_index() * per_thread;
  const int64_t end = begin + per_thread < num_blocks ? begin + per_thread : num_blocks;
  T sum;
  for (int64_t b = begin; b < end; ++b) sum.add(block_sums[b]);
  return reduce_block_in_order(sum);
}

// One block: the summary's outputs, all but the EMI.
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    finish_kernel(const CellSums* __restrict__ cell_blocks, int64_t num_cell_blocks,
                  const TotalSums* __restrict__ row_blocks, int64_t num_row_blocks,
                  const TotalSums* __restrict__ col_blocks, int64_t num_col_blocks, int64_t total, int64_t num_cells,
                  int64_t* integers, double* reals) {
  const CellSums cells = fold_in_order(cell_blocks, num_cell_blocks);
  const TotalSums rows = fold_in_order(row_blocks, num_row_blocks);
  const TotalSums cols = fold_in_order(col_blocks, num_col_blocks);
  if (simt::thread_index() != 0) return;
  integers[kNumSamples] = total;
  integers[kNumCells] = num_cells;
  integers[kNumPredClusters] = rows.nonzero;
  integers[kNumTargetClusters] = cols.nonzero;
  write_pair_counts(total, PairCounts{cells.pairs, rows.pairs, cols.pairs}, integers, reals);
  const double n = static_cast<double>(total);
  reals[kMutualInfo] = finish_mutual_info<double>(cells.mi_terms.value(), cells.sum_of_expected, total);
  reals[kEntropyPred] = total > 0 ? rows.entropy.value() / n : 0.0;
  reals[kEntropyTarget] = total > 0 ? cols.entropy.value() / n : 0.0;
  reals[kExpectedMutualInfo] = NAN;  // until the host adds it
  reals[kCellsNLogN] = cells.n_log_n.value();
  reals[kPredNLogN] = rows.n_log_n.value();
  reals[kTargetNLogN] = cols.n_log_n.value();
}

int64_t blocks_for(int64_t items) { return (items + kTermBlock - 1) / kTermBlock; }

}  // namespace

Summary summarize(const PairCells& cells) {
  const int64_t num_cells = cells.keys.numel();
  const Stream stream = current_stream();
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  const uint64_t* keys = u64_ptr(cells.keys);
  const int64_t* counts = cdata_of<int64_t>(cells.counts);

  Tensor marginals = zeros_long(rows + cols, cells.keys);
  if (num_cells > 0) {
    auto* row_totals = reinterpret_cast<unsigned long long*>(data_of<int64_t>(marginals));
    simt::launch("marginals", marginals_kernel, grid_for(num_cells), kThreads, 0, stream, keys, counts, num_cells,
                 static_cast<uint64_t>(cols), row_totals, row_totals + rows);
    check_launch();
  }
  Summary summary;
  summary.row_totals = torch::stable::narrow(marginals, 0, 0, rows);
  summary.col_totals = torch::stable::narrow(marginals, 0, rows, cols);
  const int64_t* row_totals = cdata_of<int64_t>(summary.row_totals);
  const int64_t* col_totals = cdata_of<int64_t>(summary.col_totals);

  const int64_t cell_blocks = blocks_for(num_cells), row_blocks = blocks_for(rows), col_blocks = blocks_for(cols);
  CM_CHECK(cell_blocks <= int64_t{0x7fffffff}, "contingency summary: ", num_cells,
              " cells are more than one launch covers.");
  const Tensor cell_sums = empty_on(
      cells.keys, static_cast<int64_t>(std::max<int64_t>(cell_blocks, 1) * sizeof(CellSums)), ScalarType::Byte);
  const Tensor total_sums = empty_on(
      cells.keys, static_cast<int64_t>(std::max<int64_t>(row_blocks + col_blocks, 1) * sizeof(TotalSums)),
      ScalarType::Byte);
  auto* cell_sums_ptr = data_of<CellSums>(cell_sums);
  auto* row_sums_ptr = data_of<TotalSums>(total_sums);
  auto* col_sums_ptr = row_sums_ptr + row_blocks;
  if (cell_blocks > 0) {
    simt::launch("cell_sums", cell_sums_kernel, static_cast<unsigned int>(cell_blocks), kTermThreads, 0, stream, keys,
                 counts, num_cells, static_cast<uint64_t>(cols), row_totals, col_totals, cells.total, cell_sums_ptr);
    check_launch();
  }
  if (row_blocks > 0) {
    simt::launch("total_sums", total_sums_kernel, static_cast<unsigned int>(row_blocks), kTermThreads, 0, stream,
                 row_totals, rows, cells.total, row_sums_ptr);
    check_launch();
  }
  if (col_blocks > 0) {
    simt::launch("total_sums", total_sums_kernel, static_cast<unsigned int>(col_blocks), kTermThreads, 0, stream,
                 col_totals, cols, cells.total, col_sums_ptr);
    check_launch();
  }
  summary.integers = empty_on(cells.keys, kNumSummaryIntegers, ScalarType::Long);
  summary.reals = empty_on(cells.keys, kNumSummaryReals, ScalarType::Double);
  simt::launch("finish_summary", finish_kernel, 1, kTermThreads, 0, stream, cell_sums_ptr, cell_blocks, row_sums_ptr,
               row_blocks, col_sums_ptr, col_blocks, cells.total, num_cells, data_of<int64_t>(summary.integers),
               data_of<double>(summary.reals));
  check_launch();
  return summary;
}

}  // namespace clustering_metrics::cuda
