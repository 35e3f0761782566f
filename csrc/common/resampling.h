// The bootstrap of a label-pair histogram, as both backends draw it.
//
// Drawing N samples with replacement from N labelled samples and counting
// their label pairs gives the cells a multinomial(N; n_1/N, ..., n_C/N)
// draw. It is drawn cell by cell as a chain of binomials: cell c gets
// Binomial(left, n_c / mass) of the samples still to place, where mass is
// the count of cells c, c+1, ... in the original table. A resample then
// costs O(cells), not O(N), and its draws come from its own Philox stream
// (philox.h), so resample b is the same whatever thread or device draws it.
#pragma once

#include <math.h>
#include <stdint.h>

#include "host_device.h"
#include "philox.h"

namespace clustering_metrics {

// log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2], the remainder
// of Stirling's formula for log(k!): tabulated (evaluated with mpmath) below
// 16, and from four terms of its series above, within 1e-14.
CM_HOST_DEVICE double stirling_remainder(double k) {
  constexpr double kTable[16] = {
      0.081061466795327258, 0.041340695955409294, 0.027677925684998339, 0.020790672103765093,
      0.016644691189821192, 0.013876128823070748, 0.01189670994589177,  0.010411265261972096,
      0.0092554621827127329, 0.0083305634333628713, 0.0075736754879518408, 0.0069428401072095299,
      0.0064089941880042071, 0.0059513701127588477, 0.0055547335519628014, 0.0052076559196096404};
  if (k < 16) return kTable[static_cast<int>(k)];
  const double n = k + 1, inverse_square = 1 / (n * n);
  return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - inverse_square / 1680) * inverse_square) * inverse_square) / n;
}

// Binomial(n, p) with p <= 1/2 and n p < 10, by inversion: a sequential
// search of the cumulative probabilities from 0, about n p + 1 steps.
CM_HOST_DEVICE int64_t binomial_by_inversion(int64_t n, double p, PhiloxStream& rng) {
  const double ratio = p / (1 - p), step = static_cast<double>(n + 1) * ratio;
  const double first = exp(static_cast<double>(n) * log1p(-p));  // P(0) = (1 - p)^n >= e^-20
  for (;;) {
    double u = rng.uniform(), probability = first;
    int64_t k = 0;
    // The probabilities, rounded, may sum to a hair under 1; a u beyond them
    // (probability ~1e-15) is redrawn rather than read as the tail's last value.
    while (u > probability && k < n && probability > 0) {
      u -= probability;
      ++k;
      probability *= step / static_cast<double>(k) - ratio;
    }
    if (u <= probability) return k;
  }
}

// Binomial(n, p) with p <= 1/2 and n p >= 10, by Hormann's transformed
// rejection with squeeze (BTRS; W. Hormann, "The generation of binomial
// random variates", J. Statist. Comput. Simul. 46, 1993): a proposal from a
// transformed uniform, accepted at once inside the squeeze (most draws), or
// else by comparing with log(f(k) / f(m)), m = floor((n + 1) p), from
// Stirling remainders. About 1.15 proposals a draw.
//
// Both are formed from the offset d = k - m, so that they keep their digits
// for any n up to kMaxResampleTotal: the proposal as m plus a small offset
// (the fraction (n + 1) p - m from one fused multiply-add), and
//
//   log(f(k) / f(m)) = -(m + 1/2) log1p(d / (m + 1)) + (n - m + 1/2) log1p(d / (n - k + 1))
//                      + d log1p(((n + 1) p - k - q) / ((k + 1) q))
//                      + r(m) + r(n - m) - r(k) - r(n - k),
//
// r the Stirling remainder: each logarithm of a ratio near 1 is a log1p of
// its offset, where the textbook form (n + 1) log((n - m + 1) / (n - k + 1))
// loses n 2^-53 to rounding, tens at n = 10^17.
CM_HOST_DEVICE int64_t binomial_by_rejection(int64_t n, double p, PhiloxStream& rng) {
  const double q = 1 - p, nd = static_cast<double>(n);
  const double spq = sqrt(nd * p * q);
  const double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double alpha = (2.83 + 5.1 / b) * spq, v_r = 0.92 - 4.2 / b;
  const int64_t mode = static_cast<int64_t>(floor((nd + 1) * p));
  const double fraction = fma(nd + 1, p, -static_cast<double>(mode));  // (n + 1) p - m, nearly exact
  const double md = static_cast<double>(mode);
  const double mode_remainders = stirling_remainder(md) + stirling_remainder(static_cast<double>(n - mode));
  for (;;) {
    const double u = rng.uniform() - 0.5, v = rng.uniform();
    const double us = 0.5 - fabs(u);
    // k = floor((2 a / us + b) u + n p + 1/2), with n p + 1/2 = m + fraction - p + 1/2.
    const double offset = floor((2 * a / us + b) * u + (fraction - p + 0.5));
    if (offset < -md || offset > static_cast<double>(n - mode)) continue;
    const int64_t k = mode + static_cast<int64_t>(offset);
    if (us >= 0.07 && v <= v_r) return k;
    const double log_v = log(v * alpha / (a / (us * us) + b));
    const double d = offset, k1 = static_cast<double>(k + 1), nk1 = static_cast<double>(n - k + 1);
    const double bound = -(md + 0.5) * log1p(d / (md + 1)) +
                         (static_cast<double>(n - mode) + 0.5) * log1p(d / nk1) +
                         d * log1p((fraction - q - d) / (k1 * q)) + mode_remainders -
                         stirling_remainder(static_cast<double>(k)) - stirling_remainder(static_cast<double>(n - k));
    if (log_v <= bound) return k;
  }
}

// Binomial(n, part / whole), 0 <= part <= whole, whole > 0: the sampler for
// the smaller of p and 1 - p (each formed from the integers, so neither
// loses digits to the other's rounding).
CM_HOST_DEVICE int64_t binomial(int64_t n, int64_t part, int64_t whole, PhiloxStream& rng) {
  if (n == 0 || part == 0) return 0;
  if (part == whole) return n;
  const bool complement = part > whole - part;
  const double p = static_cast<double>(complement ? whole - part : part) / static_cast<double>(whole);
  const int64_t k = static_cast<double>(n) * p < 10 ? binomial_by_inversion(n, p, rng) : binomial_by_rejection(n, p, rng);
  return complement ? n - k : k;
}

// The largest total a resample draws exactly: the samplers form counts as
// doubles, which hold every integer up to 2^53.
constexpr int64_t kMaxResampleTotal = int64_t{1} << 53;

// The counts' total, and what their check needs (host/checks.h's
// check_weight_summary): the lowest count and whether the sum overflowed.
struct CountsTotal {
  int64_t total = 0;
  int64_t lowest = 0;
  bool overflowed = false;
};

CM_HOST_DEVICE CountsTotal total_of_counts(const int64_t* counts, int64_t num_cells) {
  CountsTotal result;
  for (int64_t c = 0; c < num_cells; ++c) {
    const int64_t count = counts[c];
    result.lowest = count < result.lowest ? count : result.lowest;
    if (count > 0 && result.total > INT64_MAX - count) result.overflowed = true;
    if (!result.overflowed) result.total += count;
  }
  return result;
}

// Resample `resample` of the histogram under `seed`: out[c] for every cell,
// summing to total (the counts' sum, checked non-negative and in range).
CM_HOST_DEVICE void resample_cells(const int64_t* counts, int64_t num_cells, int64_t total, uint64_t seed,
                                   uint64_t resample, int64_t* out) {
  PhiloxStream rng(seed, resample);
  int64_t left = total, mass = total;
  for (int64_t c = 0; c < num_cells; ++c) {
    const int64_t drawn = left == 0 ? 0 : binomial(left, counts[c], mass, rng);
    out[c] = drawn;
    left -= drawn;
    mass -= counts[c];
  }
}

}  // namespace clustering_metrics
