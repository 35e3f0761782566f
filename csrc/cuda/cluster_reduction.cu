// The per-cluster reductions of embedded data on the GPU (cpu/cluster_reduction.cpp
// on the CPU): cluster_moments and cluster_distances. Samples are grouped by
// cluster by a stable radix sort of their ids (CUB), and each cluster is
// summed in fixed blocks of kClusterBlock of its samples, each block by one CUDA
// block in a fixed order, the blocks then folded in order: compensated
// float64 sums with no floating-point atomics, the same bits on every run.
#include <vector>

#include "../common/compensated_sum.h"
#include "../common/distance_terms.h"
#include "../host/dispatch.h"
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"
#include "ordered_reduction.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// What a block of one cluster's samples contributes to its spread.
struct SpreadSums {
  CompensatedSum<double> sum;  // of w |x - c|^2 (+ m2) for moments, of |x - c| for distances
  double largest = 0;          // largest p-norm distance

  CM_DEVICE void add(const SpreadSums& other) {
    sum.add(other.sum);
    largest = larger_distance(largest, other.largest);
  }
};

// sizes[k] counts id k; bad[0] receives an id outside [0, num_clusters), bad[1] counts them.
CM_KERNEL void cluster_sizes_kernel(const int64_t* __restrict__ ids, int64_t n, int64_t num_clusters,
                                    unsigned long long* sizes, unsigned long long* bad) {
  for_each_index(n, [&](int64_t i) {
    const uint64_t id = static_cast<uint64_t>(ids[i]);
    if (id < static_cast<uint64_t>(num_clusters)) {
      simt::atomic_add(&sizes[id], 1ull);
    } else {
      simt::atomic_exchange(&bad[0], static_cast<unsigned long long>(id));
      simt::atomic_add(&bad[1], 1ull);
    }
  });
}

CM_KERNEL void iota_kernel(int64_t* values, int64_t n) {
  for_each_index(n, [&](int64_t i) { values[i] = i; });
}

// lowest[0] = min(0, smallest weight), by integer atomics.
CM_KERNEL void lowest_weight_kernel(const int64_t* __restrict__ weights, int64_t n, long long* lowest) {
  for_each_index(n, [&](int64_t i) {
    if (weights[i] < 0) simt::atomic_min(lowest, static_cast<long long>(weights[i]));
  });
}

// Pass 1 of the moments: block b sums w x over its samples, one dimension per thread.
template <typename T>
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    weighted_sums_kernel_impl(const T* __restrict__ data, int64_t dim, const int64_t* __restrict__ order,
                              const int64_t* __restrict__ block_begin, const int64_t* __restrict__ block_end,
                              const int64_t* __restrict__ weights, CompensatedSum<double>* sums,
                              long long* block_weights) {
  const int64_t b = simt::block_index();
  const int64_t begin = block_begin[b], end = block_end[b];
  for (int64_t c = simt::thread_index(); c < dim; c += simt::block_size()) {
    CompensatedSum<double> sum;
    for (int64_t s = begin; s < end; ++s) {
      const int64_t i = order[s];
      const double w = weights == nullptr ? 1.0 : static_cast<double>(weights[i]);
      sum.add(w * static_cast<double>(data[i * dim + c]));
    }
    sums[b * dim + c] = sum;
  }
  if (simt::thread_index() == 0) {
    long long weight = 0;
    for (int64_t s = begin; s < end; ++s) weight += weights == nullptr ? 1 : weights[order[s]];
    block_weights[b] = weight;
  }
}

// Folds each cluster's block sums in block order into its weight and mean.
CM_KERNEL void means_kernel(const CompensatedSum<double>* __restrict__ sums,
                            const long long* __restrict__ block_weights, const int64_t* __restrict__ first_block,
                            int64_t dim, int64_t* counts, double* means) {
  const int64_t k = simt::block_index();
  long long weight = 0;
  for (int64_t b = first_block[k]; b < first_block[k + 1]; ++b) weight += block_weights[b];
  if (simt::thread_index() == 0) counts[k] = weight;
  for (int64_t c = simt::thread_index(); c < dim; c += simt::block_size()) {
    CompensatedSum<double> total;
    for (int64_t b = first_block[k]; b < first_block[k + 1]; ++b) total.add(sums[b * dim + c]);
    means[k * dim + c] = weight > 0 ? total.value() / static_cast<double>(weight) : 0.0;
  }
}

// Block b's spread around its cluster's centre: thread t takes samples t,
// t + kTermThreads, ... of the block, and the threads fold in a fixed tree.
// With moments, w |x - c|^2 (+ the row's m2); else |x - c| and the p-norm.
template <typename T>
CM_KERNEL void CM_LAUNCH_BOUNDS(kTermThreads)
    spread_kernel_impl(const T* __restrict__ data, int64_t dim, const int64_t* __restrict__ order,
                       const int64_t* __restrict__ block_begin, const int64_t* __restrict__ block_end,
                       const int64_t* __restrict__ block_cluster, const double* __restrict__ centres,
                       const int64_t* __restrict__ weights, const double* __restrict__ row_m2, bool moments,
                       PNorm norm, SpreadSums* spreads) {
  const int64_t b = simt::block_index();
  const double* centre = centres + block_cluster[b] * dim;
  SpreadSums mine;
  for (int64_t s = block_begin[b] + simt::thread_index(); s < block_end[b]; s += kTermThreads) {
    const int64_t i = order[s];
    double squared = 0;
    PNorm::Sum accumulated;
    for (int64_t c = 0; c < dim; ++c) {
      const double difference = static_cast<double>(data[i * dim + c]) - centre[c];
      squared += difference * difference;
      norm.add(accumulated, difference);
    }
    if (moments) {
      mine.sum.add(weights == nullptr ? squared : static_cast<double>(weights[i]) * squared);
      if (row_m2 != nullptr) mine.sum.add(row_m2[i]);
    } else {
      mine.sum.add(sqrt(squared));
      const double distance = norm.finish(accumulated);
      mine.largest = larger_distance(mine.largest, distance);
    }
  }
  const SpreadSums block = reduce_block_in_order(mine);
  if (simt::thread_index() == 0) spreads[b] = block;
}

CM_KERNEL void fold_spreads_kernel(const SpreadSums* __restrict__ spreads, const int64_t* __restrict__ first_block,
                                   int64_t num_clusters, double* sums, double* largest) {
  for_each_index(num_clusters, [&](int64_t k) {
    SpreadSums total;
    for (int64_t b = first_block[k]; b < first_block[k + 1]; ++b) total.add(spreads[b]);
    sums[k] = total.sum.value();
    if (largest != nullptr) largest[k] = total.largest;
  });
}

}  // namespace

ClusterGroups group_by_cluster(const Tensor& ids, int64_t num_clusters) {
  const int64_t n = ids.numel();
  const Tensor sizes = zeros_long(num_clusters + 2, ids);  // then the bad id and how many
  simt::launch("cluster_sizes", cluster_sizes_kernel, grid_for(n), kThreads, 0, current_stream(), cdata_of<int64_t>(ids),
               n, num_clusters, reinterpret_cast<unsigned long long*>(data_of<int64_t>(sizes)),
               reinterpret_cast<unsigned long long*>(data_of<int64_t>(sizes)) + num_clusters);
  check_launch();
  std::vector<int64_t> host(num_clusters + 2);
  copy_to_host(host.data(), cdata_of<int64_t>(sizes), host.size() * sizeof(int64_t));
  CM_CHECK(host[num_clusters + 1] == 0, "Expected cluster ids in [0, ", num_clusters, ") but found ",
           static_cast<int64_t>(host[num_clusters]), ".");
  // The blocks, from the sizes: each cluster's samples start where the previous cluster's end.
  std::vector<int64_t> begins, ends, clusters, first(num_clusters + 1, 0), starts(num_clusters + 1, 0);
  int64_t position = 0;
  for (int64_t k = 0; k < num_clusters; ++k) {
    first[k] = static_cast<int64_t>(begins.size());
    starts[k] = position;
    for (int64_t b = position; b < position + host[k]; b += kClusterBlock) {
      begins.push_back(b);
      ends.push_back(std::min(b + kClusterBlock, position + host[k]));
      clusters.push_back(k);
    }
    position += host[k];
  }
  first[num_clusters] = static_cast<int64_t>(begins.size());
  starts[num_clusters] = position;
  ClusterGroups groups;
  groups.blocks = static_cast<int64_t>(begins.size());
  const auto to_device = [&](const std::vector<int64_t>& values) {
    Tensor t = empty_long(std::max<int64_t>(1, static_cast<int64_t>(values.size())), ids);
    if (!values.empty()) copy_to_device(data_of<int64_t>(t), values.data(), values.size() * sizeof(int64_t));
    return t;
  };
  groups.block_begin = to_device(begins);
  groups.block_end = to_device(ends);
  groups.block_cluster = to_device(clusters);
  groups.first_block = to_device(first);
  groups.begin = to_device(starts);
  // Stable: equal ids keep their sample order.
  Tensor samples = empty_long(std::max<int64_t>(n, 1), ids);
  Tensor sorted_ids = empty_long(std::max<int64_t>(n, 1), ids);
  groups.order = empty_long(std::max<int64_t>(n, 1), ids);
  if (n > 0) {
    simt::launch("iota", iota_kernel, grid_for(n), kThreads, 0, current_stream(), data_of<int64_t>(samples), n);
    check_launch();
    sort_pairs(cdata_of<uint64_t>(ids), u64_ptr(sorted_ids), cdata_of<int64_t>(samples), data_of<int64_t>(groups.order),
               n, std::max(1, bit_width(static_cast<uint64_t>(num_clusters))), ids);
  }
  return groups;
}

std::tuple<Tensor, Tensor, Tensor> cluster_moments(const Tensor& data_in, const Tensor& ids_in, int64_t num_clusters,
                                                   const std::optional<Tensor>& weights_in,
                                                   const std::optional<Tensor>& m2_in) {
  const Tensor data = torch::stable::contiguous(data_in);
  const Tensor ids = torch::stable::contiguous(ids_in);
  const int64_t dim = data.size(1);
  std::optional<Tensor> weights, row_m2;
  if (weights_in.has_value()) weights = torch::stable::contiguous(*weights_in);
  if (m2_in.has_value()) row_m2 = torch::stable::contiguous(*m2_in);
  Tensor counts = empty_long(num_clusters, data);
  Tensor means = torch::stable::empty({num_clusters, dim}, ScalarType::Double, std::nullopt, data.device());
  Tensor m2 = empty_on(data, num_clusters, ScalarType::Double);
  if (weights.has_value() && weights->numel() > 0) {
    const Tensor lowest = zeros_long(1, data);
    simt::launch("lowest_weight", lowest_weight_kernel, grid_for(weights->numel()), kThreads, 0, current_stream(),
                 cdata_of<int64_t>(*weights), weights->numel(), data_of<long long>(lowest));
    check_launch();
    const int64_t smallest = read_back(lowest, 0);
    CM_CHECK(smallest >= 0, "Expected weights to be non-negative but found ", smallest, ".");
  }
  const ClusterGroups groups = group_by_cluster(ids, num_clusters);
  const Stream stream = current_stream();
  const int64_t* weight_ptr = weights.has_value() ? cdata_of<int64_t>(*weights) : nullptr;
  const Tensor sums = block_sums_storage<CompensatedSum<double>>(data, groups.blocks * dim);
  const Tensor block_weights = empty_long(std::max<int64_t>(groups.blocks, 1), data);
  const Tensor spreads = block_sums_storage<SpreadSums>(data, groups.blocks);
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* values = cdata_of<T>(data);
    if (groups.blocks > 0) {
      simt::launch("weighted_sums", weighted_sums_kernel_impl<T>, static_cast<unsigned>(groups.blocks), kTermThreads, 0,
                   stream, values, dim, cdata_of<int64_t>(groups.order), cdata_of<int64_t>(groups.block_begin),
                   cdata_of<int64_t>(groups.block_end), weight_ptr, data_of<CompensatedSum<double>>(sums),
                   data_of<long long>(block_weights));
      check_launch();
    }
    if (num_clusters > 0) {
      simt::launch("cluster_means", means_kernel, static_cast<unsigned>(num_clusters), kTermThreads, 0, stream,
                   cdata_of<CompensatedSum<double>>(sums), cdata_of<long long>(block_weights),
                   cdata_of<int64_t>(groups.first_block), dim, data_of<int64_t>(counts), data_of<double>(means));
      check_launch();
    }
    if (groups.blocks > 0) {
      simt::launch("cluster_spread", spread_kernel_impl<T>, static_cast<unsigned>(groups.blocks), kTermThreads, 0,
                   stream, values, dim, cdata_of<int64_t>(groups.order), cdata_of<int64_t>(groups.block_begin),
                   cdata_of<int64_t>(groups.block_end), cdata_of<int64_t>(groups.block_cluster), cdata_of<double>(means),
                   weight_ptr, row_m2.has_value() ? cdata_of<double>(*row_m2) : nullptr, /*moments=*/true,
                   PNorm::of(2), data_of<SpreadSums>(spreads));
      check_launch();
    }
  });
  if (num_clusters > 0) {
    simt::launch("fold_spreads", fold_spreads_kernel, grid_for(num_clusters), kThreads, 0, stream,
                 cdata_of<SpreadSums>(spreads), cdata_of<int64_t>(groups.first_block), num_clusters,
                 data_of<double>(m2), nullptr);
    check_launch();
  }
  return {counts, means, m2};
}

std::tuple<Tensor, Tensor> cluster_distances(const Tensor& data_in, const Tensor& ids_in, const Tensor& centroids_in,
                                             double p) {
  const Tensor data = torch::stable::contiguous(data_in);
  const Tensor ids = torch::stable::contiguous(ids_in);
  const Tensor centroids = torch::stable::contiguous(centroids_in);
  const int64_t dim = data.size(1), num_clusters = centroids.size(0);
  Tensor sum_euclidean = empty_on(data, num_clusters, ScalarType::Double);
  Tensor max_norm = empty_on(data, num_clusters, ScalarType::Double);
  const ClusterGroups groups = group_by_cluster(ids, num_clusters);
  const Stream stream = current_stream();
  const Tensor spreads = block_sums_storage<SpreadSums>(data, groups.blocks);
  if (groups.blocks > 0) {
    dispatch_float_type(data.scalar_type(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      simt::launch("cluster_spread", spread_kernel_impl<T>, static_cast<unsigned>(groups.blocks), kTermThreads, 0,
                   stream, cdata_of<T>(data), dim, cdata_of<int64_t>(groups.order), cdata_of<int64_t>(groups.block_begin),
                   cdata_of<int64_t>(groups.block_end), cdata_of<int64_t>(groups.block_cluster),
                   cdata_of<double>(centroids), nullptr, nullptr, /*moments=*/false, PNorm::of(p),
                   data_of<SpreadSums>(spreads));
      check_launch();
    });
  }
  if (num_clusters > 0) {
    simt::launch("fold_spreads", fold_spreads_kernel, grid_for(num_clusters), kThreads, 0, stream,
                 cdata_of<SpreadSums>(spreads), cdata_of<int64_t>(groups.first_block), num_clusters,
                 data_of<double>(sum_euclidean), data_of<double>(max_norm));
    check_launch();
  }
  return {sum_euclidean, max_norm};
}

}  // namespace clustering_metrics::cuda
