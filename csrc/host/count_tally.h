// Multisets of counts (cell counts, cluster totals) and the sums the summary
// takes over them: sum of v log v in extended precision, sum of C(v, 2)
// exactly, and the distinct values with their multiplicities.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common/compensated_sum.h"
#include "../common/exact_arithmetic.h"

namespace clustering_metrics {

// x87 extended precision on x86-64, binary128 on aarch64 Linux. Where
// long double is only a double the entropy form of the MI is never used.
constexpr bool kHasExtendedPrecision = std::numeric_limits<long double>::digits >= 64;

// Whether long double arithmetic and logl really carry the precision the
// entropy form's error bound assumes, checked where the sums are used: x87
// rounding precision is a per-thread control word that a library can lower
// to 53 bits, and some C libraries (musl on aarch64) implement logl as a
// double log. log 3 rounded to a double is off by 8e-17 relative, far beyond
// 2^-61.
inline bool extended_precision_active() {
  if constexpr (!kHasExtendedPrecision) return false;
  volatile long double one = 1.0L;
  volatile long double last_bit = 0x1p-63L;  // 1 + 2^-63 needs a 64-bit significand
  volatile long double three = 3.0L;
  constexpr long double kLog3 = 1.09861228866810969139524523692252570464749L;
  return one + last_bit != one && std::fabs(std::log(three) - kLog3) <= 0x1p-61L * kLog3;
}

// Relative error of each sum of v log v, with margin: glibc documents logl
// within 1 ulp of a 64-bit significand on x86-64 (we allow 2, 2^-62), a
// product adds half an ulp, and the compensated sum about one ulp of its
// total. The bound rests on that libm accuracy, which
// extended_precision_active() spot-checks.
constexpr double kExtendedSumRelativeError = 0x1p-60;

struct TallySums {
  long double n_log_n = 0;  // sum of v log v
  int64_t nonzero = 0;      // values counted
  u128 pairs = 0;           // sum of C(v, 2), exact
};

// A multiset of non-negative counts, kept so that every sum over it is
// taken in increasing value order and does not depend on the order the
// counts arrive in or on how they were split between threads. Values below
// kSmallValues are tallied exactly (a log per distinct value); larger ones
// (at most total / kSmallValues of them) are kept and sorted. Zeros are
// ignored.
class CountTally {
 public:
  static constexpr int64_t kSmallValues = 1 << 12;

  CountTally() : small_(kSmallValues, 0) {}

  // Adds values[0, size). Zeros and ones, the common counts of sparse
  // tables, are counted in a register: incrementing one memory slot for each
  // would make every add wait for the one before.
  template <typename T>
  void add(const T* values, int64_t size) {
    int64_t* small = small_.data();
    int64_t ones = 0;
    for (int64_t i = 0; i < size; ++i) {
      const int64_t v = values[i];
      if (v <= 1) {
        ones += v;
      } else if (v < kSmallValues) {
        ++small[v];
      } else {
        large_.push_back(v);
      }
    }
    small[1] += ones;
  }
  void add(const CountTally& other) {
    for (int64_t v = 0; v < kSmallValues; ++v) small_[v] += other.small_[v];
    large_.insert(large_.end(), other.large_.begin(), other.large_.end());
  }

  // Calls fn(value, multiplicity) for each distinct nonzero value, in
  // increasing order.
  template <typename F>
  void for_each_value(F&& fn) const {
    for (int64_t v = 1; v < kSmallValues; ++v) {
      if (small_[v] != 0) fn(v, small_[v]);
    }
    std::sort(large_.begin(), large_.end());
    for (size_t i = 0; i < large_.size();) {
      size_t j = i;
      while (j < large_.size() && large_[j] == large_[i]) ++j;
      fn(large_[i], static_cast<int64_t>(j - i));
      i = j;
    }
  }

  TallySums sums() const {
    TallySums result;
    CompensatedSum<long double> n_log_n;
    for_each_value([&](int64_t v, int64_t multiplicity) {
      result.nonzero += multiplicity;
      result.pairs += static_cast<u128>(multiplicity) * pairs_of(v);
      if (v > 1) {
        const long double x = static_cast<long double>(v);  // exact: v < 2^63
        n_log_n.add(static_cast<long double>(multiplicity) * (x * std::log(x)));
      }
    });
    result.n_log_n = n_log_n.value();
    return result;
  }

 private:
  std::vector<int64_t> small_;
  mutable std::vector<int64_t> large_;  // sorted when read: the order values arrived in does not matter
};

}  // namespace clustering_metrics
