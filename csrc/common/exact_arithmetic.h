// Exact integer arithmetic for the contingency summary: 128-bit pair counts
// and their 256-bit products, rounded to floating point only once a whole
// integer expression has been formed, so that nothing cancels in floats.
#pragma once

#include "host_device.h"

namespace clustering_metrics {

// x rounded to F within one ulp: the split conversion is portable to
// device code, where there is no native 128-bit conversion.
template <typename F>
CM_HOST_DEVICE F to_float(u128 x) {
  return static_cast<F>(static_cast<uint64_t>(x >> 64)) * static_cast<F>(18446744073709551616.0) +
         static_cast<F>(static_cast<uint64_t>(x));
}

// C(v, 2) = v (v - 1) / 2 for 0 <= v < 2^63: at most 2^125.
CM_HOST_DEVICE u128 pairs_of(int64_t v) {
  const u128 x = static_cast<u128>(v);
  return v < 2 ? 0 : x * (x - 1) / 2;
}

// An unsigned 256-bit integer, enough for a product of two pair counts.
struct U256 {
  u128 high = 0;
  u128 low = 0;
};

CM_HOST_DEVICE U256 multiply_wide(u128 a, u128 b) {
  const u128 a0 = static_cast<uint64_t>(a), a1 = a >> 64;
  const u128 b0 = static_cast<uint64_t>(b), b1 = b >> 64;
  const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  // Below 3 * 2^64: the three 64-bit pieces that land in bits 64..127.
  const u128 middle = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  U256 product;
  product.low = (middle << 64) | static_cast<uint64_t>(p00);
  product.high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
  return product;
}

CM_HOST_DEVICE U256 add(U256 a, U256 b) {
  U256 sum;
  sum.low = a.low + b.low;
  sum.high = a.high + b.high + (sum.low < a.low ? 1 : 0);
  return sum;
}

CM_HOST_DEVICE U256 subtract(U256 a, U256 b) {  // a >= b
  U256 difference;
  difference.low = a.low - b.low;
  difference.high = a.high - b.high - (a.low < b.low ? 1 : 0);
  return difference;
}

CM_HOST_DEVICE bool less_than(U256 a, U256 b) { return a.high < b.high || (a.high == b.high && a.low < b.low); }

template <typename F>
CM_HOST_DEVICE F to_float(U256 x) {
  const F two_to_128 = static_cast<F>(18446744073709551616.0) * static_cast<F>(18446744073709551616.0);
  return to_float<F>(x.high) * two_to_128 + to_float<F>(x.low);
}

// a - b, which may be negative, rounded to F.
template <typename F>
CM_HOST_DEVICE F signed_difference(U256 a, U256 b) {
  return less_than(a, b) ? -to_float<F>(subtract(b, a)) : to_float<F>(subtract(a, b));
}

}  // namespace clustering_metrics
