// The bootstrap stage on the GPU (cpu/bootstrap.cpp on the CPU): a thread
// per resample draws its cells in order from its own Philox stream
// (common/resampling.h), so each resample has the same bits whatever the
// grid. The counts' total and check are formed by every thread from the
// counts (a few cache lines per cell, against tens of operations per draw),
// and thread 0 reports them to the host, which raises on bad counts or a
// total beyond what a resample draws exactly (common/resampling.h).
#include "../common/resampling.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

enum CheckSlot : int { kLowestCount, kCountsOverflow, kCountsTotal, kNumCheckSlots };

CM_KERNEL void CM_LAUNCH_BOUNDS(kThreads)
    bootstrap_counts_kernel_impl(const int64_t* __restrict__ counts, int64_t num_cells, int64_t num_resamples,
                                 uint64_t seed, uint64_t first_resample, int64_t* resamples, int64_t* check) {
  const CountsTotal total = total_of_counts(counts, num_cells);
  const int64_t first = static_cast<int64_t>(simt::block_index()) * simt::block_size() + simt::thread_index();
  if (first == 0) {
    check[kLowestCount] = total.lowest;
    check[kCountsOverflow] = total.overflowed ? 1 : 0;
    check[kCountsTotal] = total.total;
  }
  if (total.lowest < 0 || total.overflowed || total.total > kMaxResampleTotal) return;
  const int64_t stride = static_cast<int64_t>(simt::grid_size()) * simt::block_size();
  for (int64_t b = first; b < num_resamples; b += stride) {
    resample_cells(counts, num_cells, total.total, seed, first_resample + static_cast<uint64_t>(b),
                   resamples + b * num_cells);
  }
}

}  // namespace

Tensor bootstrap_counts(const Tensor& counts_in, int64_t num_resamples, int64_t seed, int64_t first_resample) {
  const Tensor counts = torch::stable::contiguous(counts_in);
  const int64_t num_cells = counts.numel();
  Tensor out = torch::stable::empty({num_resamples, num_cells}, ScalarType::Long, std::nullopt, counts.device());
  Tensor check = empty_long(kNumCheckSlots, counts);
  simt::launch("bootstrap_counts", bootstrap_counts_kernel_impl, grid_for(std::max<int64_t>(num_resamples, 1)),
               kThreads, 0, current_stream(), cdata_of<int64_t>(counts), num_cells, num_resamples,
               static_cast<uint64_t>(seed), static_cast<uint64_t>(first_resample), data_of<int64_t>(out),
               data_of<int64_t>(check));
  check_launch();
  int64_t host[kNumCheckSlots] = {0, 0, 0};
  copy_to_host(host, cdata_of<int64_t>(check), sizeof(host));
  check_weight_summary(host[kLowestCount], host[kCountsOverflow] != 0);
  check_resample_total(host[kCountsTotal]);
  return out;
}

}  // namespace clustering_metrics::cuda
