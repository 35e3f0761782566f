// Stage 4: the contingency summary, in one blocked pass over the cells
// (listed, or summed on the fly from the dense tables): the cluster totals
// and the tally of cell counts; then the sums over the three tallies.
#include <algorithm>
#include <array>

#include "../common/information_terms.h"
#include "count_tally.h"
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

struct Marginals {
  std::vector<int64_t> rows;
  std::vector<int64_t> cols;
  CountTally cell_tally;
};

// Runs body(c, begin, end, row_sums, col_sums, tally) on each chunk with its
// private zeroed sums and tally, and adds them up.
template <typename Body>
Marginals sum_marginals(const Chunks& chunks, int64_t rows, int64_t cols, Body&& body) {
  const int64_t width = rows + cols;
  Array<int64_t> storage(chunks.count * width, /*zeroed=*/true);
  std::vector<CountTally> tallies(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* row_sums = storage.data() + c * width;
    body(c, begin, end, row_sums, row_sums + rows, tallies[c]);
  });
  Marginals result;
  result.rows.assign(storage.data(), storage.data() + rows);
  result.cols.assign(storage.data() + rows, storage.data() + width);
  for (int64_t c = 1; c < chunks.count; ++c) {
    const int64_t* chunk = storage.data() + c * width;
    for (int64_t r = 0; r < rows; ++r) result.rows[r] += chunk[r];
    for (int64_t k = 0; k < cols; ++k) result.cols[k] += chunk[rows + k];
    tallies[0].add(tallies[c]);
  }
  result.cell_tally = std::move(tallies[0]);
  return result;
}

Marginals summarize_listed(const CellList& cells, int64_t rows, int64_t cols) {
  const uint64_t* keys = cells.keys;
  const int64_t* counts = cells.counts;
  const Chunks chunks = marginal_chunks(cells.size, rows, cols);
  return sum_marginals(chunks, rows, cols, [&](int64_t, int64_t begin, int64_t end, int64_t* row_sums,
                                               int64_t* col_sums, CountTally& tally) {
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
                        row_sums[current_row] += row_sum;
                        row_sum = 0;
                        current_row = row;
                      }
                      row_sum += counts[i];
                      col_sums[col] += counts[i];
                    });
      tally.add(counts + block_begin, block_end - block_begin);
    }
    row_sums[current_row] += row_sum;
  });
}

// Counts are summed from the tables into a buffer that stays in L1.
Marginals summarize_dense(const DenseCounts& dense, int64_t rows, int64_t cols) {
  const Chunks chunks = marginal_chunks(dense.num_cells, rows, cols);
  return sum_marginals(chunks, rows, cols, [&](int64_t, int64_t begin, int64_t end, int64_t* row_sums,
                                               int64_t* col_sums, CountTally& tally) {
    std::array<int64_t, kSummaryBlock> block;
    int64_t row = begin / cols, col = begin % cols, row_sum = 0;
    for (int64_t block_begin = begin; block_begin < end; block_begin += kSummaryBlock) {
      const int64_t block_size = std::min(kSummaryBlock, end - block_begin);
      dense.sum_into(block_begin, block_begin + block_size, block.data());
      tally.add(block.data(), block_size);
      for (int64_t k = 0; k < block_size; ++k) {
        const int64_t count = block[k];
        row_sum += count;
        col_sums[col] += count;
        if (++col == cols) {
          row_sums[row++] += row_sum;
          row_sum = 0;
          col = 0;
        }
      }
    }
    if (col != 0) row_sums[row] += row_sum;
  });
}

CountTally tally_of(const std::vector<int64_t>& values) {
  CountTally tally;
  tally.add(values.data(), static_cast<int64_t>(values.size()));
  return tally;
}

// (1/N) sum of a log(N / a) over a tally of cluster totals: positive terms.
double entropy_of(CountTally& totals, int64_t total) {
  CompensatedSum<long double> sum;
  totals.for_each_value([&](int64_t v, int64_t multiplicity) {
    sum.add(static_cast<long double>(multiplicity) * entropy_term<long double>(v, total));
  });
  return static_cast<double>(sum.value() / static_cast<long double>(total));
}

}  // namespace

Summary summarize(const CountedCells& cells) {
  Summary summary;
  summary.total = cells.total;
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  if (cells.total == 0) return summary;
  Marginals marginals =
      cells.is_dense() ? summarize_dense(cells.dense, rows, cols) : summarize_listed(cells.listed, rows, cols);
  CountTally row_tally = tally_of(marginals.rows);
  CountTally col_tally = tally_of(marginals.cols);
  const TallySums cell_sums = marginals.cell_tally.sums();
  const TallySums row_sums = row_tally.sums();
  const TallySums col_sums = col_tally.sums();
  summary.num_cells = cell_sums.nonzero;
  summary.num_pred_clusters = row_sums.nonzero;
  summary.num_target_clusters = col_sums.nonzero;
  summary.pairs = {cell_sums.pairs, row_sums.pairs, col_sums.pairs};
  summary.cells_n_log_n = cell_sums.n_log_n;
  summary.pred_n_log_n = row_sums.n_log_n;
  summary.target_n_log_n = col_sums.n_log_n;
  summary.entropy_pred = entropy_of(row_tally, cells.total);
  summary.entropy_target = entropy_of(col_tally, cells.total);
  summary.row_totals = std::move(marginals.rows);
  summary.col_totals = std::move(marginals.cols);
  return summary;
}

}  // namespace clustering_metrics::cpu
