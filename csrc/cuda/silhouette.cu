// The silhouette's per-sample sums on the GPU (cpu/silhouette.cpp on the
// CPU): for every sample i and cluster k, the sum of the Euclidean distances
// from i to k's samples, each from its coordinate differences
// (common/distance_terms.h). Samples are grouped by cluster
// (group_by_cluster, cluster_reduction.cu); a CUDA block takes kRows rows and one cluster, each of
// its threads one row and every kLanes-th sample of the cluster in order,
// and the lanes of a row fold in a fixed order: no floating-point atomics,
// the same bits on every run. Memory: the n x k sums and the sorted order.
#include "../common/compensated_sum.h"
#include "../host/dispatch.h"
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

constexpr int kRows = 32;   // rows of a block
constexpr int kLanes = 8;   // threads of a row, kRows * kLanes = 256 a block

template <typename T>
CM_KERNEL void CM_LAUNCH_BOUNDS(kRows* kLanes)
    silhouette_sums_kernel_impl(const T* __restrict__ data, int64_t n, int64_t dim,
                                const int64_t* __restrict__ order, const int64_t* __restrict__ starts,
                                int64_t num_clusters, double* sums) {
  CM_SHARED_ARRAY(CompensatedSum<double>, lane_sums, kRows * kLanes);
  const int64_t k = static_cast<int64_t>(simt::block_index()) % num_clusters;
  const int64_t row0 = static_cast<int64_t>(simt::block_index()) / num_clusters * kRows;
  const int r = static_cast<int>(simt::thread_index()) / kLanes, lane = static_cast<int>(simt::thread_index()) % kLanes;
  const int64_t row = row0 + r;
  CompensatedSum<double> sum;
  if (row < n) {
    const T* x = data + row * dim;
    for (int64_t s = starts[k] + lane; s < starts[k + 1]; s += kLanes) {
      const T* y = data + order[s] * dim;
      double squared = 0;
      for (int64_t c = 0; c < dim; ++c) {
        const double difference = static_cast<double>(x[c]) - static_cast<double>(y[c]);
        squared += difference * difference;
      }
      sum.add(sqrt(squared));
    }
  }
  lane_sums[simt::thread_index()] = sum;
  simt::sync_block();
  if (lane == 0 && row < n) {
    CompensatedSum<double> total;
    for (int l = 0; l < kLanes; ++l) total.add(lane_sums[r * kLanes + l]);
    sums[row * num_clusters + k] = total.value();
  }
}

}  // namespace

Tensor silhouette_sums(const Tensor& data_in, const Tensor& ids_in, int64_t num_clusters) {
  const Tensor data = torch::stable::contiguous(data_in);
  const Tensor ids = torch::stable::contiguous(ids_in);
  const int64_t n = data.size(0), dim = data.size(1);
  Tensor sums = torch::stable::empty({n, num_clusters}, ScalarType::Double, std::nullopt, data.device());
  if (n == 0 || num_clusters == 0) return sums;
  const Stream stream = current_stream();
  const ClusterGroups groups = group_by_cluster(ids, num_clusters);
  const int64_t row_blocks = (n + kRows - 1) / kRows;
  CM_CHECK(row_blocks * num_clusters <= int64_t{0x7fffffff}, "silhouette_sums: ", n, " samples and ", num_clusters,
           " clusters are more than one launch covers.");
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    simt::launch("silhouette_sums", silhouette_sums_kernel_impl<T>, static_cast<unsigned>(row_blocks * num_clusters),
                 kRows * kLanes, 0, stream, cdata_of<T>(data), n, dim, cdata_of<int64_t>(groups.order),
                 cdata_of<int64_t>(groups.begin), num_clusters, data_of<double>(sums));
    check_launch();
  });
  return sums;
}

}  // namespace clustering_metrics::cuda
