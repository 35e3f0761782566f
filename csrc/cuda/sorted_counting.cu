// Stage 3b: counting a large pair space by radix-sorting one 64-bit pair key
// per sample (only the bits the cell count needs), then encoding the runs:
// CUB's sort, run-length encoding and reduction by key (device_algorithms.cuh).
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

CM_KERNEL void pair_keys_kernel(const uint64_t* __restrict__ pred_ids, const uint64_t* __restrict__ target_ids,
                                int64_t n, uint64_t num_target_ids, uint64_t* keys) {
  for_each_index(n, [&](int64_t i) { keys[i] = pred_ids[i] * num_target_ids + target_ids[i]; });
}

}  // namespace

void count_sorted(const Tensor& pred_ids, const Tensor& target_ids, const std::optional<Tensor>& weights,
                  uint64_t num_target_ids, uint64_t num_cells, CellList& cells) {
  const int64_t n = pred_ids.numel();
  const Tensor keys = empty_long(n, pred_ids);
  simt::launch("pair_keys", pair_keys_kernel, grid_for(n), kThreads, 0, current_stream(),
               cdata_of<uint64_t>(pred_ids), cdata_of<uint64_t>(target_ids), n, num_target_ids, u64_ptr(keys));
  check_launch();
  const Tensor sorted_keys = torch::stable::empty_like(keys);
  Tensor run_keys = torch::stable::empty_like(keys);
  Tensor run_counts = torch::stable::empty_like(keys);
  const int end_bit = bit_width(num_cells - 1);
  if (!weights.has_value()) {
    sort_keys(u64_ptr(keys), u64_ptr(sorted_keys), n, end_bit, keys);
    const int64_t runs =
        run_length_encode(u64_ptr(sorted_keys), u64_ptr(run_keys), data_of<int64_t>(run_counts), n, keys);
    cells.keys = torch::stable::narrow(run_keys, 0, 0, runs);
    cells.counts = torch::stable::narrow(run_counts, 0, 0, runs);
    return;
  }
  const Tensor sorted_weights = torch::stable::empty_like(keys);
  sort_pairs(u64_ptr(keys), u64_ptr(sorted_keys), cdata_of<int64_t>(*weights), data_of<int64_t>(sorted_weights), n,
             end_bit, keys);
  const int64_t runs = reduce_by_key(u64_ptr(sorted_keys), cdata_of<int64_t>(sorted_weights), u64_ptr(run_keys),
                                     data_of<int64_t>(run_counts), n, keys);
  // Runs made only of zero-weight samples are not cells.
  keep_positive(u64_ptr(run_keys), torch::stable::narrow(run_counts, 0, 0, runs), cells);
}

}  // namespace clustering_metrics::cuda
