#include "linear_assignment.h"

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "parallel.h"

namespace clustering_metrics {
namespace {

constexpr int64_t kUnreachable = std::numeric_limits<int64_t>::max();

// The dual variables and the assignment built so far.
struct Duals {
  std::vector<int64_t> u;         // by row
  std::vector<int64_t> v;         // by column
  std::vector<int64_t> col4row;   // -1 when unassigned
  std::vector<int64_t> row4col;
};

// Dijkstra's search from free row `start` over reduced costs (all >= 0),
// until it reaches an unassigned column (the sink). Ties prefer an
// unassigned column, which ends the search sooner.
int64_t shortest_augmenting_path(int64_t cols, const int64_t* cost, const Duals& d, int64_t start,
                                 std::vector<int64_t>& path, std::vector<int64_t>& distance,
                                 std::vector<char>& scanned_rows, std::vector<char>& scanned_cols,
                                 std::vector<int64_t>& remaining, int64_t& min_value) {
  int64_t num_remaining = cols;
  // Reversed, as scipy does, so that ties resolve as its solver resolves them.
  for (int64_t it = 0; it < cols; ++it) remaining[it] = cols - it - 1;
  std::fill(scanned_rows.begin(), scanned_rows.end(), 0);
  std::fill(scanned_cols.begin(), scanned_cols.end(), 0);
  std::fill(distance.begin(), distance.end(), kUnreachable);
  min_value = 0;
  int64_t row = start, sink = -1;
  while (sink == -1) {
    scanned_rows[row] = 1;
    int64_t best = -1, lowest = kUnreachable;
    const int64_t* row_cost = cost + row * cols;
    const int64_t base = min_value - d.u[row];
    for (int64_t it = 0; it < num_remaining; ++it) {
      const int64_t j = remaining[it];
      const int64_t reduced = base + row_cost[j] - d.v[j];
      if (reduced < distance[j]) {
        path[j] = row;
        distance[j] = reduced;
      }
      if (distance[j] < lowest || (distance[j] == lowest && d.row4col[j] == -1)) {
        lowest = distance[j];
        best = it;
      }
    }
    CM_CHECK(best >= 0 && lowest != kUnreachable, "linear_sum_assignment: no augmenting path (a bug; please report it).");
    min_value = lowest;
    const int64_t j = remaining[best];
    scanned_cols[j] = 1;
    remaining[best] = remaining[--num_remaining];
    if (d.row4col[j] == -1) {
      sink = j;
    } else {
      row = d.row4col[j];
    }
  }
  return sink;
}

}  // namespace

std::vector<int64_t> assign_rows(int64_t rows, int64_t cols, const int64_t* cost) {
  Duals d{std::vector<int64_t>(rows, 0), std::vector<int64_t>(cols, 0), std::vector<int64_t>(rows, -1),
          std::vector<int64_t>(cols, -1)};
  std::vector<int64_t> path(cols, -1), distance(cols), remaining(cols);
  std::vector<char> scanned_rows(rows), scanned_cols(cols);
  for (int64_t current = 0; current < rows; ++current) {
    int64_t min_value = 0;
    const int64_t sink = shortest_augmenting_path(cols, cost, d, current, path, distance, scanned_rows, scanned_cols,
                                                  remaining, min_value);
    // Keep the reduced costs non-negative along the tree just searched.
    d.u[current] += min_value;
    for (int64_t i = 0; i < rows; ++i) {
      if (scanned_rows[i] && i != current) d.u[i] += min_value - distance[d.col4row[i]];
    }
    for (int64_t j = 0; j < cols; ++j) {
      if (scanned_cols[j]) d.v[j] -= min_value - distance[j];
    }
    // Flip the path: each of its columns goes to the row before it.
    for (int64_t j = sink;;) {
      const int64_t i = path[j];
      d.row4col[j] = i;
      std::swap(d.col4row[i], j);
      if (i == current) break;
    }
  }
  return d.col4row;
}

std::tuple<Tensor, Tensor> linear_sum_assignment(const Tensor& cost_in, bool maximize) {
  CM_CHECK(cost_in.scalar_type() == ScalarType::Long && cost_in.dim() == 2,
           "Expected cost to be a 2-d int64 tensor (integer costs keep the optimum exact) but got ",
           cost_in.scalar_type(), " of shape ", shape_of(cost_in), ".");
  const Tensor cost = torch::stable::contiguous(cost_in);
  const int64_t rows = cost.size(0), cols = cost.size(1);
  const int64_t short_side = std::min(rows, cols), long_side = std::max(rows, cols);
  Tensor row_ind = torch::stable::empty({short_side}, ScalarType::Long);
  Tensor col_ind = torch::stable::empty({short_side}, ScalarType::Long);
  if (short_side == 0) return {row_ind, col_ind};
  const int64_t* entries = static_cast<const int64_t*>(cost.const_data_ptr());
  const int64_t cells = rows * cols;
  const auto [lowest, highest] = std::minmax_element(entries, entries + cells);
  // Shifted to start at 0 (each assignment has short_side entries, so a
  // shift changes every total alike), negated to maximise, and transposed so
  // that rows <= cols.
  // highest >= lowest, so the difference fits uint64 whatever their signs.
  const uint64_t spread = static_cast<uint64_t>(*highest) - static_cast<uint64_t>(*lowest);
  CM_CHECK(spread <= (uint64_t{1} << 60) / static_cast<uint64_t>(short_side),
           "linear_sum_assignment: the costs span ", spread, ", more than 2^60 / ", short_side,
           " (the shortest paths, exact in int64, could overflow).");
  const int64_t base = maximize ? *highest : *lowest;
  Array<int64_t> shifted(cells);
  const bool transpose = rows > cols;
  parallel_for(0, rows, grain_for(rows, cells), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const int64_t c = entries[i * cols + j];
        const int64_t value = maximize ? base - c : c - base;
        shifted[transpose ? j * rows + i : i * cols + j] = value;
      }
    }
  });
  const std::vector<int64_t> assigned = assign_rows(short_side, long_side, shifted.data());
  int64_t* out_rows = static_cast<int64_t*>(row_ind.mutable_data_ptr());
  int64_t* out_cols = static_cast<int64_t*>(col_ind.mutable_data_ptr());
  if (!transpose) {
    for (int64_t i = 0; i < short_side; ++i) {
      out_rows[i] = i;
      out_cols[i] = assigned[i];
    }
  } else {
    // Rows of the transposed problem are the columns: order them by their row.
    std::vector<std::pair<int64_t, int64_t>> pairs(short_side);
    for (int64_t j = 0; j < short_side; ++j) pairs[j] = {assigned[j], j};
    std::sort(pairs.begin(), pairs.end());
    for (int64_t i = 0; i < short_side; ++i) {
      out_rows[i] = pairs[i].first;
      out_cols[i] = pairs[i].second;
    }
  }
  return {row_ind, col_ind};
}

}  // namespace clustering_metrics
