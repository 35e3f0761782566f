// The silhouette's per-sample sums: for every sample i and cluster k, the
// sum of the Euclidean distances from i to the samples of k, each distance
// from its coordinate differences (common/distance_terms.h). Rows are taken
// kRows at a time, with their coordinates transposed so that the inner loop
// runs across the rows and vectorises; every other sample j is visited in
// sample order, and each row's sums are compensated: the result is the same
// bits at any thread count. Memory: the n x k sums and one block of rows.
#include <torch/csrc/stable/ops.h>

#include <cmath>

#include "../common/compensated_sum.h"
#include "../host/dispatch.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

constexpr int64_t kRows = 32;

// distances[r] = |row r of the block - point|, for a block's transposed
// coordinates (dim x kRows). Compiled for AVX2 and FMA too, chosen at run
// time: the loop over the rows is then 4 doubles a step instead of 2.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void block_distances(const double* transposed,
                                                                                 const double* point, int64_t dim,
                                                                                 double* distances) {
  double squared[kRows] = {};
  for (int64_t c = 0; c < dim; ++c) {
    const double* coordinate = transposed + c * kRows;
    const double x = point[c];
    for (int64_t r = 0; r < kRows; ++r) {
      const double difference = coordinate[r] - x;
      squared[r] += difference * difference;
    }
  }
  for (int64_t r = 0; r < kRows; ++r) distances[r] = std::sqrt(squared[r]);
}

template <typename T>
void silhouette_kernel_impl(const T* data, const int64_t* ids, int64_t n, int64_t dim, int64_t num_clusters,
                            double* sums) {
  // The points as float64, once, so that the inner loop reads doubles.
  Array<double> points(n * dim);
  Chunks(n * dim).run([&](int64_t, int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) points[e] = static_cast<double>(data[e]);
  });
  const int64_t blocks = (n + kRows - 1) / kRows;
  parallel_for(0, blocks, grain_for(blocks, n * n * dim / 8), [&](int64_t first, int64_t last) {
    Array<double> transposed(dim * kRows);
    std::vector<CompensatedSum<double>> row_sums(kRows * num_clusters);
    double distances[kRows];
    for (int64_t block = first; block < last; ++block) {
      const int64_t row0 = block * kRows, rows = std::min(kRows, n - row0);
      // Rows past the end repeat the last row; their sums are not written.
      for (int64_t c = 0; c < dim; ++c) {
        for (int64_t r = 0; r < kRows; ++r) transposed[c * kRows + r] = points[(row0 + std::min(r, rows - 1)) * dim + c];
      }
      std::fill(row_sums.begin(), row_sums.end(), CompensatedSum<double>{});
      for (int64_t j = 0; j < n; ++j) {
        block_distances(transposed.data(), points.data() + j * dim, dim, distances);
        CompensatedSum<double>* sum = row_sums.data() + ids[j];
        for (int64_t r = 0; r < rows; ++r) sum[r * num_clusters].add(distances[r]);
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = 0; k < num_clusters; ++k) sums[(row0 + r) * num_clusters + k] = row_sums[r * num_clusters + k].value();
      }
    }
  });
}

}  // namespace

Tensor silhouette_sums(const Tensor& data_in, const Tensor& ids_in, int64_t num_clusters) {
  const Tensor data = torch::stable::contiguous(data_in);
  const ContiguousElements ids(ids_in);
  const int64_t n = data.size(0), dim = data.size(1);
  const int64_t* id = ids.as<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    CM_CHECK(static_cast<uint64_t>(id[i]) < static_cast<uint64_t>(num_clusters), "Expected cluster ids in [0, ",
             num_clusters, ") but found ", id[i], ".");
  }
  Tensor sums = torch::stable::empty({n, num_clusters}, ScalarType::Double);
  if (n == 0) return sums;
  dispatch_float_type(data.scalar_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    silhouette_kernel_impl(static_cast<const T*>(data.const_data_ptr()), id, n, dim, num_clusters,
                           static_cast<double*>(sums.mutable_data_ptr()));
  });
  return sums;
}

}  // namespace clustering_metrics::cpu
