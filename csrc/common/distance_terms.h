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
// other p > 0 ((sum of |d|^p)^(1/p), as torch.linalg.norm computes it).
struct PNorm {
  enum Kind : int { kEuclidean, kManhattan, kChebyshev, kGeneral };
  Kind kind;
  double p;

  static CM_HOST_DEVICE PNorm of(double p) {
    if (p == 2) return {kEuclidean, p};
    if (p == 1) return {kManhattan, p};
    if (p == INFINITY) return {kChebyshev, p};
    return {kGeneral, p};
  }
  CM_HOST_DEVICE double add(double accumulated, double difference) const {
    const double magnitude = difference < 0 ? -difference : difference;
    switch (kind) {
      case kEuclidean: return accumulated + difference * difference;
      case kManhattan: return accumulated + magnitude;
      case kChebyshev: return larger_distance(accumulated, magnitude);
      default: return accumulated + pow(magnitude, p);
    }
  }
  CM_HOST_DEVICE double finish(double accumulated) const {
    switch (kind) {
      case kEuclidean: return sqrt(accumulated);
      case kManhattan:
      case kChebyshev: return accumulated;
      default: return pow(accumulated, 1.0 / p);
    }
  }
};

}  // namespace clustering_metrics
