// Distances between embedded points, computed the same way by both
// backends: each distance from the differences of the coordinates, in
// double, never through the expansion |x|^2 + |y|^2 - 2 x.y, which loses
// the digits of near points to cancellation.
#pragma once

#include <cmath>

#include "host_device.h"

namespace clustering_metrics {

// The larger of two distances, NaN if either is: a comparison with a NaN is
// false, so a plain max would keep the other value and hide the NaN of a
// non-finite point. NaN absorbs, so the order of the folds does not matter.
CM_HOST_DEVICE double larger_distance(double a, double b) {
  if (a != a || b != b) return a != a ? a : b;
  return b > a ? b : a;
}

// A p-norm of coordinate differences, accumulated a term at a time:
// p = 2 (Euclidean), p = 1, p = infinity (the largest difference), or any
// other p > 0, (sum of |d|^p)^(1/p) as torch.linalg.norm defines it. For
// that general p, |d|^p itself leaves double's range (3.3^600 > 1e308, and
// 0.3^600 < 1e-308), so the sum is kept as scale^p * sum of (|d| / scale)^p
// with scale the largest |d| so far, as LAPACK's dnrm2 scales its squares:
// the scaled sum lies in [1, terms], and the norm leaves the range only
// where its value does.
struct PNorm {
  enum Kind : int { kEuclidean, kManhattan, kChebyshev, kGeneral };
  Kind kind;
  double p;

  struct Sum {
    double value = 0;  // the sum (or the largest |d|); for the general p, the sum of (|d| / scale)^p
    double scale = 0;  // for the general p: the largest |d| so far
  };

  static CM_HOST_DEVICE PNorm of(double p) {
    if (p == 2) return {kEuclidean, p};
    if (p == 1) return {kManhattan, p};
    if (p == INFINITY) return {kChebyshev, p};
    return {kGeneral, p};
  }
  CM_HOST_DEVICE void add(Sum& sum, double difference) const {
    const double magnitude = difference < 0 ? -difference : difference;
    switch (kind) {
      case kEuclidean: sum.value += difference * difference; return;
      case kManhattan: sum.value += magnitude; return;
      case kChebyshev: sum.value = larger_distance(sum.value, magnitude); return;
      default:
        if (magnitude > sum.scale) {
          sum.value = 1 + sum.value * pow(sum.scale / magnitude, p);
          sum.scale = magnitude;
        } else if (magnitude != 0) {  // a NaN lands here and makes the sum NaN
          // inf / inf would be NaN: a second infinite term adds 1 like any term equal to the scale.
          sum.value += magnitude == sum.scale ? 1.0 : pow(magnitude / sum.scale, p);
        }
    }
  }
  CM_HOST_DEVICE double finish(const Sum& sum) const {
    switch (kind) {
      case kEuclidean: return sqrt(sum.value);
      case kManhattan:
      case kChebyshev: return sum.value;
      default:
        if (sum.scale == 0) return sum.value;  // 0, or a NaN's NaN
        // Below p = 1, sum^(1/p) alone can overflow (64^1000) where the norm does not; scale^p cannot.
        return p < 1 ? pow(pow(sum.scale, p) * sum.value, 1.0 / p) : sum.scale * pow(sum.value, 1.0 / p);
    }
  }
};

}  // namespace clustering_metrics
