// Stage 5a: the MI reduction.
//
// Tables of kTermBlock cells or more first try the entropy form,
//
//   N MI = N log N + sum_cells n log n - sum_rows a log a - sum_cols b log b,
//
// from the summary's extended-precision sums: a log per distinct count
// instead of one per cell. Each of the four sums is within
// kExtendedSumRelativeError of itself, so their combination is within that
// much of the four added (doubled to cover the long double roundings of
// combining them), plus the final rounding to double, 2^-53 relative, outside
// the bound. The form is kept when that bound is within 1e-13 of the MI and
// of |MI - baseline|; the choice depends only on the histogram (and the
// baseline), not on how it was counted.
//
// Otherwise, the exact form: one non-negative term per cell
// (common/information_terms.h), each within a few ulps of long double, in
// fixed blocks summed in block order. Its result is within about 2^-58
// relative of the MI however small the MI is.
#include <algorithm>
#include <cmath>

#include "../common/compensated_sum.h"
#include "../common/information_terms.h"
#include "../host/count_tally.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

constexpr double kEntropyFormTolerance = 1e-13;

struct BlockSum {
  CompensatedSum<long double> terms;
  u128 sum_of_expected = 0;
};

double exact_mutual_info(const CellList& cells, const Summary& summary, int64_t cols) {
  const int64_t nnz = cells.size;
  const int64_t num_blocks = (nnz + kTermBlock - 1) / kTermBlock;
  const Totals& row_totals = summary.row_totals;
  const Totals& col_totals = summary.col_totals;
  const int64_t total = summary.total;
  std::vector<BlockSum> block_sums(num_blocks);
  parallel_for(0, num_blocks, grain_for(num_blocks, nnz), [&](int64_t first, int64_t last) {
    for (int64_t block = first; block < last; ++block) {
      BlockSum sum;
      for_each_cell(cells.keys, static_cast<uint64_t>(cols), block * kTermBlock,
                    std::min(nnz, (block + 1) * kTermBlock), [&](int64_t i, uint64_t row, uint64_t col) {
                      const int64_t a = row_totals[row], b = col_totals[col];
                      sum.terms.add(mutual_info_cell_term<long double>(cells.counts[i], a, b, total));
                      sum.sum_of_expected += static_cast<u128>(a) * static_cast<u128>(b);
                    });
      block_sums[block] = sum;
    }
  });
  BlockSum all;
  for (const BlockSum& block : block_sums) {
    all.terms.add(block.terms);
    all.sum_of_expected += block.sum_of_expected;
  }
  return static_cast<double>(finish_mutual_info<long double>(all.terms.value(), all.sum_of_expected, total));
}

}  // namespace

double mutual_info(CountedCells& cells, const Summary& summary, double baseline) {
  const int64_t total = summary.total;
  if (total == 0) return 0.0;
  if (summary.num_cells >= kTermBlock && extended_precision_active()) {
    const long double total_log_total = static_cast<long double>(total) * std::log(static_cast<long double>(total));
    const long double marginal_sum = summary.pred_n_log_n + summary.target_n_log_n;
    const long double cell_sum = summary.cells_n_log_n;
    const double mi = static_cast<double>(((total_log_total + cell_sum) - marginal_sum) / total);
    const double clipped = mi > 0.0 ? mi : 0.0;
    const double error_bound = 2 * kExtendedSumRelativeError *
                               static_cast<double>(total_log_total + cell_sum + marginal_sum) /
                               static_cast<double>(total);
    if (error_bound <= kEntropyFormTolerance * std::min(clipped, std::fabs(clipped - baseline))) return clipped;
  }
  return exact_mutual_info(listed_cells(cells), summary, cells.target_index.size);
}

}  // namespace clustering_metrics::cpu
