// The information-theoretic terms of every backend, written so that no term
// of a sum can cancel another:
//
//   N MI  = sum over non-empty cells of mu phi(x) + (N^2 - sum of a b) / N,
//   N H   = sum over clusters of a log(N / a),
//
// where a cell with count n, row total a and column total b has the expected
// count mu = a b / N and relative excess x = (n - mu) / mu = (N n - a b) / (a b),
// and phi(x) = (1 + x) log(1 + x) - x >= 0. (The identity follows from
// n log(n / mu) = mu phi(x) + (n - mu) and sum of (n - mu) = N - sum of mu.)
// Every term is non-negative and formed from exact integers, so the sums are
// accurate to a few ulps of F relative, however small the MI: there is no
// cancellation left to lose digits to. F is double on the GPU and long double
// on the CPU.
#pragma once

#include <cmath>

#include "exact_arithmetic.h"
#include "host_device.h"

namespace clustering_metrics {

CM_HOST_DEVICE double log_of(double x) { return log(x); }
#if !defined(__CUDA_ARCH__)
inline long double log_of(long double x) { return std::log(x); }
#endif

// log(1 + x) through log: u - 1 is exact near 1 and log(u) / (u - 1) varies
// slowly, so the rounding of 1 + x cancels (Kahan); within 3 ulp for
// x >= -1/2, and log is much cheaper than log1p in most libms.
template <typename F>
CM_HOST_DEVICE F log1p_via_log(F x) {
  const F u = 1 + x;
  if (u == 1) return x;
  return log_of(u) * (x / (u - 1));
}

// log(p / q) for exact integers p, q > 0. Near 1 the exact difference is
// formed first, so the logarithm sees a ratio with full relative precision
// instead of 1 + rounding noise. Below p / q = 1/2 the ratio itself is
// accurate enough.
template <typename F>
CM_HOST_DEVICE F log_ratio(u128 p, u128 q) {
  if (p < q && q - p > p) return log_of(to_float<F>(p) / to_float<F>(q));
  const F magnitude = to_float<F>(p >= q ? p - q : q - p) / to_float<F>(q);
  return log1p_via_log<F>(p >= q ? magnitude : -magnitude);
}

// phi(x) = (1 + x) log(1 + x) - x for |x| <= 1/2, from t = x / (2 + x) and
// log(1 + x) = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...):
//
//   phi(x) = 2 t^2 (1 + (1 + t) (t/3 + t^3/5 + t^5/7 + ...)) / (1 - t),
//
// summed until a term no longer changes the sum. |t| <= 1/3, so the terms
// shrink by t^2 <= 1/9 each (the Taylor series of phi in x shrinks by |x|,
// up to 1/2: some three times the terms, each with a division), and the
// bracket is at least 0.9, so nothing cancels: the result is within a few
// ulps (at most 3 ulps of double over 2e4 points against mpmath).
template <typename F>
CM_HOST_DEVICE F phi_series(F x) {
  const F t = x / (2 + x), t_squared = t * t;
  F power = t, sum = 0;
  for (int k = 1; k < 100; ++k) {
    const F next = sum + power / static_cast<F>(2 * k + 1);
    if (next == sum) break;
    sum = next;
    power *= t_squared;
  }
  return 2 * t_squared * (1 + (1 + t) * sum) / (1 - t);
}

// phi(x) for x = excess / expected, given as exact integers observed = N n
// and expected = a b (so x > -1 unless observed is 0, where phi is 1).
// Outside the series range the closed form cancels by less than a factor 6.
template <typename F>
CM_HOST_DEVICE F phi_of_ratio(u128 observed, u128 expected) {
  const F expected_f = to_float<F>(expected);
  const bool above = observed >= expected;
  const F x = (above ? 1 : -1) * to_float<F>(above ? observed - expected : expected - observed) / expected_f;
  if (x >= static_cast<F>(-0.5) && x <= static_cast<F>(0.5)) return phi_series(x);
  if (above) return (1 + x) * log1p_via_log(x) - x;
  // 1 + x would be rounding noise near x = -1: form the ratio directly.
  if (observed == 0) return 1;
  const F ratio = to_float<F>(observed) / expected_f;
  return ratio * log_of(ratio) - x;
}

// A non-empty cell's term mu phi(x) of N MI (see the top of this file).
template <typename F>
CM_HOST_DEVICE F mutual_info_cell_term(int64_t count, int64_t row_total, int64_t col_total, int64_t total) {
  const u128 expected = static_cast<u128>(row_total) * static_cast<u128>(col_total);
  const u128 observed = static_cast<u128>(total) * static_cast<u128>(count);
  return to_float<F>(expected) / static_cast<F>(total) * phi_of_ratio<F>(observed, expected);
}

// MI from the sum of the cells' terms and the exact sum of a b over the
// non-empty cells. Clipped at 0 only against a negative zero.
template <typename F>
CM_HOST_DEVICE F finish_mutual_info(F cell_term_sum, u128 sum_of_expected, int64_t total) {
  if (total <= 0) return 0;
  const u128 total_squared = static_cast<u128>(total) * static_cast<u128>(total);
  const F empty_mass = to_float<F>(total_squared - sum_of_expected) / static_cast<F>(total);
  const F mi = (cell_term_sum + empty_mass) / static_cast<F>(total);
  return mi > 0 ? mi : 0;
}

// A cluster's term a log(N / a) of N H.
template <typename F>
CM_HOST_DEVICE F entropy_term(int64_t size, int64_t total) {
  return static_cast<F>(size) * log_ratio<F>(static_cast<u128>(total), static_cast<u128>(size));
}

// Cells (and clusters) are summed in fixed blocks of this many, and the block
// sums are combined in block order, so the result never depends on the
// thread count or the GPU's launch shape.
constexpr int64_t kTermBlock = 4096;

}  // namespace clustering_metrics
