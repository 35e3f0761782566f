// Counting the non-empty cells of a contingency table on the GPU.
//
// Only two kinds of kernel read the raw labels: the per-side key range
// (templated on the label dtype) and the dense counting kernels, templated
// on the label *width* alone (offsets are exact in the label's own width,
// see label_offset), so 16 small instantiations cover all 81 dtype pairs.
// Everything after that works on uint64 ids and keys and exists once.
// Sorting, run-length encoding, reduction by key and selection are CUB's
// (device_algorithms.cuh); the kernels here are written against the
// portability layer (simt/simt.h), so that they also run in the emulator.
#include "pipeline.cuh"

#include <limits>
#include <type_traits>

#include "../common/bounded_table.h"
#include "../common/checks.h"
#include "../common/counting_plan.h"
#include "../common/dispatch.h"
#include "../common/labels.h"
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"

namespace clustering_metrics::cuda {
namespace {

// Scalars every path needs on the host, gathered on the device and read back
// in one copy.
enum StatusSlot : int64_t {
  kPredMinKey,
  kPredMaxKey,
  kTargetMinKey,
  kTargetMaxKey,
  kLowestWeight,
  kWeightTotal,
  kWeightOverflow,
  kStatusSlots,
};

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Threads of the shared-memory histogram: 16 warps, so up to 16 private
// sub-histograms per block when the table is small.
constexpr int kSharedThreads = 512;

// Below this many cells a warp's 32 labels often collide on a cell, so lanes
// with equal cells are merged into one shared-memory atomic.
constexpr uint32_t kAggregateBelowCells = 1024;

template <typename T>
using StorageOf = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

CM_KERNEL void init_status_kernel(int64_t* status) {
  status[kPredMinKey] = -1;  // all ones: the largest uint64 key
  status[kPredMaxKey] = 0;
  status[kTargetMinKey] = -1;
  status[kTargetMaxKey] = 0;
  status[kLowestWeight] = 0;
  status[kWeightTotal] = 0;
  status[kWeightOverflow] = 0;
}

// range[0] = min key, range[1] = max key, combined by integer atomics.
// Eight blocks a multiprocessor: registers never limit its occupancy.
template <typename S>
CM_KERNEL void CM_LAUNCH_BOUNDS_OCCUPANCY(kThreads, 8) key_range_kernel_impl(const S* __restrict__ labels, int64_t n, bool packed,
                                     unsigned long long* range) {
  S lowest = labels[0], highest = labels[0];
  const int64_t num_packs = packed ? n / kPack : 0;
  for_each_index(num_packs, [&](int64_t p) {
    const Pack<S> pack = reinterpret_cast<const Pack<S>*>(labels)[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) {
      lowest = pack.v[k] < lowest ? pack.v[k] : lowest;
      highest = pack.v[k] > highest ? pack.v[k] : highest;
    }
  });
  for_each_index(num_packs * kPack, n, [&](int64_t i) {
    const S label = labels[i];
    lowest = label < lowest ? label : lowest;
    highest = label > highest ? label : highest;
  });
  // Keys preserve label order, so the extreme labels give the extreme keys.
  unsigned long long low_key = label_to_key(lowest), high_key = label_to_key(highest);
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const unsigned long long other_low = simt::shuffle_xor(simt::kFullMask, low_key, offset);
    const unsigned long long other_high = simt::shuffle_xor(simt::kFullMask, high_key, offset);
    low_key = other_low < low_key ? other_low : low_key;
    high_key = other_high > high_key ? other_high : high_key;
  }
  if (simt::lane_index() == 0) {
    simt::atomic_min(&range[0], low_key);
    simt::atomic_max(&range[1], high_key);
  }
}

// Lowest weight and the weight total with an overflow flag. A running sum is
// at most 2^63 - 1 until it is flagged, so adding one more weight (also at
// most 2^63 - 1) cannot wrap unnoticed.
CM_KERNEL void weight_summary_kernel(const int64_t* __restrict__ weights, int64_t n, int64_t* status) {
  int64_t lowest = 0;
  uint64_t sum = 0;
  bool overflowed = false;
  for_each_index(n, [&](int64_t i) {
    const int64_t w = weights[i];
    lowest = w < lowest ? w : lowest;
    if (w > 0 && !overflowed) {
      sum += static_cast<uint64_t>(w);
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  });
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const long long other_lowest = simt::shuffle_xor(simt::kFullMask, static_cast<long long>(lowest), offset);
    const unsigned long long other_sum =
        simt::shuffle_xor(simt::kFullMask, static_cast<unsigned long long>(sum), offset);
    const int other_overflowed = simt::shuffle_xor(simt::kFullMask, static_cast<int>(overflowed), offset);
    lowest = other_lowest < lowest ? other_lowest : lowest;
    overflowed = overflowed || other_overflowed != 0;
    if (!overflowed) {
      sum += other_sum;
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  }
  if (simt::lane_index() == 0) {
    if (lowest < 0) simt::atomic_min(reinterpret_cast<long long*>(&status[kLowestWeight]), static_cast<long long>(lowest));
    if (!overflowed) {
      const unsigned long long before = simt::atomic_add(reinterpret_cast<unsigned long long*>(&status[kWeightTotal]),
                                                         static_cast<unsigned long long>(sum));
      overflowed = before > static_cast<uint64_t>(kInt64Max) - sum;
    }
    if (overflowed) simt::atomic_exchange(reinterpret_cast<unsigned long long*>(&status[kWeightOverflow]), 1ull);
  }
}

// The slot of a label pair in a dense table. RangeCells is the op path's:
// labels are known to lie in the side ranges just measured, so a cell is
// offset arithmetic. Only used where every id is below 2^22 (dense tables),
// so cells fit 32 bits.
template <typename P, typename T>
struct RangeCells {
  using Pred = P;
  using Target = T;
  const P* pred_labels;
  P pred_min_raw;
  const T* target_labels;
  T target_min_raw;
  uint32_t num_target_ids;
  static constexpr int64_t pred_stride = 1;  // contiguous labels
  static constexpr int64_t target_stride = 1;

  // Blocks of count_shared whose registers must fit one multiprocessor: the
  // four that its 2048 threads allow (32 registers a thread), except with
  // two 64-bit sides, which would spill at 32 (three: 40 registers).
  static constexpr int kSharedBlocksPerMultiprocessor = sizeof(P) == 8 && sizeof(T) == 8 ? 3 : 4;

  CM_DEVICE uint32_t slot(P p, T t) const {
    return static_cast<uint32_t>(label_offset(p, pred_min_raw)) * num_target_ids +
           static_cast<uint32_t>(label_offset(t, target_min_raw));
  }
};

// count_into_table's: labels promised to lie in [0, K), checked per sample,
// with the last slot for those outside (common/bounded_table.h). Labels are
// read through their strides: an expanded input is never copied.
template <typename P, typename T>
struct BoundedCells {
  using Pred = P;
  using Target = T;
  const P* pred_labels;
  const T* target_labels;
  LabelKind pred_kind;
  LabelKind target_kind;
  BoundedTable table;
  int64_t pred_stride;
  int64_t target_stride;

  // The bounds checks need more registers: three blocks (40 registers), two
  // with two 64-bit sides.
  static constexpr int kSharedBlocksPerMultiprocessor = sizeof(P) == 8 && sizeof(T) == 8 ? 2 : 3;

  CM_DEVICE uint32_t slot(P p, T t) const {
    return table.slot(bounded_value(p, pred_kind), bounded_value(t, target_kind));
  }
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
  for_each_label_pair(cells.pred_labels, cells.pred_stride, cells.target_labels, cells.target_stride, n, packed,
                      [&](int64_t, P p, T t, bool valid) {
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
  });
  simt::sync_block();
  for (uint32_t slot = simt::thread_index(); slot < num_slots; slot += simt::block_size()) {
    unsigned long long count = 0;
    for (uint32_t c = 0; c < copies; ++c) count += shared_counts[c * num_slots + slot];
    if (count != 0) simt::atomic_add(&table[slot], count);
  }
}

// Tables too big for shared memory, or weighted samples: int64 atomics
// straight into the global table (it fits L2 at the dense-table limit).
template <typename Cells>
CM_KERNEL void count_global_kernel_impl(Cells cells, const int64_t* __restrict__ weights, int64_t n, bool packed,
                                        unsigned long long* table) {
  using P = typename Cells::Pred;
  using T = typename Cells::Target;
  for_each_label_pair(cells.pred_labels, cells.pred_stride, cells.target_labels, cells.target_stride, n, packed,
                      [&](int64_t i, P p, T t, bool valid) {
    if (!valid) return;
    simt::atomic_add(&table[cells.slot(p, t)],
                     weights == nullptr ? 1ull : static_cast<unsigned long long>(weights[i]));
  });
}

// bools[i] = (bytes[i] != 0): a bool tensor may hold any nonzero byte for
// True (a uint8 tensor viewed as bool), and the counting kernels read labels
// as raw bytes.
CM_KERNEL void normalize_bools_kernel(const uint8_t* __restrict__ bytes, int64_t n, uint8_t* bools) {
  for_each_index(n, [&](int64_t i) { bools[i] = bytes[i] != 0; });
}

template <typename U>
CM_KERNEL void label_offsets_kernel_impl(const U* __restrict__ labels, int64_t n, U min_raw, uint64_t* offsets) {
  for_each_index(n, [&](int64_t i) { offsets[i] = label_offset(labels[i], min_raw); });
}

// Replaces each label offset by its rank among the sorted distinct offsets.
CM_KERNEL void rank_kernel(uint64_t* ids, int64_t n, const uint64_t* __restrict__ sorted_offsets, int64_t count) {
  for_each_index(n, [&](int64_t i) {
    const uint64_t offset = ids[i];
    int64_t lo = 0, hi = count;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (sorted_offsets[mid] < offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    ids[i] = static_cast<uint64_t>(lo);
  });
}

CM_KERNEL void pair_keys_kernel(const uint64_t* __restrict__ pred_ids, const uint64_t* __restrict__ target_ids,
                                int64_t n, uint64_t num_target_ids, uint64_t* keys) {
  for_each_index(n, [&](int64_t i) { keys[i] = pred_ids[i] * num_target_ids + target_ids[i]; });
}

template <typename U>
CM_KERNEL void write_labels_kernel_impl(const uint64_t* __restrict__ cell_keys, int64_t num_cells,
                                        uint64_t num_target_ids, bool pred_side,
                                        const uint64_t* __restrict__ sorted_offsets, U min_raw, U* labels) {
  for_each_index(num_cells, [&](int64_t i) {
    const uint64_t row = cell_keys[i] / num_target_ids;
    const uint64_t id = pred_side ? row : cell_keys[i] - row * num_target_ids;
    labels[i] = label_at_offset(sorted_offsets == nullptr ? id : sorted_offsets[id], min_raw);
  });
}

// ---------------------------------------------------------------- host side

// The labels as a contiguous tensor whose bools are bytes 0 and 1.
Tensor contiguous_labels(const Tensor& labels) {
  const Tensor contiguous = torch::stable::contiguous(labels);
  if (contiguous.scalar_type() != ScalarType::Bool || contiguous.numel() == 0) return contiguous;
  Tensor normalized = torch::stable::empty_like(contiguous);
  const int64_t n = contiguous.numel();
  simt::launch("normalize_bools", normalize_bools_kernel, grid_for(n), kThreads, 0, current_stream(),
               cdata_of<uint8_t>(contiguous), n, data_of<uint8_t>(normalized));
  check_launch();
  return normalized;
}

// Labels of one side, with their key range.
struct Side {
  Tensor labels;  // contiguous
  uint64_t min_key = 0;
  uint64_t max_key = 0;

  uint64_t span() const { return max_key - min_key; }
};

// The raw bits of the label whose key is `key`, zero-extended.
uint64_t raw_bits_of_key(ScalarType dtype, uint64_t key) {
  return dispatch_label_type(dtype, [&](auto tag) -> uint64_t {
    using T = typename decltype(tag)::type;
    return static_cast<std::make_unsigned_t<StorageOf<T>>>(key_to_label<T>(key));
  });
}

void launch_key_range(const Tensor& labels, int64_t* range) {
  dispatch_label_type(labels.scalar_type(), [&](auto tag) {
    using S = StorageOf<typename decltype(tag)::type>;
    const S* data = cdata_of<S>(labels);
    const int64_t n = labels.numel();
    simt::launch("key_range", key_range_kernel_impl<S>, grid_for(n / kPack + 1), kThreads, 0, current_stream(), data,
                 n, pack_aligned<S>(data), reinterpret_cast<unsigned long long*>(range));
    check_launch();
  });
}

// Label offsets (key - min_key) of one side as a uint64 tensor.
Tensor label_offsets(const Side& side) {
  const int64_t n = side.labels.numel();
  Tensor offsets = empty_long(n, side.labels);
  const uint64_t min_raw = raw_bits_of_key(side.labels.scalar_type(), side.min_key);
  dispatch_label_width(side.labels.element_size(), [&](auto width_tag) {
    using U = decltype(width_tag);
    simt::launch("label_offsets", label_offsets_kernel_impl<U>, grid_for(n), kThreads, 0, current_stream(),
                 cdata_of<U>(side.labels), n, static_cast<U>(min_raw), u64_ptr(offsets));
    check_launch();
  });
  return offsets;
}

// Ids of one side as a uint64 tensor: offsets for a direct side; for a wide
// one, ranks among its distinct labels, found by sorting the offsets (only
// as many radix bits as the span needs) and binary search.
Tensor side_ids(const Side& side, LabelIndex& index) {
  Tensor ids = label_offsets(side);
  index.min_key = side.min_key;
  if (indexes_directly(side.span(), side.labels.numel())) {
    index.size = static_cast<int64_t>(side.span()) + 1;
    return ids;
  }
  const int64_t n = ids.numel();
  const Tensor sorted = torch::stable::empty_like(ids);
  sort_keys(u64_ptr(ids), u64_ptr(sorted), n, bit_width(side.span()), ids);
  Tensor distinct = torch::stable::empty_like(ids);
  index.size = unique(u64_ptr(sorted), u64_ptr(distinct), n, ids);
  index.sorted_offsets = torch::stable::narrow(distinct, 0, 0, index.size);
  simt::launch("rank", rank_kernel, grid_for(n), kThreads, 0, current_stream(), u64_ptr(ids), n,
               cdata_of<uint64_t>(index.sorted_offsets), index.size);
  check_launch();
  return ids;
}

// Adds every sample (times its weight, when weights is not null) to its slot
// of table, which has num_slots int64 entries.
template <typename Cells>
void count_dense_table(const Cells& cells, const int64_t* weights, int64_t n, uint32_t num_slots,
                       int64_t* table) {
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
    const int blocks_per_multiprocessor_ = blocks_per_multiprocessor(kernel, kSharedThreads, shared_bytes);
    if (blocks_per_multiprocessor_ > 0) {
      // Exactly one resident wave: every extra block would add a flush.
      const int64_t resident = int64_t{multiprocessor_count()} * blocks_per_multiprocessor_;
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

// The positive entries of values (keys[i], or i when keys is null) as cells.
void keep_positive(const uint64_t* keys, const Tensor& values, PairCells& cells) {
  const int64_t m = values.numel();
  Tensor kept_keys = empty_long(m, values);
  Tensor kept_counts = empty_long(m, values);
  const int64_t kept = select_positive(keys, cdata_of<int64_t>(values), m, u64_ptr(kept_keys),
                                       data_of<int64_t>(kept_counts), values);
  cells.keys = torch::stable::narrow(kept_keys, 0, 0, kept);
  cells.counts = torch::stable::narrow(kept_counts, 0, 0, kept);
}

// Counts by radix-sorting one 64-bit pair key per sample (only the bits the
// cell count needs), then encoding the runs.
void count_sorted(const Tensor& pred_ids, const Tensor& target_ids, const Tensor& weights, bool weighted,
                  uint64_t num_target_ids, uint64_t num_cells, PairCells& cells) {
  const int64_t n = pred_ids.numel();
  const Tensor keys = empty_long(n, pred_ids);
  simt::launch("pair_keys", pair_keys_kernel, grid_for(n), kThreads, 0, current_stream(), cdata_of<uint64_t>(pred_ids),
               cdata_of<uint64_t>(target_ids), n, num_target_ids, u64_ptr(keys));
  check_launch();
  const Tensor sorted_keys = torch::stable::empty_like(keys);
  Tensor run_keys = torch::stable::empty_like(keys);
  Tensor run_counts = torch::stable::empty_like(keys);
  const int end_bit = bit_width(num_cells - 1);
  if (!weighted) {
    sort_keys(u64_ptr(keys), u64_ptr(sorted_keys), n, end_bit, keys);
    const int64_t runs = run_length_encode(u64_ptr(sorted_keys), u64_ptr(run_keys), data_of<int64_t>(run_counts), n, keys);
    cells.keys = torch::stable::narrow(run_keys, 0, 0, runs);
    cells.counts = torch::stable::narrow(run_counts, 0, 0, runs);
    return;
  }
  const Tensor sorted_weights = torch::stable::empty_like(keys);
  sort_pairs(u64_ptr(keys), u64_ptr(sorted_keys), cdata_of<int64_t>(weights), data_of<int64_t>(sorted_weights), n,
             end_bit, keys);
  const int64_t runs = reduce_by_key(u64_ptr(sorted_keys), cdata_of<int64_t>(sorted_weights), u64_ptr(run_keys),
                                     data_of<int64_t>(run_counts), n, keys);
  // Runs made only of zero-weight samples are not cells.
  keep_positive(u64_ptr(run_keys), torch::stable::narrow(run_counts, 0, 0, runs), cells);
}

}  // namespace

Tensor nonzero_entries(const Tensor& values) {
  PairCells kept;
  keep_positive(nullptr, values, kept);
  return kept.counts;
}

PairCells count_pair_cells(const Tensor& preds_in, const Tensor& target_in, const std::optional<Tensor>& weights_in) {
  const Tensor preds = contiguous_labels(preds_in);
  const Tensor target = contiguous_labels(target_in);
  const int64_t n = preds.numel();
  const Stream stream = current_stream();
  PairCells cells;
  cells.keys = empty_long(0, preds);
  cells.counts = empty_long(0, preds);
  if (n == 0) return cells;

  Tensor weights;
  const bool weighted = weights_in.has_value();
  if (weighted) weights = torch::stable::contiguous(*weights_in);
  const Tensor status = empty_long(kStatusSlots, preds);
  int64_t* status_ptr = data_of<int64_t>(status);
  simt::launch("init_status", init_status_kernel, 1, 1, 0, stream, status_ptr);
  check_launch();
  launch_key_range(preds, status_ptr + kPredMinKey);
  launch_key_range(target, status_ptr + kTargetMinKey);
  if (weighted) {
    simt::launch("weight_summary", weight_summary_kernel, grid_for(n), kThreads, 0, stream, cdata_of<int64_t>(weights),
                 n, status_ptr);
    check_launch();
  }
  int64_t host[kStatusSlots];
  copy_to_host(host, status_ptr, sizeof(host));
  if (weighted) {
    check_weight_summary(host[kLowestWeight], host[kWeightOverflow] != 0);
    cells.total = host[kWeightTotal];
  } else {
    cells.total = n;
  }
  if (cells.total == 0) return cells;
  const int64_t* weight_ptr = weighted ? cdata_of<int64_t>(weights) : nullptr;

  const Side pred{preds, static_cast<uint64_t>(host[kPredMinKey]), static_cast<uint64_t>(host[kPredMaxKey])};
  const Side targ{target, static_cast<uint64_t>(host[kTargetMinKey]), static_cast<uint64_t>(host[kTargetMaxKey])};
  if (indexes_directly(pred.span(), n) && indexes_directly(targ.span(), n)) {
    cells.pred_index = {pred.min_key, static_cast<int64_t>(pred.span()) + 1, {}};
    cells.target_index = {targ.min_key, static_cast<int64_t>(targ.span()) + 1, {}};
    const uint64_t num_cells = static_cast<uint64_t>(cells.pred_index.size) * cells.target_index.size;
    if (counts_in_dense_table(num_cells, n)) {
      // Fast path: one pass over the raw labels into a dense table.
      const Tensor table = zeros_long(static_cast<int64_t>(num_cells), preds);
      const uint64_t pred_min_raw = raw_bits_of_key(preds.scalar_type(), pred.min_key);
      const uint64_t target_min_raw = raw_bits_of_key(target.scalar_type(), targ.min_key);
      dispatch_label_width(preds.element_size(), [&](auto pred_tag) {
        using P = decltype(pred_tag);
        dispatch_label_width(target.element_size(), [&](auto target_tag) {
          using T = decltype(target_tag);
          const RangeCells<P, T> range_cells{cdata_of<P>(preds), static_cast<P>(pred_min_raw), cdata_of<T>(target),
                                             static_cast<T>(target_min_raw),
                                             static_cast<uint32_t>(cells.target_index.size)};
          count_dense_table(range_cells, weight_ptr, n, static_cast<uint32_t>(num_cells), data_of<int64_t>(table));
        });
      });
      keep_positive(nullptr, table, cells);
      return cells;
    }
  }
  const Tensor pred_ids = side_ids(pred, cells.pred_index);
  const Tensor target_ids = side_ids(targ, cells.target_index);
  const uint64_t num_target_ids = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(static_cast<uint64_t>(cells.pred_index.size), num_target_ids);
  if (counts_in_dense_table(num_cells, n)) {
    const Tensor table = zeros_long(static_cast<int64_t>(num_cells), preds);
    const RangeCells<uint64_t, uint64_t> id_cells{cdata_of<uint64_t>(pred_ids), 0, cdata_of<uint64_t>(target_ids), 0,
                                                  static_cast<uint32_t>(num_target_ids)};
    count_dense_table(id_cells, weight_ptr, n, static_cast<uint32_t>(num_cells), data_of<int64_t>(table));
    keep_positive(nullptr, table, cells);
  } else {
    count_sorted(pred_ids, target_ids, weights, weighted, num_target_ids, num_cells, cells);
  }
  return cells;
}

void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded) {
  // No normalisation of bools: bounded_value reads any nonzero byte as 1.
  const int64_t n = preds.numel();
  if (n == 0) return;
  const LabelKind pred_kind = label_kind(preds.scalar_type());
  const LabelKind target_kind = label_kind(target.scalar_type());
  dispatch_label_width(preds.element_size(), [&](auto pred_tag) {
    using P = decltype(pred_tag);
    dispatch_label_width(target.element_size(), [&](auto target_tag) {
      using T = decltype(target_tag);
      const BoundedCells<P, T> bounded_cells{cdata_of<P>(preds), cdata_of<T>(target), pred_kind, target_kind, bounded,
                                             preds.stride(0), target.stride(0)};
      count_dense_table(bounded_cells, nullptr, n, bounded.num_slots(), data_of<int64_t>(table));
    });
  });
}

std::tuple<Tensor, Tensor, Tensor> histogram_of(const PairCells& cells, ScalarType pred_dtype,
                                                ScalarType target_dtype) {
  const int64_t num_cells = cells.keys.numel();
  const uint64_t num_target_ids = static_cast<uint64_t>(cells.target_index.size);
  Tensor pred_labels = empty_on(cells.keys, num_cells, pred_dtype);
  Tensor target_labels = empty_on(cells.keys, num_cells, target_dtype);
  // The counts sized to the cells: the cells may be a view of a larger buffer.
  Tensor counts = empty_long(num_cells, cells.keys);
  if (num_cells == 0) return {pred_labels, target_labels, counts};
  copy_on_device(counts.mutable_data_ptr(), cells.counts.const_data_ptr(), num_cells * sizeof(int64_t));
  const auto write_side = [&](const LabelIndex& index, bool pred_side, Tensor& labels) {
    const uint64_t min_raw = raw_bits_of_key(labels.scalar_type(), index.min_key);
    dispatch_label_width(labels.element_size(), [&](auto width_tag) {
      using U = decltype(width_tag);
      simt::launch("write_labels", write_labels_kernel_impl<U>, grid_for(num_cells), kThreads, 0, current_stream(),
                   cdata_of<uint64_t>(cells.keys), num_cells, num_target_ids, pred_side,
                   index.direct() ? nullptr : cdata_of<uint64_t>(index.sorted_offsets), static_cast<U>(min_raw),
                   data_of<U>(labels));
      check_launch();
    });
  };
  write_side(cells.pred_index, /*pred_side=*/true, pred_labels);
  write_side(cells.target_index, /*pred_side=*/false, target_labels);
  return {pred_labels, target_labels, counts};
}

}  // namespace clustering_metrics::cuda
