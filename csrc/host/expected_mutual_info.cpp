// Stage 5b: the expected mutual information (EMI) of two random labelings
// with the summary's cluster totals, for the adjusted MI.
//
// For a row of total a and a column of total b, the cell count n is
// hypergeometric: N samples, a marked, b drawn. By the identity of
// common/information_terms.h, with mu = a b / N and x = (N n - a b) / (a b),
//
//   E[n log(N n / (a b))] = mu E[phi(x)]   (the (n - mu) part has mean 0),
//
// a mean of non-negative terms, and EMI = (1/N) sum over rows i and columns
// j of mu_ij E_ij[phi]. It depends only on the two sets of totals, and rows
// (or columns) with equal totals give equal terms: it is summed over the
// distinct totals of each side, weighted by their multiplicities, of which
// there are at most about sqrt(2N) a side.
//
// Each E[phi] is a sum over the support of n, weighted by unnormalised
// probabilities w(n) from the term-ratio recurrence
//
//   w(n + 1) / w(n) = (a - n)(b - n) / ((n + 1)(N - a - b + n + 1)),
//
// started at the mode (w = 1) and run outwards both ways; dividing by the sum
// of the w makes the starting value irrelevant, so no lgamma is needed. The
// distribution is log-concave, so past the mode each ratio bounds all later
// ones, and a tail beyond n weighs at most w(n) r / (1 - r) with r the ratio
// at n; phi being convex, it is at most its largest value on the support,
// at an end of the support. A walk stops when both bounds are below 2^-66 of
// the sums so far, so the truncation leaves out at most 2^-65 relative.
//
// Errors: each step rounds three times in long double, so a weight k steps
// from the mode is within 3k * 2^-64 relative, and E[phi] within twice the
// largest such error plus the error of phi (2^-53, see expected_cell_term);
// for the tens to thousands of steps of ordinary tables that is below 1e-16
// relative. The sums over pairs of totals are of non-negative terms.
#include <algorithm>
#include <cmath>

#include "checks.h"
#include "../common/compensated_sum.h"
#include "../common/information_terms.h"
#include "count_tally.h"
#include "expected_mutual_info.h"
#include "parallel.h"

namespace clustering_metrics {
namespace {

using Real = long double;

constexpr Real kTailTolerance = 0x1p-66L;

// Refused above this many recurrence steps (about a minute of work): the
// walk of a pair of totals takes some 40 standard deviations of n, so only
// histograms whose totals run into the 10^13s come near it.
constexpr double kMaxSteps = 2e9;

struct DistinctValue {
  int64_t value;
  int64_t multiplicity;
};

std::vector<DistinctValue> distinct_totals(const CountTally& totals) {
  std::vector<DistinctValue> distinct;
  totals.for_each_value([&](int64_t v, int64_t m) { distinct.push_back({v, m}); });
  return distinct;
}

int64_t cluster_count(const std::vector<DistinctValue>& totals) {
  int64_t count = 0;
  for (const DistinctValue& v : totals) count += v.multiplicity;
  return count;
}

// log n for the small n that most walks visit, computed once per call.
class LogTable {
 public:
  static constexpr int64_t kMaxSize = int64_t{1} << 20;

  explicit LogTable(int64_t largest) : logs_(static_cast<size_t>(std::min(largest, kMaxSize - 1) + 1)) {
    const int64_t size = static_cast<int64_t>(logs_.size());
    parallel_for(1, size, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) logs_[n] = std::log(static_cast<Real>(n));
    });
  }
  Real operator()(int64_t n) const {
    return n < static_cast<int64_t>(logs_.size()) ? logs_[n] : std::log(static_cast<Real>(n));
  }

 private:
  std::vector<Real> logs_;
};

// mu E[phi(x)] for one row total a and column total b. Outside the series
// range, phi = r log r - x with r = n / mu and log r = log n - log mu from
// the table: log r is then within a few ulps of max(log n, |log mu|), at
// most 44 (2^-58 absolute), |log r| >= 0.4 there, and the closed form
// cancels by less than a factor 6, so each term stays within about 2^-53
// relative of itself.
Real expected_cell_term(int64_t a, int64_t b, int64_t total, const LogTable& log_of_count) {
  const int64_t lo = std::max<int64_t>(0, a - (total - b));  // a + b may exceed int64
  const int64_t hi = std::min(a, b);
  const u128 expected = static_cast<u128>(a) * static_cast<u128>(b);
  const Real expected_f = to_float<Real>(expected);
  const Real mu = expected_f / static_cast<Real>(total);
  const Real log_mu = std::log(mu);
  const auto phi_at = [&](int64_t n) -> Real {
    if (n == 0) return 1;
    const u128 observed = static_cast<u128>(total) * static_cast<u128>(n);
    const bool above = observed >= expected;
    const Real x = (above ? 1 : -1) * to_float<Real>(above ? observed - expected : expected - observed) / expected_f;
    if (x >= static_cast<Real>(-0.5) && x <= static_cast<Real>(0.5)) return phi_series(x);
    const Real r = above ? 1 + x : to_float<Real>(observed) / expected_f;
    return r * (log_of_count(n) - log_mu) - x;
  };
  if (lo == hi) return mu * phi_at(lo);
  // The mode of the hypergeometric distribution.
  const u128 mode_numerator = (static_cast<u128>(a) + 1) * (static_cast<u128>(b) + 1);
  const int64_t mode = std::clamp<int64_t>(static_cast<int64_t>(mode_numerator / (static_cast<u128>(total) + 2)), lo, hi);
  const int64_t rest = (total - a) - b;  // rest + n + 1 >= 1 on the support
  const Real phi_bound = std::max(phi_at(lo), phi_at(hi));

  CompensatedSum<Real> weights, weighted;
  weights.add(1);
  weighted.add(phi_at(mode));
  // Stops when what is left beyond a weight w with ratio r is negligible.
  const auto tail_is_negligible = [&](Real w, Real ratio) {
    if (ratio >= 1) return false;
    const Real tail = w * ratio / (1 - ratio);
    return tail <= kTailTolerance * weights.value() && tail * phi_bound <= kTailTolerance * weighted.value();
  };
  Real w = 1;
  for (int64_t n = mode; n < hi; ++n) {
    const Real ratio = (static_cast<Real>(a - n) * static_cast<Real>(b - n)) /
                       (static_cast<Real>(n + 1) * static_cast<Real>(rest + n + 1));
    if (tail_is_negligible(w, ratio)) break;
    w *= ratio;
    weights.add(w);
    weighted.add(w * phi_at(n + 1));
  }
  w = 1;
  for (int64_t n = mode; n > lo; --n) {
    const Real ratio = (static_cast<Real>(n) * static_cast<Real>(rest + n)) /
                       (static_cast<Real>(a - n + 1) * static_cast<Real>(b - n + 1));
    if (tail_is_negligible(w, ratio)) break;
    w *= ratio;
    weights.add(w);
    weighted.add(w * phi_at(n - 1));
  }
  return mu * (weighted.value() / weights.value());
}

// About how far the walks go: 40 standard deviations of n (plus a few) per
// pair of distinct totals, in all and at the furthest.
struct WalkEstimate {
  double steps = 0;
  int64_t largest_count = 0;
};

WalkEstimate estimate_walks(const std::vector<DistinctValue>& rows, const std::vector<DistinctValue>& cols,
                            int64_t total) {
  WalkEstimate estimate;
  const double n = static_cast<double>(total);
  for (const DistinctValue& row : rows) {
    for (const DistinctValue& col : cols) {
      const double a = static_cast<double>(row.value), b = static_cast<double>(col.value);
      const double spread = 40 * std::sqrt(a * b / n * (1 - a / n) * (1 - b / n)) + 8;
      estimate.steps += spread;
      const double furthest = std::min(std::min(a, b), a * b / n + spread);
      estimate.largest_count = std::max(estimate.largest_count, static_cast<int64_t>(furthest) + 1);
    }
  }
  return estimate;
}

}  // namespace

double expected_mutual_info(const CountTally& pred_totals, const CountTally& target_totals, int64_t total) {
  const std::vector<DistinctValue> rows = distinct_totals(pred_totals);
  const std::vector<DistinctValue> cols = distinct_totals(target_totals);
  // One cluster on either side: every random table is the same table, whose
  // MI is 0.
  if (cluster_count(rows) <= 1 || cluster_count(cols) <= 1) return 0.0;
  const WalkEstimate walks = estimate_walks(rows, cols, total);
  CM_CHECK(walks.steps <= kMaxSteps, "expected_mutual_info: the cluster totals (N = ", total,
              ") would take about ", walks.steps, " hypergeometric terms, more than the ", kMaxSteps,
              " this implementation allows.");
  const LogTable log_of_count(walks.largest_count);
  // Larger totals have wider walks: tasks alternate between the two ends of
  // the (sorted) rows, so that each thread's contiguous range of tasks gets
  // a fair share of both. Each row's sum has its own slot, summed in row
  // order, so the result does not depend on the thread count.
  const int64_t num_rows = static_cast<int64_t>(rows.size());
  std::vector<Real> row_sums(num_rows);
  // Each row's walks cost about steps / rows: small tables stay on this thread.
  parallel_for(0, num_rows, grain_for(num_rows, static_cast<int64_t>(walks.steps)), [&](int64_t first, int64_t last) {
    for (int64_t task = first; task < last; ++task) {
      const int64_t r = task % 2 == 0 ? task / 2 : num_rows - 1 - task / 2;
      CompensatedSum<Real> sum;
      for (const DistinctValue& col : cols) {
        sum.add(static_cast<Real>(col.multiplicity) * expected_cell_term(rows[r].value, col.value, total, log_of_count));
      }
      row_sums[r] = static_cast<Real>(rows[r].multiplicity) * sum.value();
    }
  });
  CompensatedSum<Real> emi;
  for (const Real s : row_sums) emi.add(s);
  return static_cast<double>(emi.value() / static_cast<Real>(total));
}

}  // namespace clustering_metrics
