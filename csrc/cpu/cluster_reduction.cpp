// The per-cluster reductions of embedded data, for the intrinsic metrics:
// each cluster's weight, mean and centred second moment (cluster_moments),
// and the Euclidean and p-norm distances of its rows to a centroid
// (cluster_distances), each in one pass over the data in sample order.
//
// The rows are read in fixed blocks of samples (their size depends only on
// the problem's shape), each block summing into its own per-cluster partial
// sums, which are then folded in block order with compensated sums: the
// result is the same bits at any thread count. The moments are sums of the
// rows' differences from a reference row of their cluster (its first row),
// in float64: float32 data offset by 1e7 lose nothing to the offset, and
// m2 = sum of w |x - ref|^2 - |sum of w (x - ref)|^2 / W cancels only as
// far as the reference sits from the mean, a few times the spread.
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../common/compensated_sum.h"
#include "../common/distance_terms.h"
#include "../host/dispatch.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

// Samples of a block: at least 2^15, and more when a block's per-cluster
// partials (num_clusters x floats_per_cluster doubles) would otherwise take
// more than 256 MiB in all.
int64_t block_samples(int64_t n, int64_t num_clusters, int64_t floats_per_cluster) {
  const double partial_bytes = 8.0 * static_cast<double>(num_clusters) * static_cast<double>(floats_per_cluster);
  const double budget = static_cast<double>(int64_t{1} << 28);
  const double needed = static_cast<double>(n) * partial_bytes / budget;
  return std::max<int64_t>(int64_t{1} << 15, static_cast<int64_t>(std::ceil(needed)));
}

// Each cluster's first row (its reference for the moments); checks the ids.
std::vector<int64_t> first_rows(const int64_t* ids, int64_t n, int64_t num_clusters) {
  std::vector<int64_t> first(num_clusters, -1);
  for (int64_t i = n - 1; i >= 0; --i) {
    CM_CHECK(static_cast<uint64_t>(ids[i]) < static_cast<uint64_t>(num_clusters), "Expected cluster ids in [0, ",
             num_clusters, ") but found ", ids[i], ".");
    first[ids[i]] = i;
  }
  return first;
}

// Sums of squares keep kLanes partial sums, added in a fixed order at the
// end: the compiler can then vectorise them (a single running sum would be a
// chain it may not reorder), and the result does not depend on the CPU.
constexpr int64_t kLanes = 8;

inline double lanes_total(const double* lanes) {
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// One row's contribution to its cluster's partial sums: sums[c] += w (x[c] -
// ref[c]), and the return value w |x - ref|^2. Compiled for AVX2 and FMA too.
template <typename T>
__attribute__((target_clones("arch=x86-64-v3", "default"))) double add_deviations(
    const T* __restrict__ x, const double* __restrict__ ref, int64_t dim, double w, double* __restrict__ sums) {
  double lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= dim; c += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const double deviation = static_cast<double>(x[c + l]) - ref[c + l];
      sums[c + l] += w * deviation;
      lanes[l] += deviation * deviation;
    }
  }
  for (int64_t l = 0; c < dim; ++c, ++l) {
    const double deviation = static_cast<double>(x[c]) - ref[c];
    sums[c] += w * deviation;
    lanes[l] += deviation * deviation;
  }
  return w * lanes_total(lanes);
}

// |x - centre|^2.
template <typename T>
__attribute__((target_clones("arch=x86-64-v3", "default"))) double squared_distance(
    const T* __restrict__ x, const double* __restrict__ centre, int64_t dim) {
  double lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= dim; c += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const double difference = static_cast<double>(x[c + l]) - centre[c + l];
      lanes[l] += difference * difference;
    }
  }
  for (int64_t l = 0; c < dim; ++c, ++l) {
    const double difference = static_cast<double>(x[c]) - centre[c];
    lanes[l] += difference * difference;
  }
  return lanes_total(lanes);
}

template <typename T>
double norm_distance(const T* x, const double* centre, int64_t dim, PNorm norm) {
  PNorm::Sum accumulated;
  for (int64_t c = 0; c < dim; ++c) norm.add(accumulated, static_cast<double>(x[c]) - centre[c]);
  return norm.finish(accumulated);
}

double* float64_data(Tensor& t) { return static_cast<double*>(t.mutable_data_ptr()); }

template <typename T>
void moments_kernel_impl(const T* data, const int64_t* ids, int64_t n, int64_t dim, int64_t num_clusters,
                         const int64_t* weights, const double* row_m2, int64_t* counts, double* means, double* m2) {
  const std::vector<int64_t> first = first_rows(ids, n, num_clusters);
  // Each cluster's reference row, as doubles.
  std::vector<double> refs(num_clusters * dim, 0.0);
  for (int64_t k = 0; k < num_clusters; ++k) {
    if (first[k] < 0) continue;
    for (int64_t c = 0; c < dim; ++c) refs[k * dim + c] = static_cast<double>(data[first[k] * dim + c]);
  }
  // Per block and cluster: dim deviation sums, then the squares' sum, the m2 sum and the weight.
  const int64_t width = dim + 3;
  const int64_t block = block_samples(n, num_clusters, width);
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partials(blocks * num_clusters * width, 0.0);
  std::vector<int64_t> block_weights(blocks * num_clusters, 0);
  std::atomic<int64_t> negative_weight{0};
  parallel_for(0, blocks, grain_for(blocks, n * (dim + 1)), [&](int64_t first_block, int64_t last_block) {
    for (int64_t b = first_block; b < last_block; ++b) {
      double* block_sums = partials.data() + b * num_clusters * width;
      int64_t* weight_sums = block_weights.data() + b * num_clusters;
      for (int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
        const int64_t k = ids[i];
        const int64_t w = weights == nullptr ? 1 : weights[i];
        if (w < 0) negative_weight = w;
        double* sums = block_sums + k * width;
        sums[dim] += add_deviations(data + i * dim, refs.data() + k * dim, dim, static_cast<double>(w), sums);
        if (row_m2 != nullptr) sums[dim + 1] += row_m2[i];
        weight_sums[k] += w;
      }
    }
  });
  CM_CHECK(negative_weight == 0, "Expected weights to be non-negative but found ", negative_weight.load(), ".");
  for (int64_t k = 0; k < num_clusters; ++k) {
    int64_t weight = 0;
    std::vector<CompensatedSum<double>> deviation(dim);
    CompensatedSum<double> squares, own_m2;
    for (int64_t b = 0; b < blocks; ++b) {
      const double* sums = partials.data() + (b * num_clusters + k) * width;
      CM_CHECK(!__builtin_add_overflow(weight, block_weights[b * num_clusters + k], &weight),
               "cluster_moments: a cluster's weights sum past 2^63 - 1.");
      for (int64_t c = 0; c < dim; ++c) deviation[c].add(sums[c]);
      squares.add(sums[dim]);
      own_m2.add(sums[dim + 1]);
    }
    counts[k] = weight;
    const double w = static_cast<double>(weight);
    CompensatedSum<double> shift;  // |sum of w (x - ref)|^2 / W, the part of the squares the mean takes
    for (int64_t c = 0; c < dim; ++c) {
      const double total = deviation[c].value();
      means[k * dim + c] = weight > 0 ? refs[k * dim + c] + total / w : 0.0;
      if (weight > 0) shift.add(total * (total / w));
    }
    const double spread = squares.value() - shift.value() + own_m2.value();
    // Clipped at 0 against rounding below it; a NaN (from non-finite data) stays.
    m2[k] = weight > 0 && !(spread < 0) ? spread : 0.0;
  }
}

template <typename T>
void distances_kernel_impl(const T* data, const int64_t* ids, int64_t n, int64_t dim, int64_t num_clusters,
                           const double* centroids, PNorm norm, double* sum_euclidean, double* max_norm) {
  first_rows(ids, n, num_clusters);  // the ids' check
  const int64_t block = block_samples(n, num_clusters, 2);
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> sums(blocks * num_clusters, 0.0), maxima(blocks * num_clusters, 0.0);
  const bool euclidean = norm.kind == PNorm::kEuclidean;
  parallel_for(0, blocks, grain_for(blocks, n * (dim + 1)), [&](int64_t first_block, int64_t last_block) {
    for (int64_t b = first_block; b < last_block; ++b) {
      double* block_sums = sums.data() + b * num_clusters;
      double* block_maxima = maxima.data() + b * num_clusters;
      for (int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
        const int64_t k = ids[i];
        const T* x = data + i * dim;
        const double distance = std::sqrt(squared_distance(x, centroids + k * dim, dim));
        block_sums[k] += distance;
        const double norm_distance_k = euclidean ? distance : norm_distance(x, centroids + k * dim, dim, norm);
        block_maxima[k] = larger_distance(block_maxima[k], norm_distance_k);
      }
    }
  });
  for (int64_t k = 0; k < num_clusters; ++k) {
    CompensatedSum<double> total;
    double largest = 0;
    for (int64_t b = 0; b < blocks; ++b) {
      total.add(sums[b * num_clusters + k]);
      largest = larger_distance(largest, maxima[b * num_clusters + k]);
    }
    sum_euclidean[k] = total.value();
    max_norm[k] = largest;
  }
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> cluster_moments(const Tensor& data_in, const Tensor& ids_in, int64_t num_clusters,
                                                   const std::optional<Tensor>& weights_in,
                                                   const std::optional<Tensor>& m2_in) {
  const Tensor data = torch::stable::contiguous(data_in);
  const ContiguousElements ids(ids_in);
  const int64_t n = data.size(0), dim = data.size(1);
  Tensor counts = torch::stable::empty({num_clusters}, ScalarType::Long);
  Tensor means = torch::stable::empty({num_clusters, dim}, ScalarType::Double);
  Tensor m2 = torch::stable::empty({num_clusters}, ScalarType::Double);
  std::optional<ContiguousElements> weights, row_m2;
  if (weights_in.has_value()) weights.emplace(*weights_in);
  if (m2_in.has_value()) row_m2.emplace(*m2_in);
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    moments_kernel_impl(static_cast<const T*>(data.const_data_ptr()), ids.as<int64_t>(), n, dim, num_clusters,
                        weights.has_value() ? weights->as<int64_t>() : nullptr,
                        row_m2.has_value() ? row_m2->as<double>() : nullptr,
                        static_cast<int64_t*>(counts.mutable_data_ptr()), float64_data(means), float64_data(m2));
  });
  return {counts, means, m2};
}

std::tuple<Tensor, Tensor> cluster_distances(const Tensor& data_in, const Tensor& ids_in, const Tensor& centroids_in,
                                             double p) {
  const Tensor data = torch::stable::contiguous(data_in);
  const Tensor centroids = torch::stable::contiguous(centroids_in);
  const ContiguousElements ids(ids_in);
  const int64_t n = data.size(0), dim = data.size(1), num_clusters = centroids.size(0);
  Tensor sum_euclidean = torch::stable::empty({num_clusters}, ScalarType::Double);
  Tensor max_norm = torch::stable::empty({num_clusters}, ScalarType::Double);
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    distances_kernel_impl(static_cast<const T*>(data.const_data_ptr()), ids.as<int64_t>(), n, dim, num_clusters,
                          static_cast<const double*>(centroids.const_data_ptr()), PNorm::of(p),
                          float64_data(sum_euclidean), float64_data(max_norm));
  });
  return {sum_euclidean, max_norm};
}

}  // namespace clustering_metrics::cpu
