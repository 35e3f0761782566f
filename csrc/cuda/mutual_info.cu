// Mutual information from counted cells on the GPU.
//
// Marginals are exact int64 sums (integer atomics commute). The float64 sum
// has a fixed shape that depends only on the number of cells: one block per
// kTermBlock cells, a fixed thread stride inside it, a fixed-order tree over
// the threads, then one block that folds the block sums in order. No
// floating-point atomics, so the result is the same bits on every run.
#include <ATen/ATen.h>

#include "../common/mi_math.h"
#include "cuda_utils.cuh"
#include "pair_cells.cuh"

namespace clustering_metrics::cuda {
namespace {

constexpr int kTermThreads = 256;

__global__ void marginals_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts,
                                 int64_t num_cells, uint64_t num_target_ids, unsigned long long* row_sums,
                                 unsigned long long* col_sums) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < num_cells; i += stride) {
    const uint64_t row = keys[i] / num_target_ids;
    const auto count = static_cast<unsigned long long>(counts[i]);
    atomicAdd(&row_sums[row], count);
    atomicAdd(&col_sums[keys[i] - row * num_target_ids], count);
  }
}

// Folds the block's per-thread sums pairwise in a fixed order; every thread
// of the block must call it.
__device__ CompensatedSum reduce_block_in_order(const CompensatedSum& mine) {
  __shared__ double sums[kTermThreads];
  __shared__ double compensations[kTermThreads];
  const int t = static_cast<int>(threadIdx.x);
  sums[t] = mine.sum;
  compensations[t] = mine.compensation;
  __syncthreads();
  for (int width = kTermThreads / 2; width > 0; width /= 2) {
    if (t < width) {
      CompensatedSum folded{sums[t], compensations[t]};
      folded.add(CompensatedSum{sums[t + width], compensations[t + width]});
      sums[t] = folded.sum;
      compensations[t] = folded.compensation;
    }
    __syncthreads();
  }
  return CompensatedSum{sums[0], compensations[0]};
}

// Block b sums the terms of cells [b * kTermBlock, (b + 1) * kTermBlock).
__global__ void __launch_bounds__(kTermThreads)
    cell_terms_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts, int64_t num_cells,
                      uint64_t num_target_ids, const int64_t* __restrict__ row_sums,
                      const int64_t* __restrict__ col_sums, int64_t total, double* block_sums) {
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * kTermBlock;
  const int64_t end = begin + kTermBlock < num_cells ? begin + kTermBlock : num_cells;
  CompensatedSum sum;
  for (int64_t i = begin + threadIdx.x; i < end; i += kTermThreads) {
    const uint64_t row = keys[i] / num_target_ids;
    const uint64_t col = keys[i] - row * num_target_ids;
    sum.add(mi_cell_term(counts[i], row_sums[row], col_sums[col], total));
  }
  const CompensatedSum block_sum = reduce_block_in_order(sum);
  if (threadIdx.x == 0) {
    block_sums[2 * blockIdx.x] = block_sum.sum;
    block_sums[2 * blockIdx.x + 1] = block_sum.compensation;
  }
}

// One block: thread t folds a contiguous stretch of block sums in order.
__global__ void __launch_bounds__(kTermThreads)
    finish_kernel(const double* __restrict__ block_sums, int64_t num_blocks, int64_t total, double* result) {
  const int64_t per_thread = (num_blocks + kTermThreads - 1) / kTermThreads;
  const int64_t begin = threadIdx.x * per_thread;
  const int64_t end = begin + per_thread < num_blocks ? begin + per_thread : num_blocks;
  CompensatedSum sum;
  for (int64_t b = begin; b < end; ++b) sum.add(CompensatedSum{block_sums[2 * b], block_sums[2 * b + 1]});
  const CompensatedSum all = reduce_block_in_order(sum);
  if (threadIdx.x == 0) *result = finish_mutual_info(all.value(), total);
}

}  // namespace

at::Tensor mutual_info_from_cells(const PairCells& cells) {
  const int64_t num_cells = cells.keys.numel();
  const auto options = cells.keys.options();
  if (num_cells == 0) return at::zeros({}, options.dtype(at::kDouble));
  const cudaStream_t stream = current_stream();
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  const uint64_t* keys = u64_ptr(cells.keys);
  const int64_t* counts = cells.counts.const_data_ptr<int64_t>();

  const at::Tensor marginals = at::zeros({rows + cols}, options.dtype(at::kLong));
  auto* row_sums = reinterpret_cast<unsigned long long*>(marginals.data_ptr<int64_t>());
  marginals_kernel<<<grid_for(num_cells), kThreads, 0, stream>>>(keys, counts, num_cells, static_cast<uint64_t>(cols),
                                                                 row_sums, row_sums + rows);
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  const int64_t num_blocks = (num_cells + kTermBlock - 1) / kTermBlock;
  TORCH_CHECK(num_blocks <= int64_t{0x7fffffff}, "mutual_info: ", num_cells, " cells are more than one launch covers.");
  const at::Tensor block_sums = at::empty({2 * num_blocks}, options.dtype(at::kDouble));
  const int64_t* marginal_ptr = marginals.const_data_ptr<int64_t>();
  cell_terms_kernel<<<static_cast<unsigned int>(num_blocks), kTermThreads, 0, stream>>>(
      keys, counts, num_cells, static_cast<uint64_t>(cols), marginal_ptr, marginal_ptr + rows, cells.total,
      block_sums.data_ptr<double>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  at::Tensor result = at::empty({}, options.dtype(at::kDouble));
  finish_kernel<<<1, kTermThreads, 0, stream>>>(block_sums.const_data_ptr<double>(), num_blocks, cells.total,
                                                result.data_ptr<double>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return result;
}

}  // namespace clustering_metrics::cuda
