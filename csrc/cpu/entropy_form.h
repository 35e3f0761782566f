// Sums of v log v over multisets of counts, in extended precision, for the
// entropy form of the MI:
//
//   N MI = N log N + sum_cells n log n - sum_rows a log a - sum_cols b log b.
//
// It needs a log per distinct count value instead of one per cell. In
// float64 the four sums would cancel away the digits of a small MI; carried
// in long double (64-bit significand or wider) each sum is within 2^-60 of
// itself, which bounds the error of the result (see mutual_info_from_cells).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace clustering_metrics::cpu {

// x87 extended precision on x86-64, binary128 on aarch64 Linux. Where
// long double is only a double the exact per-cell form is always used.
constexpr bool kHasExtendedPrecision = std::numeric_limits<long double>::digits >= 64;

// Whether long double arithmetic and logl really carry the precision the
// error bound assumes, checked where the sums are formed: x87 rounding
// precision is a per-thread control word that a library can lower to 53
// bits, and some C libraries (musl on aarch64) implement logl as a double
// log. log 3 rounded to a double is off by 8e-17 relative, far beyond 2^-61.
inline bool extended_precision_active() {
  if constexpr (!kHasExtendedPrecision) return false;
  volatile long double one = 1.0L;
  volatile long double last_bit = 0x1p-63L;  // 1 + 2^-63 needs a 64-bit significand
  volatile long double three = 3.0L;
  constexpr long double kLog3 = 1.09861228866810969139524523692252570464749L;
  return one + last_bit != one && std::fabs(std::log(three) - kLog3) <= 0x1p-61L * kLog3;
}

// Relative error of each sum, with margin: glibc documents logl within
// 1 ulp of a 64-bit significand on x86-64 (we allow 2, 2^-62), a product adds
// half an ulp, and the compensated sum about one ulp of its total. The bound
// rests on that libm accuracy, which extended_precision_active() spot-checks.
constexpr double kExtendedSumRelativeError = 0x1p-60;

// Neumaier's compensated sum, in long double.
struct ExtendedSum {
  long double sum = 0.0L;
  long double compensation = 0.0L;

  void add(long double x) {
    const long double t = sum + x;
    compensation += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  long double value() const { return sum + compensation; }
};

inline long double count_log_count(int64_t v) {
  const long double x = static_cast<long double>(v);  // exact: |v| < 2^63
  return x * std::log(x);
}

struct CountLogCountSum {
  long double sum = 0.0L;  // of v log v
  int64_t nonzero = 0;     // values counted
};

// A multiset of non-negative counts, kept so that the sum of v log v over it
// does not depend on the order the counts arrive in or on how they were
// split between threads. Values below kSmallValues are tallied exactly and
// their logs taken once per distinct value; larger ones (at most
// total / kSmallValues of them) are kept and sorted. Zeros are ignored.
class CountTally {
 public:
  static constexpr int64_t kSmallValues = 1 << 12;

  CountTally() : small_(kSmallValues, 0) {}

  // Adds values[0, size). Zeros and ones, the common counts of sparse
  // tables, are counted in a register: incrementing one memory slot for each
  // would make every add wait for the one before.
  void add(const int64_t* values, int64_t size) {
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

  // In increasing value order.
  CountLogCountSum sum() {
    CountLogCountSum result;
    ExtendedSum sum;
    for (int64_t v = 1; v < kSmallValues; ++v) {
      result.nonzero += small_[v];
      if (small_[v] != 0 && v > 1) sum.add(static_cast<long double>(small_[v]) * count_log_count(v));
    }
    std::sort(large_.begin(), large_.end());
    for (const int64_t v : large_) sum.add(count_log_count(v));
    result.nonzero += static_cast<int64_t>(large_.size());
    result.sum = sum.value();
    return result;
  }

 private:
  std::vector<int64_t> small_;
  std::vector<int64_t> large_;
};

}  // namespace clustering_metrics::cpu
