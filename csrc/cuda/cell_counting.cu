// Counting the non-empty cells of a contingency table on the GPU.
//
// Only two kinds of kernel read the raw labels: the per-side key range
// (templated on the label dtype) and the dense counting kernels, templated
// on the label *width* alone (offsets are exact in the label's own width,
// see label_offset), so 16 small instantiations cover all 81 dtype pairs.
// Everything after that works on uint64 ids and keys and exists once.
#include "pipeline.cuh"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <limits>
#include <type_traits>

#include "../common/checks.h"
#include "../common/dispatch.h"
#include "../common/counting_plan.h"
#include "../common/labels.h"
#include "cuda_utils.cuh"

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

__global__ void init_status_kernel(int64_t* status) {
  status[kPredMinKey] = -1;  // all ones: the largest uint64 key
  status[kPredMaxKey] = 0;
  status[kTargetMinKey] = -1;
  status[kTargetMaxKey] = 0;
  status[kLowestWeight] = 0;
  status[kWeightTotal] = 0;
  status[kWeightOverflow] = 0;
}

// range[0] = min key, range[1] = max key, combined by integer atomics.
template <typename S>
__global__ void key_range_kernel_impl(const S* __restrict__ labels, int64_t n, bool packed,
                                      unsigned long long* range) {
  S lowest = labels[0], highest = labels[0];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t num_packs = packed ? n / kPack : 0;
  for (int64_t p = start; p < num_packs; p += stride) {
    const Pack<S> pack = reinterpret_cast<const Pack<S>*>(labels)[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) {
      lowest = pack.v[k] < lowest ? pack.v[k] : lowest;
      highest = pack.v[k] > highest ? pack.v[k] : highest;
    }
  }
  for (int64_t i = num_packs * kPack + start; i < n; i += stride) {
    lowest = labels[i] < lowest ? labels[i] : lowest;
    highest = labels[i] > highest ? labels[i] : highest;
  }
  // Keys preserve label order, so the extreme labels give the extreme keys.
  unsigned long long low_key = label_to_key(lowest), high_key = label_to_key(highest);
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const unsigned long long other_low = __shfl_xor_sync(0xffffffffu, low_key, offset);
    const unsigned long long other_high = __shfl_xor_sync(0xffffffffu, high_key, offset);
    low_key = other_low < low_key ? other_low : low_key;
    high_key = other_high > high_key ? other_high : high_key;
  }
  if (threadIdx.x % kWarp == 0) {
    atomicMin(&range[0], low_key);
    atomicMax(&range[1], high_key);
  }
}

// Lowest weight and the weight total with an overflow flag. A running sum is
// at most 2^63 - 1 until it is flagged, so adding one more weight (also at
// most 2^63 - 1) cannot wrap unnoticed.
__global__ void weight_summary_kernel(const int64_t* __restrict__ weights, int64_t n, int64_t* status) {
  int64_t lowest = 0;
  uint64_t sum = 0;
  bool overflowed = false;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t w = weights[i];
    lowest = w < lowest ? w : lowest;
    if (w > 0 && !overflowed) {
      sum += static_cast<uint64_t>(w);
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const long long other_lowest = __shfl_xor_sync(0xffffffffu, static_cast<long long>(lowest), offset);
    const unsigned long long other_sum = __shfl_xor_sync(0xffffffffu, static_cast<unsigned long long>(sum), offset);
    const int other_overflowed = __shfl_xor_sync(0xffffffffu, static_cast<int>(overflowed), offset);
    lowest = other_lowest < lowest ? other_lowest : lowest;
    overflowed = overflowed || other_overflowed != 0;
    if (!overflowed) {
      sum += other_sum;
      overflowed = sum > static_cast<uint64_t>(kInt64Max);
    }
  }
  if (threadIdx.x % kWarp == 0) {
    if (lowest < 0) atomicMin(reinterpret_cast<long long*>(&status[kLowestWeight]), static_cast<long long>(lowest));
    if (!overflowed) {
      const unsigned long long before =
          atomicAdd(reinterpret_cast<unsigned long long*>(&status[kWeightTotal]), static_cast<unsigned long long>(sum));
      overflowed = before > static_cast<uint64_t>(kInt64Max) - sum;
    }
    if (overflowed) atomicExch(reinterpret_cast<unsigned long long*>(&status[kWeightOverflow]), 1ull);
  }
}

// Dense ids of one side read straight from its labels. Only used where every
// id is below 2^22 (dense tables), so cells fit 32 bits.
template <typename U>
struct SideView {
  const U* labels;
  U min_raw;

  __device__ __forceinline__ uint32_t id(U raw) const { return static_cast<uint32_t>(label_offset(raw, min_raw)); }
};

// Histogram privatised in shared memory: each warp counts into one of
// `copies` sub-histograms of 32-bit counters (a block sees at most 2^32 - 1
// samples), which are summed and added to the global int64 table at the end.
template <typename P, typename T>
__global__ void __launch_bounds__(kSharedThreads)
    count_shared_kernel_impl(SideView<P> pred, SideView<T> target, int64_t n, bool packed, uint32_t num_target_ids,
                             uint32_t num_cells, uint32_t copies, bool aggregate, unsigned long long* table) {
  extern __shared__ uint32_t shared_counts[];
  for (uint32_t c = threadIdx.x; c < copies * num_cells; c += blockDim.x) shared_counts[c] = 0;
  __syncthreads();
  uint32_t* warp_counts = shared_counts + (threadIdx.x / kWarp) % copies * num_cells;
  const unsigned lane = threadIdx.x % kWarp;
  for_each_label_pair(pred.labels, target.labels, n, packed, [&](int64_t, P p, T t, bool valid) {
    const uint32_t cell = pred.id(p) * num_target_ids + target.id(t);
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
    if (aggregate) {
      // No valid cell is all ones (tables have at most 2^22 cells), so
      // lanes past the end group only among themselves.
      const unsigned peers = __match_any_sync(0xffffffffu, valid ? cell : 0xffffffffu);
      if (valid && lane == static_cast<unsigned>(__ffs(peers) - 1)) atomicAdd(&warp_counts[cell], __popc(peers));
      return;
    }
#endif
    if (valid) atomicAdd(&warp_counts[cell], 1u);
  });
  __syncthreads();
  for (uint32_t cell = threadIdx.x; cell < num_cells; cell += blockDim.x) {
    unsigned long long count = 0;
    for (uint32_t c = 0; c < copies; ++c) count += shared_counts[c * num_cells + cell];
    if (count != 0) atomicAdd(&table[cell], count);
  }
}

// Tables too big for shared memory, or weighted samples: int64 atomics
// straight into the global table (it fits L2 at the dense-table limit).
template <typename P, typename T>
__global__ void count_global_kernel_impl(SideView<P> pred, SideView<T> target, const int64_t* __restrict__ weights,
                                         int64_t n, bool packed, uint32_t num_target_ids, unsigned long long* table) {
  for_each_label_pair(pred.labels, target.labels, n, packed, [&](int64_t i, P p, T t, bool valid) {
    if (!valid) return;
    const uint32_t cell = pred.id(p) * num_target_ids + target.id(t);
    atomicAdd(&table[cell], weights == nullptr ? 1ull : static_cast<unsigned long long>(weights[i]));
  });
}

// bools[i] = (bytes[i] != 0): a bool tensor may hold any nonzero byte for
// True (a uint8 tensor viewed as bool), and the counting kernels read labels
// as raw bytes.
__global__ void normalize_bools_kernel(const uint8_t* __restrict__ bytes, int64_t n, uint8_t* bools) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    bools[i] = bytes[i] != 0;
  }
}

template <typename U>
__global__ void label_offsets_kernel_impl(const U* __restrict__ labels, int64_t n, U min_raw, uint64_t* offsets) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    offsets[i] = label_offset(labels[i], min_raw);
  }
}

// Replaces each label offset by the rank of its key among the sorted keys.
__global__ void rank_kernel(uint64_t* ids, int64_t n, const uint64_t* __restrict__ sorted_keys, int64_t num_keys,
                            uint64_t min_key) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint64_t key = ids[i] + min_key;
    int64_t lo = 0, hi = num_keys;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (sorted_keys[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    ids[i] = static_cast<uint64_t>(lo);
  }
}

__global__ void pair_keys_kernel(const uint64_t* __restrict__ pred_ids, const uint64_t* __restrict__ target_ids,
                                 int64_t n, uint64_t num_target_ids, uint64_t* keys) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    keys[i] = pred_ids[i] * num_target_ids + target_ids[i];
  }
}

// heads[i] = 1 where a run of equal sorted keys starts; heads[n] = 0 so an
// exclusive scan of n + 1 entries ends with the number of runs.
__global__ void run_heads_kernel(const uint64_t* __restrict__ sorted, int64_t n, int64_t* heads) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i <= n; i += stride) {
    heads[i] = i < n && (i == 0 || sorted[i] != sorted[i - 1]);
  }
}

// Run r gets key sorted[start] + key_bias and its start index; starts gets a
// final entry n so every run's length is starts[r + 1] - starts[r].
__global__ void scatter_runs_kernel(const uint64_t* __restrict__ sorted, int64_t n, const int64_t* __restrict__ heads,
                                    const int64_t* __restrict__ positions, uint64_t key_bias, uint64_t* run_keys,
                                    int64_t* starts) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i <= n; i += stride) {
    if (i == n) {
      starts[positions[n]] = n;
    } else if (heads[i] != 0) {
      run_keys[positions[i]] = sorted[i] + key_bias;
      starts[positions[i]] = i;
    }
  }
}

// A run's count is its length, or its weight total read off an exclusive
// prefix sum of the sorted weights.
__global__ void run_counts_kernel(const int64_t* __restrict__ starts, int64_t num_runs,
                                  const int64_t* __restrict__ weight_prefix, int64_t* counts) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < num_runs; r += stride) {
    counts[r] = weight_prefix == nullptr ? starts[r + 1] - starts[r]
                                         : weight_prefix[starts[r + 1]] - weight_prefix[starts[r]];
  }
}

// flags[i] = counts[i] > 0, with flags[m] = 0 as for run heads.
__global__ void positive_flags_kernel(const int64_t* __restrict__ counts, int64_t m, int64_t* flags) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i <= m; i += stride) {
    flags[i] = i < m && counts[i] > 0;
  }
}

// Keeps the entries with a positive count; a null `keys` means key = index.
__global__ void scatter_positive_kernel(const uint64_t* __restrict__ keys, const int64_t* __restrict__ counts,
                                        int64_t m, const int64_t* __restrict__ flags,
                                        const int64_t* __restrict__ positions, uint64_t* out_keys,
                                        int64_t* out_counts) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < m; i += stride) {
    if (flags[i] != 0) {
      out_keys[positions[i]] = keys == nullptr ? static_cast<uint64_t>(i) : keys[i];
      out_counts[positions[i]] = counts[i];
    }
  }
}

template <typename U>
__global__ void write_labels_kernel_impl(const uint64_t* __restrict__ cell_keys, int64_t num_cells,
                                         uint64_t num_target_ids, bool pred_side,
                                         const uint64_t* __restrict__ sorted_keys, uint64_t min_key, U min_raw,
                                         U* labels) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < num_cells; i += stride) {
    const uint64_t row = cell_keys[i] / num_target_ids;
    const uint64_t id = pred_side ? row : cell_keys[i] - row * num_target_ids;
    const uint64_t offset = sorted_keys == nullptr ? id : sorted_keys[id] - min_key;
    labels[i] = label_at_offset(offset, min_raw);
  }
}

// ---------------------------------------------------------------- host side

template <typename F>
void dispatch_width(int64_t bytes, F&& body) {
  switch (bytes) {
    case 1: return body(uint8_t{});
    case 2: return body(uint16_t{});
    case 4: return body(uint32_t{});
    case 8: return body(uint64_t{});
  }
  CM_CHECK(false, "clustering_metrics: unsupported label width of ", bytes, " bytes.");
}

// The labels as a contiguous tensor whose bools are bytes 0 and 1.
Tensor contiguous_labels(const Tensor& labels) {
  const Tensor contiguous = torch::stable::contiguous(labels);
  if (contiguous.scalar_type() != ScalarType::Bool || contiguous.numel() == 0) return contiguous;
  Tensor normalized = torch::stable::empty_like(contiguous);
  const int64_t n = contiguous.numel();
  normalize_bools_kernel<<<grid_for(n), kThreads, 0, current_stream()>>>(
      static_cast<const uint8_t*>(contiguous.const_data_ptr()), n, data_of<uint8_t>(normalized));
  CM_CUDA_LAUNCH_CHECK();
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
    key_range_kernel_impl<S><<<grid_for(n / kPack + 1), kThreads, 0, current_stream()>>>(
        data, n, pack_aligned<S>(data), reinterpret_cast<unsigned long long*>(range));
    CM_CUDA_LAUNCH_CHECK();
  });
}

void exclusive_sum(const int64_t* in, int64_t* out, int64_t count, const Tensor& like) {
  run_cub(like, [&](void* temp, size_t& bytes) {
    return cub::DeviceScan::ExclusiveSum(temp, bytes, in, out, count, current_stream());
  });
}

struct Runs {
  Tensor keys;    // uint64 in int64 storage
  Tensor counts;  // int64; undefined unless asked for
};

// Collapses n sorted keys into their distinct values (plus key_bias) and,
// when with_counts, each value's count: its multiplicity, or its weight total
// when sorted_weights (n + 1 entries, the last zero) is given.
Runs collapse_runs(const Tensor& sorted, int64_t n, const int64_t* sorted_weights, uint64_t key_bias,
                   bool with_counts) {
  const cudaStream_t stream = current_stream();
  const Tensor heads = empty_long(n + 1, sorted);
  const Tensor positions = empty_long(n + 1, sorted);
  run_heads_kernel<<<grid_for(n + 1), kThreads, 0, stream>>>(u64_ptr(sorted), n, data_of<int64_t>(heads));
  CM_CUDA_LAUNCH_CHECK();
  exclusive_sum(data_of<int64_t>(heads), data_of<int64_t>(positions), n + 1, sorted);
  const int64_t num_runs = read_back(positions, n);

  Runs runs;
  runs.keys = empty_long(num_runs, sorted);
  const Tensor starts = empty_long(num_runs + 1, sorted);
  scatter_runs_kernel<<<grid_for(n + 1), kThreads, 0, stream>>>(u64_ptr(sorted), n, data_of<int64_t>(heads),
                                                               data_of<int64_t>(positions), key_bias,
                                                               u64_ptr(runs.keys), data_of<int64_t>(starts));
  CM_CUDA_LAUNCH_CHECK();
  if (!with_counts) return runs;

  Tensor weight_prefix;
  if (sorted_weights != nullptr) {
    weight_prefix = empty_long(n + 1, sorted);
    exclusive_sum(sorted_weights, data_of<int64_t>(weight_prefix), n + 1, sorted);
  }
  runs.counts = empty_long(num_runs, sorted);
  run_counts_kernel<<<grid_for(num_runs), kThreads, 0, stream>>>(
      data_of<int64_t>(starts), num_runs,
      weight_prefix.defined() ? cdata_of<int64_t>(weight_prefix) : nullptr, data_of<int64_t>(runs.counts));
  CM_CUDA_LAUNCH_CHECK();
  return runs;
}

// The entries of (keys, counts) with a positive count, in order; a null
// `keys` stands for keys 0 .. m - 1 (a dense table).
Runs compact_positive(const uint64_t* keys, const Tensor& counts) {
  const cudaStream_t stream = current_stream();
  const int64_t m = counts.numel();
  const Tensor flags = empty_long(m + 1, counts);
  const Tensor positions = empty_long(m + 1, counts);
  positive_flags_kernel<<<grid_for(m + 1), kThreads, 0, stream>>>(cdata_of<int64_t>(counts), m,
                                                                  data_of<int64_t>(flags));
  CM_CUDA_LAUNCH_CHECK();
  exclusive_sum(data_of<int64_t>(flags), data_of<int64_t>(positions), m + 1, counts);
  const int64_t num_positive = read_back(positions, m);

  Runs kept;
  kept.keys = empty_long(num_positive, counts);
  kept.counts = empty_long(num_positive, counts);
  scatter_positive_kernel<<<grid_for(m), kThreads, 0, stream>>>(
      keys, cdata_of<int64_t>(counts), m, data_of<int64_t>(flags), data_of<int64_t>(positions),
      u64_ptr(kept.keys), data_of<int64_t>(kept.counts));
  CM_CUDA_LAUNCH_CHECK();
  return kept;
}

// Label offsets (key - min_key) of one side as a uint64 tensor.
Tensor label_offsets(const Side& side) {
  const int64_t n = side.labels.numel();
  Tensor offsets = empty_long(n, side.labels);
  const uint64_t min_raw = raw_bits_of_key(side.labels.scalar_type(), side.min_key);
  dispatch_width(side.labels.element_size(), [&](auto width_tag) {
    using U = decltype(width_tag);
    label_offsets_kernel_impl<U><<<grid_for(n), kThreads, 0, current_stream()>>>(
        cdata_of<U>(side.labels), n, static_cast<U>(min_raw), u64_ptr(offsets));
    CM_CUDA_LAUNCH_CHECK();
  });
  return offsets;
}

// Ids of one side as a uint64 tensor: offsets for a direct side; for a wide
// one, ranks among its distinct labels, found by sorting the offsets
// (only as many radix bits as the span needs) and binary search.
Tensor side_ids(const Side& side, LabelIndex& index) {
  Tensor ids = label_offsets(side);
  index.min_key = side.min_key;
  if (indexes_directly(side.span(), side.labels.numel())) {
    index.size = static_cast<int64_t>(side.span()) + 1;
    return ids;
  }
  const int64_t n = ids.numel();
  const Tensor sorted = torch::stable::empty_like(ids);
  run_cub(ids, [&](void* temp, size_t& bytes) {
    return cub::DeviceRadixSort::SortKeys(temp, bytes, u64_ptr(ids), u64_ptr(sorted), n, 0, bit_width(side.span()),
                                          current_stream());
  });
  index.sorted_keys = collapse_runs(sorted, n, nullptr, side.min_key, /*with_counts=*/false).keys;
  index.size = index.sorted_keys.numel();
  rank_kernel<<<grid_for(n), kThreads, 0, current_stream()>>>(u64_ptr(ids), n, u64_ptr(index.sorted_keys),
                                                             index.size, side.min_key);
  CM_CUDA_LAUNCH_CHECK();
  return ids;
}

template <typename P, typename T>
void count_dense_table(SideView<P> pred, SideView<T> target, const int64_t* weights, int64_t n,
                       uint32_t num_target_ids, uint32_t num_cells, const Tensor& table) {
  const cudaStream_t stream = current_stream();
  auto* table_ptr = reinterpret_cast<unsigned long long*>(data_of<int64_t>(table));
  const bool packed = pack_aligned<P>(pred.labels) && pack_aligned<T>(target.labels);
  const int64_t lanes_of_work = packed ? n / kPack + kPack : n;
  const int64_t counter_bytes = int64_t{num_cells} * static_cast<int64_t>(sizeof(uint32_t));
  const int64_t shared_limit = device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin);
  if (weights == nullptr && n <= int64_t{std::numeric_limits<uint32_t>::max()} && counter_bytes <= shared_limit) {
    // Extra sub-histograms spread warps over more banks; they may use half
    // the shared memory so that two blocks still fit a multiprocessor.
    const int64_t copies =
        std::max<int64_t>(1, std::min<int64_t>(kSharedThreads / kWarp, shared_limit / 2 / counter_bytes));
    const size_t shared_bytes = static_cast<size_t>(copies * counter_bytes);
    auto* kernel = &count_shared_kernel_impl<P, T>;
    // Always the device maximum: the attribute is process-wide, and a smaller
    // value set here could race with another thread's larger launch.
    CM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(shared_limit)));
    int blocks_per_multiprocessor = 0;
    CM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_multiprocessor, kernel, kSharedThreads,
                                                                 shared_bytes));
    if (blocks_per_multiprocessor > 0) {
      // Exactly one resident wave: every extra block would add a flush.
      const int64_t resident = int64_t{multiprocessor_count()} * blocks_per_multiprocessor;
      const int64_t wanted = (lanes_of_work + kSharedThreads - 1) / kSharedThreads;
      const auto blocks = static_cast<unsigned int>(std::max<int64_t>(1, std::min(resident, wanted)));
      kernel<<<blocks, kSharedThreads, shared_bytes, stream>>>(pred, target, n, packed, num_target_ids, num_cells,
                                                               static_cast<uint32_t>(copies),
                                                               num_cells < kAggregateBelowCells, table_ptr);
      CM_CUDA_LAUNCH_CHECK();
      return;
    }
  }
  count_global_kernel_impl<P, T><<<grid_for(lanes_of_work), kThreads, 0, stream>>>(
      pred, target, weights, n, packed, num_target_ids, table_ptr);
  CM_CUDA_LAUNCH_CHECK();
}

// Counts by radix-sorting one 64-bit pair key per sample (only the bits the
// cell count needs), then collapsing runs.
void count_sorted(const Tensor& pred_ids, const Tensor& target_ids, const Tensor& weights,
                  uint64_t num_target_ids, uint64_t num_cells, PairCells& cells) {
  const cudaStream_t stream = current_stream();
  const int64_t n = pred_ids.numel();
  const Tensor keys = empty_long(n, pred_ids);
  pair_keys_kernel<<<grid_for(n), kThreads, 0, stream>>>(u64_ptr(pred_ids), u64_ptr(target_ids), n, num_target_ids,
                                                         u64_ptr(keys));
  CM_CUDA_LAUNCH_CHECK();
  const Tensor sorted_keys = torch::stable::empty_like(keys);
  const int end_bit = bit_width(num_cells - 1);
  if (!weights.defined()) {
    run_cub(keys, [&](void* temp, size_t& bytes) {
      return cub::DeviceRadixSort::SortKeys(temp, bytes, u64_ptr(keys), u64_ptr(sorted_keys), n, 0, end_bit, stream);
    });
    const Runs runs = collapse_runs(sorted_keys, n, nullptr, 0, /*with_counts=*/true);
    cells.keys = runs.keys;
    cells.counts = runs.counts;
    return;
  }
  // The extra zero at the end lets one exclusive scan give every run's total.
  const Tensor sorted_weights = empty_long(n + 1, keys);
  CM_CUDA_CHECK(cudaMemsetAsync(data_of<int64_t>(sorted_weights) + n, 0, sizeof(int64_t), stream));
  run_cub(keys, [&](void* temp, size_t& bytes) {
    return cub::DeviceRadixSort::SortPairs(temp, bytes, u64_ptr(keys), u64_ptr(sorted_keys),
                                           cdata_of<int64_t>(weights), data_of<int64_t>(sorted_weights), n,
                                           0, end_bit, stream);
  });
  const Runs runs = collapse_runs(sorted_keys, n, cdata_of<int64_t>(sorted_weights), 0, /*with_counts=*/true);
  // Runs made only of zero-weight samples are not cells.
  const Runs positive = compact_positive(u64_ptr(runs.keys), runs.counts);
  cells.keys = positive.keys;
  cells.counts = positive.counts;
}

void count_dense_cells(const Tensor& table, PairCells& cells) {
  const Runs positive = compact_positive(nullptr, table);
  cells.keys = positive.keys;
  cells.counts = positive.counts;
}

}  // namespace

Tensor nonzero_entries(const Tensor& values) { return compact_positive(nullptr, values).counts; }

PairCells count_pair_cells(const Tensor& preds_in, const Tensor& target_in,
                           const std::optional<Tensor>& weights_in) {
  const Tensor preds = contiguous_labels(preds_in);
  const Tensor target = contiguous_labels(target_in);
  const int64_t n = preds.numel();
  const cudaStream_t stream = current_stream();
  PairCells cells;
  cells.keys = empty_long(0, preds);
  cells.counts = empty_long(0, preds);
  if (n == 0) return cells;

  Tensor weights;
  const bool weighted = weights_in.has_value();
  if (weighted) weights = torch::stable::contiguous(*weights_in);
  const Tensor status = empty_long(kStatusSlots, preds);
  int64_t* status_ptr = data_of<int64_t>(status);
  init_status_kernel<<<1, 1, 0, stream>>>(status_ptr);
  CM_CUDA_LAUNCH_CHECK();
  launch_key_range(preds, status_ptr + kPredMinKey);
  launch_key_range(target, status_ptr + kTargetMinKey);
  if (weighted) {
    weight_summary_kernel<<<grid_for(n), kThreads, 0, stream>>>(cdata_of<int64_t>(weights), n, status_ptr);
    CM_CUDA_LAUNCH_CHECK();
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
      dispatch_width(preds.element_size(), [&](auto pred_tag) {
        using P = decltype(pred_tag);
        dispatch_width(target.element_size(), [&](auto target_tag) {
          using T = decltype(target_tag);
          count_dense_table(SideView<P>{cdata_of<P>(preds), static_cast<P>(pred_min_raw)},
                            SideView<T>{cdata_of<T>(target), static_cast<T>(target_min_raw)},
                            weights.defined() ? cdata_of<int64_t>(weights) : nullptr, n,
                            static_cast<uint32_t>(cells.target_index.size), static_cast<uint32_t>(num_cells), table);
        });
      });
      count_dense_cells(table, cells);
      return cells;
    }
  }
  const Tensor pred_ids = side_ids(pred, cells.pred_index);
  const Tensor target_ids = side_ids(targ, cells.target_index);
  const uint64_t num_target_ids = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(static_cast<uint64_t>(cells.pred_index.size), num_target_ids);
  if (counts_in_dense_table(num_cells, n)) {
    const Tensor table = zeros_long(static_cast<int64_t>(num_cells), preds);
    count_dense_table(SideView<uint64_t>{u64_ptr(pred_ids), 0}, SideView<uint64_t>{u64_ptr(target_ids), 0},
                      weights.defined() ? cdata_of<int64_t>(weights) : nullptr, n,
                      static_cast<uint32_t>(num_target_ids), static_cast<uint32_t>(num_cells), table);
    count_dense_cells(table, cells);
  } else {
    count_sorted(pred_ids, target_ids, weights, num_target_ids, num_cells, cells);
  }
  return cells;
}

std::tuple<Tensor, Tensor, Tensor> histogram_of(const PairCells& cells, ScalarType pred_dtype,
                                                           ScalarType target_dtype) {
  const int64_t num_cells = cells.keys.numel();
  const uint64_t num_target_ids = static_cast<uint64_t>(cells.target_index.size);
  Tensor pred_labels = empty_on(cells.keys, num_cells, pred_dtype);
  Tensor target_labels = empty_on(cells.keys, num_cells, target_dtype);
  if (num_cells == 0) return {pred_labels, target_labels, cells.counts};
  const auto write_side = [&](const LabelIndex& index, bool pred_side, Tensor& labels) {
    const uint64_t min_raw = raw_bits_of_key(labels.scalar_type(), index.min_key);
    dispatch_width(labels.element_size(), [&](auto width_tag) {
      using U = decltype(width_tag);
      write_labels_kernel_impl<U><<<grid_for(num_cells), kThreads, 0, current_stream()>>>(
          u64_ptr(cells.keys), num_cells, num_target_ids, pred_side,
          index.direct() ? nullptr : u64_ptr(index.sorted_keys), index.min_key, static_cast<U>(min_raw),
          data_of<U>(labels));
      CM_CUDA_LAUNCH_CHECK();
    });
  };
  write_side(cells.pred_index, /*pred_side=*/true, pred_labels);
  write_side(cells.target_index, /*pred_side=*/false, target_labels);
  return {pred_labels, target_labels, cells.counts};
}

}  // namespace clustering_metrics::cuda
