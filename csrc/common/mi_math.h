// Maths shared by the CPU and CUDA kernels: label keys, index-range choice and
// the exact per-cell mutual-information term. Everything here is usable from
// host and device code so both backends produce the same numbers.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__CUDACC__)
#define CM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define CM_HOST_DEVICE inline
#endif

#if !defined(__SIZEOF_INT128__)
#error "clustering_metrics needs a compiler with unsigned __int128 for exact products"
#endif

namespace clustering_metrics {

using u128 = unsigned __int128;

// Maps any integer label type onto uint64 so that label order equals key
// order. Signed values get their sign bit flipped, which turns two's
// complement order into unsigned order; this lets one code path handle
// int8 ... int64, bool and uint8 ... uint64 labels, including the extremes.
// The flip is an addition of 2^63 (mod 2^64) rather than an xor so that the
// compiler folds it into the subtraction of a range minimum that follows.
template <typename T>
CM_HOST_DEVICE uint64_t label_to_key(T value) {
  if constexpr (std::is_signed<T>::value) {
    return static_cast<uint64_t>(static_cast<int64_t>(value)) + (uint64_t{1} << 63);
  } else {
    return static_cast<uint64_t>(value);
  }
}

template <typename T>
CM_HOST_DEVICE T key_to_label(uint64_t key) {
  if constexpr (std::is_same<T, bool>::value) {
    return key != 0;
  } else if constexpr (std::is_signed<T>::value) {
    return static_cast<T>(static_cast<int64_t>(key ^ (uint64_t{1} << 63)));
  } else {
    return static_cast<T>(key);
  }
}

// A side whose labels span at most this many consecutive values is indexed
// directly by (key - min_key); wider sides are compacted to ranks first. The
// limit keeps the per-label marginal array within the input's size, or
// within 2 MiB, where hashing would cost more than the array.
CM_HOST_DEVICE uint64_t direct_index_limit(int64_t num_samples) {
  const uint64_t half = static_cast<uint64_t>(num_samples) / 2;
  const uint64_t floor_limit = uint64_t{1} << 18;
  const uint64_t cap = uint64_t{1} << 26;
  const uint64_t limit = half > floor_limit ? half : floor_limit;
  return limit < cap ? limit : cap;
}

// A pair space of at most this many cells is counted in a dense table;
// larger ones are counted by sorting pair keys. Scanning a cell costs far
// less than sorting a sample, hence up to 4 cells per sample.
CM_HOST_DEVICE uint64_t dense_table_limit(int64_t num_samples) {
  const uint64_t cells = 4 * static_cast<uint64_t>(num_samples);
  const uint64_t floor_limit = uint64_t{1} << 16;
  const uint64_t cap = uint64_t{1} << 22;
  const uint64_t limit = cells > floor_limit ? cells : floor_limit;
  return limit < cap ? limit : cap;
}

// Bits needed to write x: the key width a radix sort has to look at.
CM_HOST_DEVICE int bit_width(uint64_t x) {
  int bits = 0;
  while (bits < 64 && (x >> bits) != 0) ++bits;
  return bits;
}

CM_HOST_DEVICE double u128_to_double(u128 x) {
  // Split conversion: portable to device code, within one ulp.
  return static_cast<double>(static_cast<uint64_t>(x >> 64)) * 18446744073709551616.0 +
         static_cast<double>(static_cast<uint64_t>(x));
}

CM_HOST_DEVICE double to_double(uint64_t x) { return static_cast<double>(x); }
CM_HOST_DEVICE double to_double(u128 x) { return u128_to_double(x); }

// log1p via log: u - 1 is exact near 1 and log(u) / (u - 1) varies slowly,
// so the rounding of 1 + x cancels (Kahan); within 3 ulp for x >= -1/2,
// and log is much cheaper than log1p in most libms.
CM_HOST_DEVICE double log1p_via_log(double x) {
  const double u = 1.0 + x;
  if (u == 1.0) return x;
  return log(u) * (x / (u - 1.0));
}

// log(p / q) for exact integers p, q > 0. Near 1 the exact integer
// difference is formed first, so the logarithm sees a ratio with full
// relative precision instead of 1 + (rounding noise): log1p(r) with
// r = (p - q) / q is accurate whenever r is not close to -1, its error being
// (error of r) * r / (1 + r). Below p / q = 1/2 the ratio itself is accurate.
// The sign is applied without a branch: in a near-independent table it is a
// coin flip per cell.
template <typename Wide>
CM_HOST_DEVICE double log_exact_ratio(Wide p, Wide q) {
  if (p < q && q - p > p) return log(to_double(p) / to_double(q));
  const Wide magnitude = p >= q ? p - q : q - p;
  const double sign = p >= q ? 1.0 : -1.0;
  return log1p_via_log(sign * to_double(magnitude) / to_double(q));
}

// n_ij * log(N n_ij / (a_i b_j)): the MI term before the final division by
// N. Products are exact: 64-bit while N < 2^32 (every product is then below
// 2^64), 128-bit beyond.
CM_HOST_DEVICE double mi_cell_term(int64_t n_ij, int64_t a_i, int64_t b_j, int64_t total) {
  double log_ratio;
  if (static_cast<uint64_t>(total) <= 0xFFFFFFFFull) {
    log_ratio = log_exact_ratio<uint64_t>(static_cast<uint64_t>(total) * static_cast<uint64_t>(n_ij),
                                          static_cast<uint64_t>(a_i) * static_cast<uint64_t>(b_j));
  } else {
    log_ratio = log_exact_ratio<u128>(static_cast<u128>(total) * static_cast<u128>(n_ij),
                                      static_cast<u128>(a_i) * static_cast<u128>(b_j));
  }
  return static_cast<double>(n_ij) * log_ratio;
}

// Neumaier's compensated sum: the terms of a near-zero MI cancel heavily, so
// a plain float64 sum would lose the digits we promise.
struct CompensatedSum {
  double sum = 0.0;
  double compensation = 0.0;

  CM_HOST_DEVICE void add(double x) {
    const double t = sum + x;
    if (fabs(sum) >= fabs(x)) {
      compensation += (sum - t) + x;
    } else {
      compensation += (x - t) + sum;
    }
    sum = t;
  }
  CM_HOST_DEVICE void add(const CompensatedSum& other) {
    add(other.sum);
    add(other.compensation);
  }
  CM_HOST_DEVICE double value() const { return sum + compensation; }
};

// Cells are summed in fixed blocks of this many, and the block sums are
// combined in block order, so the result never depends on the thread count.
constexpr int64_t kTermBlock = 4096;

CM_HOST_DEVICE double finish_mutual_info(double term_sum, int64_t total) {
  const double mi = term_sum / static_cast<double>(total);
  return mi > 0.0 ? mi : 0.0;
}

}  // namespace clustering_metrics
