// Stage 4: the contingency summary, in one blocked pass over the cells
// (listed, or summed on the fly from the dense tables): the cluster totals
// and the tally of cell counts; then the sums over the three tallies.
#include <algorithm>
#include <array>

#include "../common/information_terms.h"
#include "../host/count_tally.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

// Cells are summarized a block at a time, so that each block's counts are
// tallied while they are still in L1.
constexpr int64_t kSummaryBlock = 1 << 10;

// Chunks of n items that may each keep private row and column sums: each
// covers at least rows + cols items, so the sums never cost more than the
// items.
Chunks marginal_chunks(int64_t n, int64_t rows, int64_t cols) {
  return Chunks(n, std::max<int64_t>(kMinChunk, rows + cols));
}

template <typename T>
struct Marginals {
  std::vector<T> rows;
  std::vector<T> cols;
  CountTally cell_tally;
};

// Runs body(begin, end, row_sums, col_sums, tally) on each chunk with its
// private zeroed sums and tally, and adds them up; the first chunk sums into
// the result itself, so that one chunk needs no more memory than the result.
template <typename T, typename Body>
Marginals<T> sum_marginals(const Chunks& chunks, int64_t rows, int64_t cols, Body&& body) {
  Marginals<T> result;
  result.rows.assign(rows, 0);
  result.cols.assign(cols, 0);
  const int64_t width = rows + cols;
  Array<T> others((chunks.count - 1) * width, /*zeroed=*/true);
  std::vector<CountTally> tallies(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    T* row_sums = c == 0 ? result.rows.data() : others.data() + (c - 1) * width;
    T* col_sums = c == 0 ? result.cols.data() : row_sums + rows;
    body(begin, end, row_sums, col_sums, tallies[c]);
  });
  for (int64_t c = 1; c < chunks.count; ++c) {
    const T* chunk = others.data() + (c - 1) * width;
    for (int64_t r = 0; r < rows; ++r) result.rows[r] += chunk[r];
    for (int64_t k = 0; k < cols; ++k) result.cols[k] += chunk[rows + k];
    tallies[0].add(tallies[c]);
  }
  result.cell_tally = std::move(tallies[0]);
  return result;
}

template <typename T>
Marginals<T> summarize_listed(const CellList& cells, int64_t rows, int64_t cols) {
  const uint64_t* keys = cells.keys;
  const int64_t* counts = cells.counts;
  const Chunks chunks = marginal_chunks(cells.size, rows, cols);
  return sum_marginals<T>(chunks, rows, cols, [&](int64_t begin, int64_t end, T* row_sums, T* col_sums,
                                                  CountTally& tally) {
    if (begin == end) return;
    // A row's sum builds in a register: adding each cell to its memory slot
    // would make every add wait for the one before.
    uint64_t current_row = keys[begin] / static_cast<uint64_t>(cols);
    int64_t row_sum = 0;
    for (int64_t block_begin = begin; block_begin < end; block_begin += kSummaryBlock) {
      const int64_t block_end = std::min(end, block_begin + kSummaryBlock);
      for_each_cell(keys, static_cast<uint64_t>(cols), block_begin, block_end,
                    [&](int64_t i, uint64_t row, uint64_t col) {
                      if (row != current_row) {
                        row_sums[current_row] += static_cast<T>(row_sum);
                        row_sum = 0;
                        current_row = row;
                      }
                      row_sum += counts[i];
                      col_sums[col] += static_cast<T>(counts[i]);
                    });
      tally.add(counts + block_begin, block_end - block_begin);
    }
    row_sums[current_row] += static_cast<T>(row_sum);
  });
}

// Counts are summed from the tables into a buffer that stays in L1.
template <typename T>
Marginals<T> summarize_dense(const DenseCounts& dense, int64_t rows, int64_t cols) {
  const Chunks chunks = marginal_chunks(dense.num_cells, rows, cols);
  return sum_marginals<T>(chunks, rows, cols, [&](int64_t begin, int64_t end, T* row_sums, T* col_sums,
                                                  CountTally& tally) {
    std::array<int64_t, kSummaryBlock> block;
    int64_t row = begin / cols, col = begin % cols, row_sum = 0;
    for (int64_t block_begin = begin; block_begin < end; block_begin += kSummaryBlock) {
      const int64_t block_size = std::min(kSummaryBlock, end - block_begin);
      dense.sum_into(block_begin, block_begin + block_size, block.data());
      tally.add(block.data(), block_size);
      // A stretch of one row at a time: both sums then vectorise.
      for (int64_t k = 0; k < block_size;) {
        const int64_t stretch = std::min(block_size - k, cols - col);
        const int64_t* counts = block.data() + k;
        T* col_out = col_sums + col;
        int64_t stretch_sum = 0;
        for (int64_t j = 0; j < stretch; ++j) {
          col_out[j] += static_cast<T>(counts[j]);
          stretch_sum += counts[j];
        }
        row_sum += stretch_sum;
        k += stretch;
        col += stretch;
        if (col == cols) {
          row_sums[row++] += static_cast<T>(row_sum);
          row_sum = 0;
          col = 0;
        }
      }
    }
    if (col != 0) row_sums[row] += static_cast<T>(row_sum);
  });
}

template <typename T>
CountTally tally_of(const std::vector<T>& values) {
  CountTally tally;
  tally.add(values.data(), static_cast<int64_t>(values.size()));
  return tally;
}

// (1/N) sum of a log(N / a) over a tally of cluster totals: positive terms.
double entropy_of(const CountTally& totals, int64_t total) {
  CompensatedSum<long double> sum;
  totals.for_each_value([&](int64_t v, int64_t multiplicity) {
    sum.add(static_cast<long double>(multiplicity) * entropy_term<long double>(v, total));
  });
  return static_cast<double>(sum.value() / static_cast<long double>(total));
}

// The marginals and the tallies, with totals stored as T.
template <typename T>
void summarize_as(const CountedCells& cells, std::vector<T>& rows_out, std::vector<T>& cols_out, Summary& summary) {
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  Marginals<T> marginals = cells.is_dense() ? summarize_dense<T>(cells.dense, rows, cols)
                                            : summarize_listed<T>(cells.listed, rows, cols);
  summary.row_tally = tally_of(marginals.rows);
  summary.col_tally = tally_of(marginals.cols);
  const TallySums cell_sums = marginals.cell_tally.sums();
  summary.num_cells = cell_sums.nonzero;
  summary.pairs.in_cells = cell_sums.pairs;
  summary.cells_n_log_n = cell_sums.n_log_n;
  rows_out = std::move(marginals.rows);
  cols_out = std::move(marginals.cols);
}

}  // namespace

Summary summarize(const CountedCells& cells) {
  Summary summary;
  summary.total = cells.total;
  if (cells.total == 0) return summary;
  if (Totals::fits_narrow(cells.total)) {
    summarize_as(cells, summary.row_totals.narrow, summary.col_totals.narrow, summary);
  } else {
    summarize_as(cells, summary.row_totals.wide, summary.col_totals.wide, summary);
  }
  const TallySums row_sums = summary.row_tally.sums();
  const TallySums col_sums = summary.col_tally.sums();
  summary.num_pred_clusters = row_sums.nonzero;
  summary.num_target_clusters = col_sums.nonzero;
  summary.pairs.in_pred = row_sums.pairs;
  summary.pairs.in_target = col_sums.pairs;
  summary.pred_n_log_n = row_sums.n_log_n;
  summary.target_n_log_n = col_sums.n_log_n;
  summary.entropy_pred = entropy_of(summary.row_tally, cells.total);
  summary.entropy_target = entropy_of(summary.col_tally, cells.total);
  return summary;
}

}  // namespace clustering_metrics::cpu
