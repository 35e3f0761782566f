// The contingency summary: what every metric of the family needs from a
// contingency table, and the exact integer expressions of the pair-counting
// metrics. The layout of the summary op's two outputs is fixed here, once:
// the extension module exports the slot names (python_module.cpp), from
// which clustering_metrics/summary.py names the outputs.
#pragma once

#include "exact_arithmetic.h"
#include "host_device.h"

namespace clustering_metrics {

// Slots of the int64 output, as X(enumerator, Python name). A 128-bit pair
// count is two slots, the high word first.
#define CM_SUMMARY_INTEGER_SLOTS(X)                 \
  X(kNumSamples, "n_samples")                       \
  X(kNumCells, "num_cells")                         \
  X(kNumPredClusters, "num_pred_clusters")          \
  X(kNumTargetClusters, "num_target_clusters")      \
  X(kPairsInCellsHigh, "pairs_in_cells_high")       \
  X(kPairsInCellsLow, "pairs_in_cells_low")         \
  X(kPairsInPredHigh, "pairs_in_pred_high")         \
  X(kPairsInPredLow, "pairs_in_pred_low")           \
  X(kPairsInTargetHigh, "pairs_in_target_high")     \
  X(kPairsInTargetLow, "pairs_in_target_low")

// Slots of the float64 output. The pair-counting entries are exact integer
// expressions converted to float64 within about 1.5 ulp, so that the
// formulas over them only divide.
#define CM_SUMMARY_REAL_SLOTS(X)                                                      \
  X(kMutualInfo, "mutual_info")                          /* NaN when not asked for */ \
  X(kEntropyPred, "entropy_pred")                                                     \
  X(kEntropyTarget, "entropy_target")                                                 \
  X(kExpectedMutualInfo, "expected_mutual_info")         /* NaN unless asked for */   \
  X(kCellsNLogN, "cells_n_log_n")                        /* sum of n log n, cells */  \
  X(kPredNLogN, "pred_n_log_n")                          /* ... pred clusters */      \
  X(kTargetNLogN, "target_n_log_n")                      /* ... target clusters */    \
  X(kPairsTotal, "pairs_total")                          /* C(N, 2) */                \
  X(kPairsInCells, "pairs_in_cells")                     /* I = sum of C(n, 2) */     \
  X(kPairsInPred, "pairs_in_pred")                       /* A = sum of C(a, 2) */     \
  X(kPairsInTarget, "pairs_in_target")                   /* B = sum of C(b, 2) */     \
  X(kPairAgreements, "pair_agreements")                  /* C(N, 2) - A - B + 2 I */  \
  X(kAdjustedRandNumerator, "adjusted_rand_numerator")   /* I C(N, 2) - A B */        \
  X(kAdjustedRandDenominator, "adjusted_rand_denominator") /* (A+B) C(N,2)/2 - A B */ \
  X(kPairsProduct, "pairs_product")                      /* A B */

#define CM_SLOT_ENUMERATOR(enumerator, name) enumerator,
enum SummaryInteger : int { CM_SUMMARY_INTEGER_SLOTS(CM_SLOT_ENUMERATOR) kNumSummaryIntegers };
enum SummaryReal : int { CM_SUMMARY_REAL_SLOTS(CM_SLOT_ENUMERATOR) kNumSummaryReals };
#undef CM_SLOT_ENUMERATOR

struct PairCounts {
  u128 in_cells = 0;
  u128 in_pred = 0;
  u128 in_target = 0;
};

// Everything a summary holds, as each backend computes it.
struct SummaryValues {
  int64_t total = 0;
  int64_t num_cells = 0;
  int64_t num_pred_clusters = 0;
  int64_t num_target_clusters = 0;
  PairCounts pairs;
  double mutual_info = 0;
  double entropy_pred = 0;
  double entropy_target = 0;
  double expected_mutual_info = 0;  // NaN unless asked for
  double cells_n_log_n = 0;
  double pred_n_log_n = 0;
  double target_n_log_n = 0;
};

CM_HOST_DEVICE void write_high_low(u128 value, int64_t* integers, int high_slot, int low_slot) {
  integers[high_slot] = static_cast<int64_t>(static_cast<uint64_t>(value >> 64));
  integers[low_slot] = static_cast<int64_t>(static_cast<uint64_t>(value));
}

// Writes every slot of the summary's two outputs: the one place that does,
// for both backends. The adjusted Rand index is (I C - A B) / ((A + B) C / 2
// - A B) with C = C(N, 2); both sides are formed in 256-bit integers, because
// near independence I C and A B agree in all the digits a double has.
CM_HOST_DEVICE void write_summary_slots(const SummaryValues& v, int64_t* integers, double* reals) {
  integers[kNumSamples] = v.total;
  integers[kNumCells] = v.num_cells;
  integers[kNumPredClusters] = v.num_pred_clusters;
  integers[kNumTargetClusters] = v.num_target_clusters;
  write_high_low(v.pairs.in_cells, integers, kPairsInCellsHigh, kPairsInCellsLow);
  write_high_low(v.pairs.in_pred, integers, kPairsInPredHigh, kPairsInPredLow);
  write_high_low(v.pairs.in_target, integers, kPairsInTargetHigh, kPairsInTargetLow);

  reals[kMutualInfo] = v.mutual_info;
  reals[kEntropyPred] = v.entropy_pred;
  reals[kEntropyTarget] = v.entropy_target;
  reals[kExpectedMutualInfo] = v.expected_mutual_info;
  reals[kCellsNLogN] = v.cells_n_log_n;
  reals[kPredNLogN] = v.pred_n_log_n;
  reals[kTargetNLogN] = v.target_n_log_n;

  const PairCounts& pairs = v.pairs;
  const u128 all_pairs = pairs_of(v.total);
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
