// Stage 3a: counting label pairs into a dense table, for the op path (labels
// in the side ranges just measured, dense_counting.cu) and for
// count_into_table (labels promised to lie in [0, K), bounded_counting.cu).
// The kernels read raw labels, templated on the label *width* alone (offsets
// are exact in the label's own width, see label_offset), so 16 small
// instantiations a kind of cell cover all 81 dtype pairs.
#pragma once

#include <limits>

#include "cuda_utils.cuh"

namespace clustering_metrics::cuda {

// Threads of the shared-memory histogram: 16 warps, so up to 16 private
// sub-histograms per block when the table is small.
constexpr int kSharedThreads = 512;

// Below this many cells a warp's 32 labels often collide on a cell, so lanes
// with equal cells are merged into one shared-memory atomic.
constexpr uint32_t kAggregateBelowCells = 1024;

// The labels a Cells type counts: both sides' raw labels of widths P and T,
// element i at labels[i * stride]. A Cells type adds slot(p, t), the slot of
// a label pair, and kSharedBlocksPerMultiprocessor, the blocks of
// count_shared whose registers must fit one multiprocessor.
template <typename P, typename T>
struct LabelPairs {
  using Pred = P;
  using Target = T;
  const P* pred_labels;
  const T* target_labels;
  int64_t pred_stride;
  int64_t target_stride;
};

// Histogram privatised in shared memory: each warp counts into one of
// `copies` sub-histograms of 32-bit counters (a block sees at most 2^32 - 1
// samples), which are summed and added to the global int64 table at the end.
template <typename Cells>
CM_KERNEL void CM_LAUNCH_BOUNDS_OCCUPANCY(kSharedThreads, Cells::kSharedBlocksPerMultiprocessor)
    count_shared_kernel_impl(Cells cells, int64_t n, bool packed, uint32_t num_slots, uint32_t copies,
                             bool aggregate, unsigned long long* table) {
  using P = typename Cells::Pred;
  using T = typename Cells::Target;
  const simt::Shared<uint32_t> shared_counts = simt::dynamic_shared<uint32_t>();
  for (uint32_t c = simt::thread_index(); c < copies * num_slots; c += simt::block_size()) shared_counts[c] = 0;
  simt::sync_block();
  const simt::Shared<uint32_t> warp_counts = shared_counts + (simt::thread_index() / kWarp) % copies * num_slots;
  const unsigned lane = simt::lane_index();
  const auto count = [&](int64_t, P p, T t, bool valid) {
    const uint32_t slot = cells.slot(p, t);
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
    if (aggregate) {
      // No slot is all ones (tables have fewer slots), so lanes past the
      // end group only among themselves.
      const unsigned peers = simt::match_any(simt::kFullMask, valid ? slot : 0xffffffffu);
      if (valid && static_cast<int>(lane) == simt::lowest_set_lane(peers)) {
        simt::atomic_add(warp_counts + slot, static_cast<uint32_t>(simt::population(peers)));
      }
      return;
    }
#endif
    if (valid) simt::atomic_add(warp_counts + slot, 1u);
  };
  for_each_label_pair(cells.pred_labels, cells.pred_stride, cells.target_labels, cells.target_stride, n, packed,
                      count);
  simt::sync_block();
  for (uint32_t slot = simt::thread_index(); slot < num_slots; slot += simt::block_size()) {
    unsigned long long total = 0;
    for (uint32_t c = 0; c < copies; ++c) total += shared_counts[c * num_slots + slot];
    if (total != 0) simt::atomic_add(&table[slot], total);
  }
}

// Tables too big for shared memory, or weighted samples: int64 atomics
// straight into the global table (it fits L2 at the dense-table limit).
template <typename Cells>
CM_KERNEL void count_global_kernel_impl(Cells cells, const int64_t* __restrict__ weights, int64_t n, bool packed,
                                        unsigned long long* table) {
  using P = typename Cells::Pred;
  using T = typename Cells::Target;
  const auto count = [&](int64_t i, P p, T t, bool valid) {
    if (!valid) return;
    simt::atomic_add(&table[cells.slot(p, t)],
                     weights == nullptr ? 1ull : static_cast<unsigned long long>(weights[i]));
  };
  for_each_label_pair(cells.pred_labels, cells.pred_stride, cells.target_labels, cells.target_stride, n, packed,
                      count);
}

// Adds every sample (times its weight, when weights is not null) to its slot
// of table, which has num_slots int64 entries.
template <typename Cells>
void count_into_slots(const Cells& cells, const int64_t* weights, int64_t n, uint32_t num_slots, int64_t* table) {
  const Stream stream = current_stream();
  auto* table_ptr = reinterpret_cast<unsigned long long*>(table);
  const bool packed = cells.pred_stride == 1 && cells.target_stride == 1 &&
                      pack_aligned<typename Cells::Pred>(cells.pred_labels) &&
                      pack_aligned<typename Cells::Target>(cells.target_labels);
  const int64_t lanes_of_work = packed ? n / kPack + kPack : n;
  const int64_t counter_bytes = int64_t{num_slots} * static_cast<int64_t>(sizeof(uint32_t));
  const int64_t shared_limit = shared_bytes_per_block();
  if (weights == nullptr && n <= int64_t{std::numeric_limits<uint32_t>::max()} && counter_bytes <= shared_limit) {
    // Extra sub-histograms spread warps over more banks; they may use half
    // the shared memory so that two blocks still fit a multiprocessor.
    const int64_t copies =
        std::max<int64_t>(1, std::min<int64_t>(kSharedThreads / kWarp, shared_limit / 2 / counter_bytes));
    const size_t shared_bytes = static_cast<size_t>(copies * counter_bytes);
    auto* kernel = &count_shared_kernel_impl<Cells>;
    allow_all_shared_memory(kernel);
    const int resident_per_multiprocessor = blocks_per_multiprocessor(kernel, kSharedThreads, shared_bytes);
    if (resident_per_multiprocessor > 0) {
      // Exactly one resident wave: every extra block would add a flush.
      const int64_t resident = int64_t{multiprocessor_count()} * resident_per_multiprocessor;
      const int64_t wanted = (lanes_of_work + kSharedThreads - 1) / kSharedThreads;
      const auto blocks = static_cast<unsigned int>(std::max<int64_t>(1, std::min(resident, wanted)));
      simt::launch("count_shared", kernel, blocks, kSharedThreads, shared_bytes, stream, cells, n, packed, num_slots,
                   static_cast<uint32_t>(copies), num_slots < kAggregateBelowCells, table_ptr);
      check_launch();
      return;
    }
  }
  simt::launch("count_global", count_global_kernel_impl<Cells>, grid_for(lanes_of_work), kThreads, 0, stream, cells,
               weights, n, packed, table_ptr);
  check_launch();
}

}  // namespace clustering_metrics::cuda
