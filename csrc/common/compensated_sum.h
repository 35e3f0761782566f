// Neumaier's compensated sum, the one summation used for every floating-point
// total (float64 on the GPU, long double on the CPU): the terms of a small
// mutual information or entropy difference cancel, and a plain sum would lose
// the digits we promise. An infinite term makes the sum NaN (its correction is
// inf - inf), which the embedding metrics document for infinite data.
#pragma once

#include "host_device.h"

namespace clustering_metrics {

template <typename F>
struct CompensatedSum {
  F sum = 0;
  F compensation = 0;

  CM_HOST_DEVICE void add(F x) {
    const F t = sum + x;
    // Branch-free magnitudes: fabs of long double is not a device function.
    const F abs_sum = sum < 0 ? -sum : sum;
    const F abs_x = x < 0 ? -x : x;
    compensation += abs_sum >= abs_x ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  CM_HOST_DEVICE void add(const CompensatedSum& other) {
    add(other.sum);
    add(other.compensation);
  }
  CM_HOST_DEVICE F value() const { return sum + compensation; }
};

}  // namespace clustering_metrics
