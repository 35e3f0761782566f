// The per-cluster reductions of embedded data, for the intrinsic metrics:
// each cluster's weight, mean and centred second moment (cluster_moments),
// and the Euclidean and p-norm distances of its points to a centroid
// (cluster_distances). Samples are grouped by cluster (a stable counting
// sort of the ids), and each cluster is summed in fixed blocks of its
// samples, in sample order, with compensated float64 sums: the result is
// the same bits at any thread count, and accurate however far the data sit
// from the origin.
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../common/compensated_sum.h"
#include "../common/distance_terms.h"
#include "../host/dispatch.h"
#include "pipeline.h"
#include "radix_sort.h"

namespace clustering_metrics::cpu {
namespace {

constexpr int64_t kBlock = 4096;  // samples of one cluster summed by one task

// Sample indices grouped by cluster id, in sample order within each
// cluster, and the blocks of kBlock of them that tasks sum.
struct ClusterBlocks {
  std::vector<int64_t> begin;  // of cluster k's samples in `samples`; num_clusters + 1 entries
  Array<int64_t> samples;
  std::vector<int64_t> block_cluster;  // per block: its cluster
  std::vector<int64_t> block_begin;    // per block: its first position in `samples`
  std::vector<int64_t> first_block;    // per cluster: its first block; num_clusters + 1 entries

  int64_t block_end(int64_t b) const { return std::min(block_begin[b] + kBlock, begin[block_cluster[b] + 1]); }
};

ClusterBlocks group_by_cluster(const int64_t* ids, int64_t n, int64_t num_clusters) {
  ClusterBlocks groups;
  groups.samples = Array<int64_t>(n);
  std::atomic<int64_t> bad_id{0};
  groups.begin = scatter_into_buckets(
      n, num_clusters,
      [&](int64_t begin, int64_t end, int64_t* counts) {
        for (int64_t i = begin; i < end; ++i) {
          if (__builtin_expect(static_cast<uint64_t>(ids[i]) >= static_cast<uint64_t>(num_clusters), 0)) {
            bad_id = ids[i];
            return false;
          }
          ++counts[ids[i]];
        }
        return true;
      },
      [&](int64_t begin, int64_t end, int64_t* next) {
        for (int64_t i = begin; i < end; ++i) groups.samples[next[ids[i]]++] = i;
      }).value_or(std::vector<int64_t>{});
  CM_CHECK(!groups.begin.empty() || n == 0, "Expected cluster ids in [0, ", num_clusters, ") but found ",
           bad_id.load(), ".");
  if (groups.begin.empty()) groups.begin.assign(num_clusters + 1, 0);
  groups.first_block.assign(num_clusters + 1, 0);
  for (int64_t k = 0; k < num_clusters; ++k) {
    groups.first_block[k] = static_cast<int64_t>(groups.block_begin.size());
    for (int64_t b = groups.begin[k]; b < groups.begin[k + 1]; b += kBlock) {
      groups.block_cluster.push_back(k);
      groups.block_begin.push_back(b);
    }
  }
  groups.first_block[num_clusters] = static_cast<int64_t>(groups.block_begin.size());
  return groups;
}

// body(block) for every block, on torch's threads.
template <typename Body>
void for_each_block(const ClusterBlocks& groups, int64_t work_per_sample, Body&& body) {
  const int64_t blocks = static_cast<int64_t>(groups.block_begin.size());
  const int64_t samples = groups.samples.size();
  parallel_for(0, blocks, grain_for(blocks, samples * work_per_sample), [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) body(b);
  });
}

double* float64_data(Tensor& t) { return static_cast<double*>(t.mutable_data_ptr()); }

template <typename T>
void moments_kernel_impl(const T* data, int64_t dim, const ClusterBlocks& groups, const int64_t* weights,
                         const double* row_m2, int64_t* counts, double* means, double* m2) {
  const int64_t num_clusters = static_cast<int64_t>(groups.begin.size()) - 1;
  const int64_t blocks = static_cast<int64_t>(groups.block_begin.size());
  // Pass 1: weighted sums of coordinates, a block at a time, folded in block order.
  std::vector<CompensatedSum<double>> sums(blocks * dim);
  std::vector<int64_t> block_weight(blocks, 0);
  for_each_block(groups, dim, [&](int64_t b) {
    CompensatedSum<double>* sum = sums.data() + b * dim;
    int64_t weight = 0;
    for (int64_t s = groups.block_begin[b]; s < groups.block_end(b); ++s) {
      const int64_t i = groups.samples[s];
      const int64_t w = weights == nullptr ? 1 : weights[i];
      weight += w;
      const T* row = data + i * dim;
      for (int64_t c = 0; c < dim; ++c) sum[c].add(static_cast<double>(w) * static_cast<double>(row[c]));
    }
    block_weight[b] = weight;
  });
  for (int64_t k = 0; k < num_clusters; ++k) {
    int64_t weight = 0;
    for (int64_t b = groups.first_block[k]; b < groups.first_block[k + 1]; ++b) {
      CM_CHECK(!__builtin_add_overflow(weight, block_weight[b], &weight),
               "cluster_moments: a cluster's weights sum past 2^63 - 1.");
    }
    counts[k] = weight;
    for (int64_t c = 0; c < dim; ++c) {
      CompensatedSum<double> total;
      for (int64_t b = groups.first_block[k]; b < groups.first_block[k + 1]; ++b) total.add(sums[b * dim + c]);
      means[k * dim + c] = weight > 0 ? total.value() / static_cast<double>(weight) : 0.0;
    }
  }
  // Pass 2: the centred second moments around those means.
  std::vector<CompensatedSum<double>> spread(blocks);
  for_each_block(groups, dim, [&](int64_t b) {
    const double* mean = means + groups.block_cluster[b] * dim;
    CompensatedSum<double> sum;
    for (int64_t s = groups.block_begin[b]; s < groups.block_end(b); ++s) {
      const int64_t i = groups.samples[s];
      const T* row = data + i * dim;
      double squared = 0;
      for (int64_t c = 0; c < dim; ++c) {
        const double difference = static_cast<double>(row[c]) - mean[c];
        squared += difference * difference;
      }
      sum.add(weights == nullptr ? squared : static_cast<double>(weights[i]) * squared);
      if (row_m2 != nullptr) sum.add(row_m2[i]);
    }
    spread[b] = sum;
  });
  for (int64_t k = 0; k < num_clusters; ++k) {
    CompensatedSum<double> total;
    for (int64_t b = groups.first_block[k]; b < groups.first_block[k + 1]; ++b) total.add(spread[b]);
    m2[k] = total.value();
  }
}

template <typename T>
void distances_kernel_impl(const T* data, int64_t dim, const ClusterBlocks& groups, const double* centroids,
                           PNorm norm, double* sum_euclidean, double* max_norm) {
  const int64_t num_clusters = static_cast<int64_t>(groups.begin.size()) - 1;
  const int64_t blocks = static_cast<int64_t>(groups.block_begin.size());
  std::vector<CompensatedSum<double>> sums(blocks);
  std::vector<double> maxima(blocks, 0.0);
  for_each_block(groups, dim, [&](int64_t b) {
    const double* centroid = centroids + groups.block_cluster[b] * dim;
    CompensatedSum<double> sum;
    double largest = 0;
    for (int64_t s = groups.block_begin[b]; s < groups.block_end(b); ++s) {
      const T* row = data + groups.samples[s] * dim;
      double squared = 0, accumulated = 0;
      for (int64_t c = 0; c < dim; ++c) {
        const double difference = static_cast<double>(row[c]) - centroid[c];
        squared += difference * difference;
        accumulated = norm.add(accumulated, difference);
      }
      sum.add(std::sqrt(squared));
      largest = std::max(largest, norm.finish(accumulated));
    }
    sums[b] = sum;
    maxima[b] = largest;
  });
  for (int64_t k = 0; k < num_clusters; ++k) {
    CompensatedSum<double> total;
    double largest = 0;
    for (int64_t b = groups.first_block[k]; b < groups.first_block[k + 1]; ++b) {
      total.add(sums[b]);
      largest = std::max(largest, maxima[b]);
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
  const ClusterBlocks groups = group_by_cluster(ids.as<int64_t>(), n, num_clusters);
  if (weights.has_value()) {
    const int64_t* w = weights->as<int64_t>();
    for (int64_t i = 0; i < n; ++i) CM_CHECK(w[i] >= 0, "Expected weights to be non-negative but found ", w[i], ".");
  }
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    moments_kernel_impl(static_cast<const T*>(data.const_data_ptr()), dim, groups,
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
  const ClusterBlocks groups = group_by_cluster(ids.as<int64_t>(), n, num_clusters);
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    distances_kernel_impl(static_cast<const T*>(data.const_data_ptr()), dim, groups,
                          static_cast<const double*>(centroids.const_data_ptr()), PNorm::of(p),
                          float64_data(sum_euclidean), float64_data(max_norm));
  });
  return {sum_euclidean, max_norm};
}

}  // namespace clustering_metrics::cpu
