// The contingency summary: what every metric of the family needs from a
// contingency table, and the exact integer expressions of the pair-counting
// metrics. The layout of the summary op's two outputs is fixed here and
// mirrored in clustering_metrics/summary.py.
#pragma once

#include "exact_arithmetic.h"
#include "host_device.h"

namespace clustering_metrics {

// Slots of the int64 output. A 128-bit pair count is two slots, the high
// word first.
enum SummaryInteger : int {
  kNumSamples,
  kNumCells,
  kNumPredClusters,
  kNumTargetClusters,
  kPairsInCellsHigh,
  kPairsInCellsLow,
  kPairsInPredHigh,
  kPairsInPredLow,
  kPairsInTargetHigh,
  kPairsInTargetLow,
  kNumSummaryIntegers,
};

// Slots of the float64 output. The pair-counting entries are exact integer
// expressions converted to float64 within about 1.5 ulp, so that the
// formulas over them only divide.
enum SummaryReal : int {
  kMutualInfo,
  kEntropyPred,
  kEntropyTarget,
  kExpectedMutualInfo,  // NaN unless asked for
  kCellsNLogN,          // sum of n log n over cells
  kPredNLogN,           // ... over pred clusters
  kTargetNLogN,         // ... over target clusters
  kPairsTotal,          // C(N, 2)
  kPairsInCells,        // I = sum of C(n, 2) over cells
  kPairsInPred,         // A = sum of C(a, 2) over pred clusters
  kPairsInTarget,       // B = sum of C(b, 2) over target clusters
  kPairAgreements,      // C(N, 2) - A - B + 2 I: pairs on which the clusterings agree
  kAdjustedRandNumerator,    // I C(N, 2) - A B
  kAdjustedRandDenominator,  // (A + B) C(N, 2) / 2 - A B
  kPairsProduct,             // A B
  kNumSummaryReals,
};

struct PairCounts {
  u128 in_cells = 0;
  u128 in_pred = 0;
  u128 in_target = 0;
};

// Writes the pair-counting slots of `reals` and `integers`. The adjusted Rand
// index is (I C - A B) / ((A + B) C / 2 - A B) with C = C(N, 2); both sides
// are formed in 256-bit integers, because near independence I C and A B agree
// in all the digits a double has.
CM_HOST_DEVICE void write_pair_counts(int64_t total, const PairCounts& pairs, int64_t* integers, double* reals) {
  integers[kPairsInCellsHigh] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_cells >> 64));
  integers[kPairsInCellsLow] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_cells));
  integers[kPairsInPredHigh] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_pred >> 64));
  integers[kPairsInPredLow] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_pred));
  integers[kPairsInTargetHigh] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_target >> 64));
  integers[kPairsInTargetLow] = static_cast<int64_t>(static_cast<uint64_t>(pairs.in_target));

  const u128 all_pairs = pairs_of(total);
  reals[kPairsTotal] = to_float<double>(all_pairs);
  reals[kPairsInCells] = to_float<double>(pairs.in_cells);
  reals[kPairsInPred] = to_float<double>(pairs.in_pred);
  reals[kPairsInTarget] = to_float<double>(pairs.in_target);
  // I <= min(A, B), so this never goes below zero.
  reals[kPairAgreements] = to_float<double>(all_pairs - pairs.in_pred - pairs.in_target + 2 * pairs.in_cells);
  const U256 product = multiply_wide(pairs.in_pred, pairs.in_target);
  reals[kPairsProduct] = to_float<double>(product);
  reals[kAdjustedRandNumerator] = signed_difference<double>(multiply_wide(pairs.in_cells, all_pairs), product);
  // Twice the denominator, an integer: (A + B) C - 2 A B >= 0.
  const U256 twice_denominator =
      subtract(multiply_wide(pairs.in_pred + pairs.in_target, all_pairs), add(product, product));
  reals[kAdjustedRandDenominator] = to_float<double>(twice_denominator) / 2;
}

}  // namespace clustering_metrics
