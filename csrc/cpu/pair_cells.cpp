#include "pair_cells.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../common/checks.h"
#include "../common/dispatch.h"
#include "../common/mi_math.h"
#include "entropy_form.h"

namespace clustering_metrics::cpu {
namespace {

constexpr int64_t kMinChunk = 1 << 15;

// The entropy form of the MI reduction is kept when its worst-case error is
// at most this fraction of the MI.
constexpr double kEntropyFormRelativeTolerance = 1e-13;

uint64_t* key_ptr(const at::Tensor& t) { return reinterpret_cast<uint64_t*>(t.data_ptr<int64_t>()); }

// Scratch for one or two words per sample. Asking for transparent huge pages
// before first touch saves the page faults of a fresh 4 KiB-page mapping,
// about a tenth of the time of the sort path.
at::Tensor sample_scratch(at::IntArrayRef sizes) {
  at::Tensor t = at::empty(sizes, at::kLong);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t end = begin + t.nbytes();
  const uintptr_t aligned_begin = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t aligned_end = end & ~(kHugePage - 1);
  if (aligned_end > aligned_begin) {
    madvise(reinterpret_cast<void*>(aligned_begin), aligned_end - aligned_begin, MADV_HUGEPAGE);
  }
#endif
  return t;
}

// Chunk boundaries depend only on n and the thread count; every result that
// could depend on them (floating-point sums) is computed in fixed blocks
// instead, so outputs are the same for any number of threads.
struct Chunks {
  int64_t n;
  int64_t count;

  Chunks(int64_t n_, int64_t min_chunk = kMinChunk)
      : n(n_), count(std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n_ / min_chunk))) {}
  int64_t begin(int64_t c) const { return c * (n / count) + std::min(c, n % count); }
  int64_t end(int64_t c) const { return begin(c + 1); }

  template <typename F>
  void run(F&& body) const {
    at::parallel_for(0, count, 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) body(c, begin(c), end(c));
    });
  }
};

struct KeyRange {
  uint64_t min_key;
  uint64_t max_key;
  uint64_t span() const { return max_key - min_key; }
};

template <typename T>
KeyRange key_range_kernel_impl(const T* data, int64_t n) {
  Chunks chunks(n);
  std::vector<T> lo(chunks.count, data[0]), hi(chunks.count, data[0]);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    // Min/max on raw values vectorises; label_to_key is monotone so the keys
    // of the extremes are the extreme keys.
    T chunk_lo = data[begin], chunk_hi = data[begin];
    for (int64_t i = begin; i < end; ++i) {
      chunk_lo = std::min(chunk_lo, data[i]);
      chunk_hi = std::max(chunk_hi, data[i]);
    }
    lo[c] = chunk_lo;
    hi[c] = chunk_hi;
  });
  return {label_to_key(*std::min_element(lo.begin(), lo.end())),
          label_to_key(*std::max_element(hi.begin(), hi.end()))};
}

// A guess of the range from an evenly strided sample, widened by 1/64 of
// its span on each side because a sample of many clusters misses the last
// few. Exact for small inputs; for large ones usually a superset of the
// true range, which is all a direct index needs.
template <typename T>
KeyRange sampled_key_range_kernel_impl(const T* data, int64_t n) {
  constexpr int64_t kSamples = 4096;
  const int64_t stride = std::max<int64_t>(1, n / kSamples);
  T lo = data[n - 1], hi = data[n - 1];
  for (int64_t i = 0; i < n; i += stride) {
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
  }
  KeyRange range{label_to_key(lo), label_to_key(hi)};
  if (stride == 1) return range;
  const uint64_t margin = range.span() / 64 + 2;
  range.min_key = range.min_key > margin ? range.min_key - margin : 0;
  range.max_key = range.max_key < UINT64_MAX - margin ? range.max_key + margin : UINT64_MAX;
  return range;
}

// Open-addressing table from label key to first-seen local id. Key and id
// share a slot so that a lookup touches one cache line.
class KeyTable {
 public:
  KeyTable() { resize(1 << 10); }

  int64_t id_of(uint64_t key) {
    for (uint64_t slot = slot_of(key);; slot = (slot + 1) & mask_) {
      Slot& entry = slots_[slot];
      if (C10_LIKELY(entry.key == key && entry.id >= 0)) return entry.id;
      if (entry.id < 0) return insert(entry, key);
    }
  }
  const std::vector<uint64_t>& inserted() const { return inserted_; }

 private:
  struct Slot {
    uint64_t key = 0;
    int64_t id = -1;
  };

  uint64_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  int64_t insert(Slot& entry, uint64_t key) {
    const int64_t id = static_cast<int64_t>(inserted_.size());
    entry = {key, id};
    inserted_.push_back(key);
    if (2 * inserted_.size() > slots_.size()) resize(2 * slots_.size());
    return id;
  }

  void resize(size_t capacity) {
    int log2 = 0;
    while ((size_t{1} << log2) < capacity) ++log2;
    slots_.assign(size_t{1} << log2, Slot{});
    mask_ = (uint64_t{1} << log2) - 1;
    shift_ = 64 - log2;
    for (size_t id = 0; id < inserted_.size(); ++id) {
      uint64_t slot = slot_of(inserted_[id]);
      while (slots_[slot].id >= 0) slot = (slot + 1) & mask_;
      slots_[slot] = {inserted_[id], static_cast<int64_t>(id)};
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint64_t> inserted_;
  uint64_t mask_ = 0;
  int shift_ = 64;
};

// Writes each sample's id into `ids` and returns the index. Direct sides
// write key - min; others are ranked: per-chunk tables hand out local ids,
// the distinct keys are sorted once, and local ids are remapped to ranks.
template <typename T>
LabelIndex index_labels_kernel_impl(const T* data, int64_t n, const KeyRange& range, int64_t* ids) {
  LabelIndex index;
  index.min_key = range.min_key;
  Chunks chunks(n);
  if (range.span() < direct_index_limit(n)) {
    index.size = static_cast<int64_t>(range.span()) + 1;
    chunks.run([&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) ids[i] = static_cast<int64_t>(label_to_key(data[i]) - range.min_key);
    });
    return index;
  }
  std::vector<KeyTable> tables(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    KeyTable& table = tables[c];
    for (int64_t i = begin; i < end; ++i) ids[i] = table.id_of(label_to_key(data[i]));
  });
  std::vector<uint64_t> distinct;
  for (const auto& table : tables) distinct.insert(distinct.end(), table.inserted().begin(), table.inserted().end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<std::vector<int64_t>> rank_of_local(chunks.count);
  for (int64_t c = 0; c < chunks.count; ++c) {
    for (uint64_t key : tables[c].inserted()) {
      rank_of_local[c].push_back(std::lower_bound(distinct.begin(), distinct.end(), key) - distinct.begin());
    }
  }
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    const int64_t* rank = rank_of_local[c].data();
    for (int64_t i = begin; i < end; ++i) ids[i] = rank[ids[i]];
  });
  index.size = static_cast<int64_t>(distinct.size());
  index.sorted_keys = at::empty({index.size}, at::kLong);
  std::copy(distinct.begin(), distinct.end(), key_ptr(index.sorted_keys));
  return index;
}

// Per-sample id accessors: read labels directly, or read stored ranks.
// prefetch(i) asks for sample i's cache line ahead of its use.
template <typename T>
struct DirectIds {
  const T* data;
  uint64_t min_key;
  uint64_t operator()(int64_t i) const { return label_to_key(data[i]) - min_key; }
  void prefetch(int64_t i) const { __builtin_prefetch(data + i, /*rw=*/0, /*locality=*/3); }
};

struct StoredIds {
  const int64_t* ids;
  uint64_t operator()(int64_t i) const { return static_cast<uint64_t>(ids[i]); }
  void prefetch(int64_t i) const { __builtin_prefetch(ids + i, /*rw=*/0, /*locality=*/3); }
};

// Extracts the non-zero cells of a dense table in cell order.
void dense_table_to_cells(const int64_t* table, int64_t num_cells, PairCells& cells) {
  Chunks chunks(num_cells);
  std::vector<int64_t> offsets(chunks.count + 1, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t nnz = 0;
    for (int64_t i = begin; i < end; ++i) nnz += table[i] != 0;
    offsets[c + 1] = nnz;
  });
  for (int64_t c = 0; c < chunks.count; ++c) offsets[c + 1] += offsets[c];
  cells.keys = at::empty({offsets.back()}, at::kLong);
  cells.counts = at::empty({offsets.back()}, at::kLong);
  uint64_t* keys = key_ptr(cells.keys);
  int64_t* counts = cells.counts.data_ptr<int64_t>();
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t out = offsets[c];
    for (int64_t i = begin; i < end; ++i) {
      if (table[i] != 0) {
        keys[out] = static_cast<uint64_t>(i);
        counts[out++] = table[i];
      }
    }
  });
}

// Calls add(i, cell) for samples [begin, end). Stops and returns false at
// the first sample whose ids fall outside the index sizes, which happens
// only when the sizes were guessed from a sample.
//
// The labels are prefetched 256 samples (2 KiB of int64) ahead: a loop that
// does a scattered table update per sample does not issue its streaming
// loads early enough for the hardware prefetcher alone, and with it 10^7
// int64 pairs count into 10^6 cells in 9.3 ms instead of 12 on two threads.
template <typename PredIds, typename TargetIds, typename Add>
bool for_each_sample_cell(PredIds pred_id, TargetIds target_id, uint64_t num_pred_ids, uint64_t num_target_ids,
                          int64_t begin, int64_t end, Add&& add) {
  constexpr int64_t kPrefetchAhead = 256, kPrefetchEvery = 8;
  auto visit = [&](int64_t i) {
    const uint64_t row = pred_id(i), col = target_id(i);
    if (C10_UNLIKELY((row >= num_pred_ids) | (col >= num_target_ids))) return false;
    add(i, row * num_target_ids + col);
    return true;
  };
  int64_t i = begin;
  for (; i + kPrefetchAhead + kPrefetchEvery <= end; i += kPrefetchEvery) {
    pred_id.prefetch(i + kPrefetchAhead);
    target_id.prefetch(i + kPrefetchAhead);
    for (int64_t j = i; j < i + kPrefetchEvery; ++j) {
      if (!visit(j)) return false;
    }
  }
  for (; i < end; ++i) {
    if (!visit(i)) return false;
  }
  return true;
}

bool any_set(const std::vector<char>& flags) {
  return std::any_of(flags.begin(), flags.end(), [](char f) { return f != 0; });
}

// Counts into one private dense table per chunk; the tables are added only
// as their sums are read (DenseCounts::sum_into). Tables that fit L1, and
// weighted counts (histogram merges), use 64-bit counters. Larger tables use
// 8-bit counters, which keep a 10^6-cell table in L2; a counter that wraps
// carries 2^8 into a 64-bit table allocated on first use.
template <typename PredIds, typename TargetIds>
bool count_dense_kernel_impl(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n,
                             uint64_t num_pred_ids, uint64_t num_target_ids, int64_t num_cells, CountedCells& cells) {
  constexpr int64_t kL1Cells = 4096;
  const bool narrow_counters = weights == nullptr && num_cells > kL1Cells;
  Chunks chunks(n);
  std::vector<char> out_of_range(chunks.count, 0);
  at::Tensor narrow_tables;
  if (narrow_counters) narrow_tables = at::zeros({chunks.count, num_cells}, at::kByte);
  std::vector<at::Tensor> wide_tables(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* wide = nullptr;
    auto wide_table = [&]() {
      if (wide == nullptr) {
        wide_tables[c] = at::zeros({num_cells}, at::kLong);
        wide = wide_tables[c].data_ptr<int64_t>();
      }
      return wide;
    };
    auto count_cells_with = [&](auto&& add) {
      out_of_range[c] = !for_each_sample_cell(pred_id, target_id, num_pred_ids, num_target_ids, begin, end, add);
    };
    if (weights != nullptr) {
      int64_t* table = wide_table();
      count_cells_with([&](int64_t i, uint64_t cell) { table[cell] += weights[i]; });
    } else if (!narrow_counters) {
      int64_t* table = wide_table();
      count_cells_with([&](int64_t, uint64_t cell) { ++table[cell]; });
    } else {
      uint8_t* table = narrow_tables.data_ptr<uint8_t>() + c * num_cells;
      // table by value: a uint8_t store may alias anything, so a pointer
      // reached through a reference would be reloaded for every sample.
      count_cells_with([table, &wide_table](int64_t, uint64_t cell) {
        if (C10_UNLIKELY(++table[cell] == 0)) wide_table()[cell] += int64_t{1} << 8;
      });
    }
  });
  if (any_set(out_of_range)) return false;
  cells.dense = {num_cells, narrow_tables, std::move(wide_tables)};
  return true;
}

// Stable LSD radix sort of a small range of keys on their low `key_bits`
// bits, carrying an optional payload; `key_scratch`/`payload_scratch` hold
// as many elements. The result ends up back in `keys`/`payload`.
void sort_low_bits(uint64_t* keys, int64_t* payload, uint64_t* key_scratch, int64_t* payload_scratch, int64_t n,
                   int key_bits, std::vector<int64_t>& counts) {
  if (n < 2 || key_bits == 0) return;
  constexpr int64_t kInsertionSortMax = 32;
  if (n <= kInsertionSortMax) {
    // Sparse pair spaces leave buckets of a few keys, too few to pay for
    // clearing radix counters.
    for (int64_t i = 1; i < n; ++i) {
      const uint64_t key = keys[i];
      const int64_t weight = payload != nullptr ? payload[i] : 0;
      int64_t j = i;
      for (; j > 0 && keys[j - 1] > key; --j) {
        keys[j] = keys[j - 1];
        if (payload != nullptr) payload[j] = payload[j - 1];
      }
      keys[j] = key;
      if (payload != nullptr) payload[j] = weight;
    }
    return;
  }
  // An even number of passes brings the data back into `keys`.
  int passes = (key_bits + 10) / 11;
  passes += passes % 2;
  const int digit_bits = (key_bits + passes - 1) / passes;
  const uint64_t digit_mask = (uint64_t{1} << digit_bits) - 1;
  counts.resize(size_t{1} << digit_bits);
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = pass * digit_bits;
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t i = 0; i < n; ++i) ++counts[(keys[i] >> shift) & digit_mask];
    int64_t running = 0;
    for (auto& count : counts) {
      const int64_t c = count;
      count = running;
      running += c;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t dst = counts[(keys[i] >> shift) & digit_mask]++;
      key_scratch[dst] = keys[i];
      if (payload != nullptr) payload_scratch[dst] = payload[i];
    }
    std::swap(keys, key_scratch);
    std::swap(payload, payload_scratch);
  }
}

// Counts by sorting one pair key per sample: a most-significant-digit
// scatter into buckets of a few thousand keys, then an in-cache sort of each
// bucket, whose runs become cells. Two passes over memory instead of one per
// radix digit. The cells are written over the bucket's own storage and then
// packed, so the peak is two keys (plus one weight) per sample.
template <typename PredIds, typename TargetIds>
bool count_sorted_kernel_impl(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n,
                              uint64_t num_pred_ids, uint64_t num_target_ids, int key_bits, PairCells& cells) {
  const int top_bits = std::min(key_bits, 12);
  const int low_bits = key_bits - top_bits;
  const int64_t num_buckets = int64_t{1} << top_bits;
  at::Tensor storage = sample_scratch({2, n});
  uint64_t* keys = key_ptr(storage);
  uint64_t* bucketed = keys + n;
  at::Tensor weight_storage;
  int64_t* bucketed_weights = nullptr;
  if (weights != nullptr) {
    weight_storage = sample_scratch({n});
    bucketed_weights = weight_storage.data_ptr<int64_t>();
  }

  Chunks chunks(n);
  std::vector<int64_t> offsets(chunks.count * num_buckets, 0);
  std::vector<char> out_of_range(chunks.count, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* hist = offsets.data() + c * num_buckets;
    out_of_range[c] = !for_each_sample_cell(pred_id, target_id, num_pred_ids, num_target_ids, begin, end,
                                            [&](int64_t i, uint64_t key) {
                                              keys[i] = key;
                                              ++hist[key >> low_bits];
                                            });
  });
  if (any_set(out_of_range)) return false;
  // Exclusive scan in (bucket, chunk) order keeps equal keys in sample order.
  std::vector<int64_t> bucket_begin(num_buckets + 1, 0);
  int64_t running = 0;
  for (int64_t b = 0; b < num_buckets; ++b) {
    bucket_begin[b] = running;
    for (int64_t c = 0; c < chunks.count; ++c) {
      const int64_t count = offsets[c * num_buckets + b];
      offsets[c * num_buckets + b] = running;
      running += count;
    }
  }
  bucket_begin[num_buckets] = n;
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* next = offsets.data() + c * num_buckets;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t dst = next[keys[i] >> low_bits]++;
      bucketed[dst] = keys[i];
      if (weights != nullptr) bucketed_weights[dst] = weights[i];
    }
  });

  // Each bucket is sorted in place and its runs written from the bucket's
  // start: run keys over the bucketed keys, run counts over the (now free)
  // first half of the storage.
  int64_t* run_counts = reinterpret_cast<int64_t*>(keys);
  std::vector<int64_t> runs_in_bucket(num_buckets, 0);
  at::parallel_for(0, num_buckets, 1, [&](int64_t first, int64_t last) {
    int64_t largest = 0;
    for (int64_t b = first; b < last; ++b) largest = std::max(largest, bucket_begin[b + 1] - bucket_begin[b]);
    std::vector<uint64_t> key_scratch(largest);
    std::vector<int64_t> weight_scratch(weights != nullptr ? largest : 0);
    std::vector<int64_t> digit_counts;
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = bucket_begin[b], size = bucket_begin[b + 1] - begin;
      uint64_t* bucket = bucketed + begin;
      int64_t* bucket_weights = weights != nullptr ? bucketed_weights + begin : nullptr;
      sort_low_bits(bucket, bucket_weights, key_scratch.data(), weight_scratch.data(), size, low_bits, digit_counts);
      int64_t runs = 0;
      for (int64_t i = 0; i < size;) {
        const uint64_t key = bucket[i];
        int64_t count = 0;
        do {
          count += bucket_weights == nullptr ? 1 : bucket_weights[i];
          ++i;
        } while (i < size && bucket[i] == key);
        if (count == 0) continue;  // zero-weight samples leave no cell
        bucket[runs] = key;
        run_counts[begin + runs] = count;
        ++runs;
      }
      runs_in_bucket[b] = runs;
    }
  });
  // Pack the buckets' runs. Every move is leftwards, so in bucket order it
  // never overwrites runs not yet moved.
  int64_t nnz = 0;
  for (int64_t b = 0; b < num_buckets; ++b) {
    const int64_t begin = bucket_begin[b], runs = runs_in_bucket[b];
    if (nnz != begin) {
      std::memmove(bucketed + nnz, bucketed + begin, runs * sizeof(uint64_t));
      std::memmove(run_counts + nnz, run_counts + begin, runs * sizeof(int64_t));
    }
    nnz += runs;
  }
  cells.counts = storage[0].narrow(0, 0, nnz);
  cells.keys = storage[1].narrow(0, 0, nnz);
  return true;
}

// Returns false, counting nothing, when an id falls outside the index sizes.
template <typename PredIds, typename TargetIds>
bool count_cells(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n, CountedCells& cells) {
  const uint64_t rows = static_cast<uint64_t>(cells.pred_index.size);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(rows, cols);
  if (num_cells <= dense_table_limit(n)) {
    return count_dense_kernel_impl(pred_id, target_id, weights, n, rows, cols, static_cast<int64_t>(num_cells), cells);
  }
  return count_sorted_kernel_impl(pred_id, target_id, weights, n, rows, cols, bit_width(num_cells - 1), cells);
}

int64_t checked_weight_total(const int64_t* weights, int64_t n) {
  Chunks chunks(n);
  std::vector<int64_t> sums(chunks.count, 0), minima(chunks.count, 0);
  std::vector<char> overflowed(chunks.count, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t sum = 0, lowest = 0;
    bool overflow = false;
    for (int64_t i = begin; i < end; ++i) {
      lowest = std::min(lowest, weights[i]);
      overflow |= __builtin_add_overflow(sum, weights[i], &sum);
    }
    sums[c] = sum;
    minima[c] = lowest;
    overflowed[c] = overflow;
  });
  const int64_t lowest = *std::min_element(minima.begin(), minima.end());
  int64_t total = 0;
  bool overflow = any_set(overflowed);
  for (int64_t s : sums) overflow |= __builtin_add_overflow(total, s, &total);
  check_weight_summary(lowest, overflow);
  return total;
}

// Calls fn(i, row, col) for cells [begin, end) of a key list. Rows advance
// monotonically, so a division happens only when the row changes.
template <typename F>
void for_each_cell(const uint64_t* keys, uint64_t cols, int64_t begin, int64_t end, F&& fn) {
  uint64_t row = 0, row_start = 0, row_end = 0;
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t key = keys[i];
    if (key >= row_end || i == begin) {
      row = key / cols;
      row_start = row * cols;
      row_end = row_start + cols;
    }
    fn(i, row, key - row_start);
  }
}

// The cells as a list, forming it from the dense tables if need be.
PairCells listed_cells(const CountedCells& cells) {
  PairCells listed = cells;
  if (!cells.is_dense()) return listed;
  const int64_t num_cells = cells.dense.num_cells;
  at::Tensor totals = at::empty({num_cells}, at::kLong);
  int64_t* total = totals.data_ptr<int64_t>();
  Chunks(num_cells).run([&](int64_t, int64_t begin, int64_t end) { cells.dense.sum_into(begin, end, total + begin); });
  dense_table_to_cells(total, num_cells, listed);
  return listed;
}

// Chunks of n items that may each keep private row and column sums: each
// covers at least rows + cols items, so the sums never cost more than the
// items.
Chunks marginal_chunks(int64_t n, int64_t rows, int64_t cols) {
  return Chunks(n, std::max<int64_t>(kMinChunk, rows + cols));
}

// Runs body(c, begin, end, row_sums, col_sums) on each chunk with its
// private zeroed sums, and returns row sums then column sums, all chunks
// added, in one int64 tensor of rows + cols entries.
template <typename Body>
at::Tensor sum_marginals(const Chunks& chunks, int64_t rows, int64_t cols, Body&& body) {
  at::Tensor storage = at::zeros({chunks.count, rows + cols}, at::kLong);
  int64_t* base = storage.data_ptr<int64_t>();
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* row_sums = base + c * (rows + cols);
    body(c, begin, end, row_sums, row_sums + rows);
  });
  return chunks.count == 1 ? storage[0] : storage.sum(0);
}

// The tallies of all chunks, added.
CountTally merged(std::vector<CountTally>& tallies) {
  for (size_t c = 1; c < tallies.size(); ++c) tallies[0].add(tallies[c]);
  return std::move(tallies[0]);
}

// The tally of values[0, size), built per chunk in parallel.
CountTally tally_of(const int64_t* values, int64_t size) {
  Chunks chunks(size);
  std::vector<CountTally> tallies(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) { tallies[c].add(values + begin, end - begin); });
  return merged(tallies);
}

// Cells are summarized a block at a time, so that each block's counts are
// tallied while they are still in L1.
constexpr int64_t kSummaryBlock = 1 << 10;

// One pass over listed cells: the marginals as sum_marginals returns them,
// and the tally of all cell counts.
at::Tensor summarize_listed(const PairCells& cells, CountTally& cell_tally) {
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  const uint64_t* keys = key_ptr(cells.keys);
  const int64_t* counts = cells.counts.const_data_ptr<int64_t>();
  const Chunks chunks = marginal_chunks(cells.keys.numel(), rows, cols);
  std::vector<CountTally> tallies(chunks.count);
  at::Tensor marginals = sum_marginals(chunks, rows, cols, [&](int64_t c, int64_t begin, int64_t end,
                                                               int64_t* row_sums, int64_t* col_sums) {
    // A row's sum builds in a register: adding each cell to its memory slot
    // would make every add wait for the one before.
    uint64_t current_row = keys[begin] / static_cast<uint64_t>(cols);
    int64_t row_sum = 0;
    for (int64_t block_begin = begin; block_begin < end; block_begin += kSummaryBlock) {
      const int64_t block_end = std::min(end, block_begin + kSummaryBlock);
      for_each_cell(keys, static_cast<uint64_t>(cols), block_begin, block_end,
                    [&](int64_t i, uint64_t row, uint64_t col) {
                      if (row != current_row) {
                        row_sums[current_row] += row_sum;
                        row_sum = 0;
                        current_row = row;
                      }
                      row_sum += counts[i];
                      col_sums[col] += counts[i];
                    });
      tallies[c].add(counts + block_begin, block_end - block_begin);
    }
    row_sums[current_row] += row_sum;
  });
  cell_tally = merged(tallies);
  return marginals;
}

// One pass over dense tables: the marginals as sum_marginals returns them,
// and the tally of all cell counts. Counts are summed from the tables into a
// buffer that stays in L1.
at::Tensor summarize_dense(const CountedCells& cells, CountTally& cell_tally) {
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  const DenseCounts& dense = cells.dense;
  const Chunks chunks = marginal_chunks(dense.num_cells, rows, cols);
  std::vector<CountTally> tallies(chunks.count);
  at::Tensor marginals = sum_marginals(chunks, rows, cols, [&](int64_t c, int64_t begin, int64_t end,
                                                               int64_t* row_sums, int64_t* col_sums) {
    std::array<int64_t, kSummaryBlock> block;
    int64_t row = begin / cols, col = begin % cols, row_sum = 0;
    for (int64_t block_begin = begin; block_begin < end; block_begin += kSummaryBlock) {
      const int64_t block_size = std::min(kSummaryBlock, end - block_begin);
      dense.sum_into(block_begin, block_begin + block_size, block.data());
      tallies[c].add(block.data(), block_size);
      for (int64_t k = 0; k < block_size; ++k) {
        const int64_t count = block[k];
        row_sum += count;
        col_sums[col] += count;
        if (++col == cols) {
          row_sums[row++] += row_sum;
          row_sum = 0;
          col = 0;
        }
      }
    }
    if (col != 0) row_sums[row] += row_sum;
  });
  cell_tally = merged(tallies);
  return marginals;
}

// Writes each cell's pred label (for_pred) or target label as T.
template <typename T>
void write_labels_kernel_impl(const PairCells& cells, bool for_pred, T* out) {
  const LabelIndex& index = for_pred ? cells.pred_index : cells.target_index;
  const uint64_t* sorted = index.direct() ? nullptr : key_ptr(index.sorted_keys);
  const uint64_t* keys = key_ptr(cells.keys);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  Chunks(cells.keys.numel()).run([&](int64_t, int64_t begin, int64_t end) {
    for_each_cell(keys, cols, begin, end, [&](int64_t i, uint64_t row, uint64_t col) {
      const uint64_t id = for_pred ? row : col;
      out[i] = key_to_label<T>(sorted == nullptr ? index.min_key + id : sorted[id]);
    });
  });
}

}  // namespace

void DenseCounts::sum_into(int64_t begin, int64_t end, int64_t* out) const {
  const int64_t size = end - begin;
  std::fill(out, out + size, 0);
  if (narrow.defined()) {
    const uint8_t* tables = narrow.const_data_ptr<uint8_t>();
    for (int64_t c = 0; c < narrow.size(0); ++c) {
      const uint8_t* table = tables + c * num_cells + begin;
      for (int64_t k = 0; k < size; ++k) out[k] += table[k];
    }
  }
  for (const at::Tensor& wide_table : wide) {
    if (!wide_table.defined()) continue;
    const int64_t* table = wide_table.const_data_ptr<int64_t>() + begin;
    for (int64_t k = 0; k < size; ++k) out[k] += table[k];
  }
}

CountedCells count_pair_cells(const at::Tensor& preds_in, const at::Tensor& target_in,
                              const std::optional<at::Tensor>& weights_in) {
  const at::Tensor preds = preds_in.contiguous();
  const at::Tensor target = target_in.contiguous();
  const int64_t n = preds.numel();
  at::Tensor weights;
  const int64_t* weight_ptr = nullptr;
  CountedCells cells;
  if (weights_in.has_value()) {
    weights = weights_in->contiguous();
    weight_ptr = weights.data_ptr<int64_t>();
    cells.total = checked_weight_total(weight_ptr, n);
  } else {
    cells.total = n;
  }
  if (n == 0 || cells.total == 0) {
    cells.keys = at::empty({0}, at::kLong);
    cells.counts = at::empty({0}, at::kLong);
    return cells;
  }
  CM_DISPATCH_LABEL_TYPES(preds.scalar_type(), "pair_histogram_cpu", [&] {
    using pred_t = scalar_t;
    const pred_t* pred_data = preds.const_data_ptr<pred_t>();
    CM_DISPATCH_LABEL_TYPES(target.scalar_type(), "pair_histogram_cpu", [&] {
      using target_t = scalar_t;
      const target_t* target_data = target.const_data_ptr<target_t>();
      const uint64_t limit = direct_index_limit(n);
      // Both sides are indexed straight from the raw labels when their
      // ranges are small. A sample guesses the ranges so that the common
      // case reads the input once; if any label falls outside the guess, the
      // exact ranges are taken and the counting redone.
      auto count_direct = [&](const KeyRange& pred_range, const KeyRange& target_range) {
        if (pred_range.span() >= limit || target_range.span() >= limit) return false;
        cells.pred_index = {pred_range.min_key, static_cast<int64_t>(pred_range.span()) + 1, {}};
        cells.target_index = {target_range.min_key, static_cast<int64_t>(target_range.span()) + 1, {}};
        return count_cells(DirectIds<pred_t>{pred_data, pred_range.min_key},
                           DirectIds<target_t>{target_data, target_range.min_key}, weight_ptr, n, cells);
      };
      if (count_direct(sampled_key_range_kernel_impl(pred_data, n), sampled_key_range_kernel_impl(target_data, n))) {
        return;
      }
      const KeyRange pred_range = key_range_kernel_impl(pred_data, n);
      const KeyRange target_range = key_range_kernel_impl(target_data, n);
      if (count_direct(pred_range, target_range)) return;
      at::Tensor ids = sample_scratch({2, n});
      int64_t* pred_ids = ids.data_ptr<int64_t>();
      int64_t* target_ids = pred_ids + n;
      cells.pred_index = index_labels_kernel_impl(pred_data, n, pred_range, pred_ids);
      cells.target_index = index_labels_kernel_impl(target_data, n, target_range, target_ids);
      TORCH_INTERNAL_ASSERT(count_cells(StoredIds{pred_ids}, StoredIds{target_ids}, weight_ptr, n, cells));
    });
  });
  return cells;
}

double mutual_info_from_cells(const CountedCells& cells) {
  const int64_t total = cells.total;
  if (total == 0) return 0.0;
  const int64_t rows = cells.pred_index.size;
  const int64_t cols = cells.target_index.size;
  CountTally cell_tally;
  const at::Tensor marginals =
      cells.is_dense() ? summarize_dense(cells, cell_tally) : summarize_listed(cells, cell_tally);
  const int64_t* row_sums = marginals.const_data_ptr<int64_t>();
  const int64_t* col_sums = row_sums + rows;

  // Many cells: first the entropy form (entropy_form.h), which takes a log
  // per distinct count instead of one per cell. Each of its four sums is
  // within kExtendedSumRelativeError of itself, and so their combination is
  // within that much of the four added (doubled to cover the long double
  // roundings of combining them), plus the final rounding to double and the
  // division by N, 2^-52 relative, outside the bound. It is kept
  // when that bound is within kEntropyFormRelativeTolerance of the MI; small
  // MIs, where the sums cancel most, take the exact form. The choice depends
  // only on the histogram, not on whether it came as a list or as dense
  // tables, so every op returns the same bits for the same data.
  const CountLogCountSum cell_sum = cell_tally.sum();
  if (cell_sum.nonzero >= kTermBlock && extended_precision_active()) {
    const long double total_log_total = static_cast<long double>(total) * std::log(static_cast<long double>(total));
    const long double marginal_sum =
        tally_of(row_sums, rows).sum().sum + tally_of(col_sums, cols).sum().sum;
    const double mi = finish_mutual_info(static_cast<double>((total_log_total + cell_sum.sum) - marginal_sum), total);
    const double error_bound = 2 * kExtendedSumRelativeError *
                               static_cast<double>(total_log_total + cell_sum.sum + marginal_sum) /
                               static_cast<double>(total);
    if (error_bound <= kEntropyFormRelativeTolerance * mi) return mi;
  }

  // The exact form: a log per cell, summed in fixed blocks in block order.
  const PairCells listed = listed_cells(cells);
  const int64_t nnz = listed.keys.numel();
  const uint64_t* keys = key_ptr(listed.keys);
  const int64_t* counts = listed.counts.const_data_ptr<int64_t>();
  const int64_t num_blocks = (nnz + kTermBlock - 1) / kTermBlock;
  std::vector<CompensatedSum> block_sums(num_blocks);
  at::parallel_for(0, num_blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t block = first; block < last; ++block) {
      CompensatedSum sum;
      for_each_cell(keys, static_cast<uint64_t>(cols), block * kTermBlock, std::min(nnz, (block + 1) * kTermBlock),
                    [&](int64_t i, uint64_t row, uint64_t col) {
                      sum.add(mi_cell_term(counts[i], row_sums[row], col_sums[col], total));
                    });
      block_sums[block] = sum;
    }
  });
  CompensatedSum result;
  for (const auto& block : block_sums) result.add(block);
  return finish_mutual_info(result.value(), total);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const CountedCells& counted,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype) {
  const PairCells cells = listed_cells(counted);
  const int64_t nnz = cells.keys.numel();
  at::Tensor pred_labels = at::empty({nnz}, at::TensorOptions().dtype(pred_dtype));
  at::Tensor target_labels = at::empty({nnz}, at::TensorOptions().dtype(target_dtype));
  CM_DISPATCH_LABEL_TYPES(pred_dtype, "pair_histogram_labels", [&] {
    write_labels_kernel_impl(cells, /*for_pred=*/true, pred_labels.mutable_data_ptr<scalar_t>());
  });
  CM_DISPATCH_LABEL_TYPES(target_dtype, "pair_histogram_labels", [&] {
    write_labels_kernel_impl(cells, /*for_pred=*/false, target_labels.mutable_data_ptr<scalar_t>());
  });
  return {pred_labels, target_labels, cells.counts};
}

}  // namespace clustering_metrics::cpu
