#include "pair_cells.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "../common/checks.h"
#include "../common/dispatch.h"
#include "../common/mi_math.h"

namespace clustering_metrics::cpu {
namespace {

constexpr int64_t kMinChunk = 1 << 15;

uint64_t* key_ptr(const at::Tensor& t) { return reinterpret_cast<uint64_t*>(t.data_ptr<int64_t>()); }

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

// Open-addressing table from label key to first-seen local id.
class KeyTable {
 public:
  KeyTable() { resize(1 << 10); }

  int64_t id_of(uint64_t key) {
    for (uint64_t slot = slot_of(key);; slot = (slot + 1) & mask_) {
      const int64_t id = ids_[slot];
      if (id < 0) {
        ids_[slot] = static_cast<int64_t>(inserted_.size());
        keys_[slot] = key;
        inserted_.push_back(key);
        if (2 * inserted_.size() > ids_.size()) resize(2 * ids_.size());
        return static_cast<int64_t>(inserted_.size()) - 1;
      }
      if (keys_[slot] == key) return id;
    }
  }
  const std::vector<uint64_t>& inserted() const { return inserted_; }

 private:
  uint64_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  void resize(size_t capacity) {
    int log2 = 0;
    while ((size_t{1} << log2) < capacity) ++log2;
    keys_.assign(size_t{1} << log2, 0);
    ids_.assign(size_t{1} << log2, -1);
    mask_ = (uint64_t{1} << log2) - 1;
    shift_ = 64 - log2;
    for (size_t id = 0; id < inserted_.size(); ++id) {
      uint64_t slot = slot_of(inserted_[id]);
      while (ids_[slot] >= 0) slot = (slot + 1) & mask_;
      ids_[slot] = static_cast<int64_t>(id);
      keys_[slot] = inserted_[id];
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<int64_t> ids_;
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
    for (int64_t i = begin; i < end; ++i) ids[i] = tables[c].id_of(label_to_key(data[i]));
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
template <typename T>
struct DirectIds {
  const T* data;
  uint64_t min_key;
  uint64_t operator()(int64_t i) const { return label_to_key(data[i]) - min_key; }
};

struct StoredIds {
  const int64_t* ids;
  uint64_t operator()(int64_t i) const { return static_cast<uint64_t>(ids[i]); }
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

// Counts into one private dense table per chunk, then adds the tables.
template <typename PredIds, typename TargetIds>
void count_dense_kernel_impl(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n,
                             uint64_t num_target_ids, int64_t num_cells, PairCells& cells) {
  Chunks chunks(n);
  at::Tensor tables = at::zeros({chunks.count, num_cells}, at::kLong);
  int64_t* base = tables.data_ptr<int64_t>();
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* table = base + c * num_cells;
    if (weights == nullptr) {
      for (int64_t i = begin; i < end; ++i) ++table[pred_id(i) * num_target_ids + target_id(i)];
    } else {
      for (int64_t i = begin; i < end; ++i) table[pred_id(i) * num_target_ids + target_id(i)] += weights[i];
    }
  });
  at::Tensor merged = chunks.count == 1 ? tables[0] : tables.sum(0);
  dense_table_to_cells(merged.data_ptr<int64_t>(), num_cells, cells);
}

// Stable LSD radix sort of keys below 2^key_bits, carrying an optional
// payload. Returns the buffers that hold the sorted data.
std::pair<uint64_t*, int64_t*> radix_sort(uint64_t* keys, uint64_t* key_scratch, int64_t* payload,
                                          int64_t* payload_scratch, int64_t n, int key_bits) {
  const int passes = std::max(1, (key_bits + 11) / 12);
  const int digit_bits = (key_bits + passes - 1) / passes;
  const int64_t radix = int64_t{1} << digit_bits;
  const uint64_t digit_mask = static_cast<uint64_t>(radix - 1);
  Chunks chunks(n);
  std::vector<int64_t> offsets(chunks.count * radix);
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = pass * digit_bits;
    chunks.run([&](int64_t c, int64_t begin, int64_t end) {
      int64_t* hist = offsets.data() + c * radix;
      std::fill(hist, hist + radix, 0);
      for (int64_t i = begin; i < end; ++i) ++hist[(keys[i] >> shift) & digit_mask];
    });
    // Exclusive scan in (digit, chunk) order keeps the sort stable.
    int64_t running = 0;
    for (int64_t d = 0; d < radix; ++d) {
      for (int64_t c = 0; c < chunks.count; ++c) {
        const int64_t count = offsets[c * radix + d];
        offsets[c * radix + d] = running;
        running += count;
      }
    }
    chunks.run([&](int64_t c, int64_t begin, int64_t end) {
      int64_t* next = offsets.data() + c * radix;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t dst = next[(keys[i] >> shift) & digit_mask]++;
        key_scratch[dst] = keys[i];
        if (payload != nullptr) payload_scratch[dst] = payload[i];
      }
    });
    std::swap(keys, key_scratch);
    std::swap(payload, payload_scratch);
  }
  return {keys, payload};
}

// Counts by sorting one pair key per sample, then collapsing runs.
template <typename PredIds, typename TargetIds>
void count_sorted_kernel_impl(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n,
                              uint64_t num_target_ids, int key_bits, PairCells& cells) {
  at::Tensor key_storage = at::empty({2, n}, at::kLong);
  uint64_t* keys = key_ptr(key_storage);
  at::Tensor weight_storage;
  int64_t* payload = nullptr;
  if (weights != nullptr) {
    weight_storage = at::empty({2, n}, at::kLong);
    payload = weight_storage.data_ptr<int64_t>();
    std::copy(weights, weights + n, payload);
  }
  Chunks chunks(n);
  chunks.run([&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) keys[i] = pred_id(i) * num_target_ids + target_id(i);
  });
  auto sorted = radix_sort(keys, keys + n, payload, payload == nullptr ? nullptr : payload + n, n, key_bits);
  const uint64_t* sorted_keys = sorted.first;
  const int64_t* sorted_weights = sorted.second;

  // A run belongs to the chunk holding its first element; zero-weight runs
  // are dropped so every cell has a positive count.
  auto for_each_run = [&](int64_t begin, int64_t end, auto&& emit) {
    int64_t i = begin;
    if (i > 0) {
      while (i < end && sorted_keys[i] == sorted_keys[i - 1]) ++i;
    }
    while (i < end) {
      const uint64_t key = sorted_keys[i];
      int64_t count = 0;
      do {
        count += sorted_weights == nullptr ? 1 : sorted_weights[i];
        ++i;
      } while (i < n && sorted_keys[i] == key);
      if (count != 0) emit(key, count);
    }
  };
  std::vector<int64_t> offsets(chunks.count + 1, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t runs = 0;
    for_each_run(begin, end, [&](uint64_t, int64_t) { ++runs; });
    offsets[c + 1] = runs;
  });
  for (int64_t c = 0; c < chunks.count; ++c) offsets[c + 1] += offsets[c];
  // The sorted keys sit in one half of the storage; runs go to the other.
  at::Tensor out_keys = key_storage[sorted_keys == keys ? 1 : 0].narrow(0, 0, offsets.back());
  cells.counts = at::empty({offsets.back()}, at::kLong);
  uint64_t* run_keys = key_ptr(out_keys);
  int64_t* run_counts = cells.counts.data_ptr<int64_t>();
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t out = offsets[c];
    for_each_run(begin, end, [&](uint64_t key, int64_t count) {
      run_keys[out] = key;
      run_counts[out++] = count;
    });
  });
  cells.keys = out_keys;
}

template <typename PredIds, typename TargetIds>
void count_cells(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n, PairCells& cells) {
  const uint64_t rows = static_cast<uint64_t>(cells.pred_index.size);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(rows, cols);
  if (num_cells <= dense_table_limit(n)) {
    count_dense_kernel_impl(pred_id, target_id, weights, n, cols, static_cast<int64_t>(num_cells), cells);
  } else {
    count_sorted_kernel_impl(pred_id, target_id, weights, n, cols, bit_width(num_cells - 1), cells);
  }
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
  bool overflow = std::any_of(overflowed.begin(), overflowed.end(), [](char o) { return o != 0; });
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

template <typename T>
void write_labels_kernel_impl(const LabelIndex& index, const uint64_t* ids, int64_t n, T* out) {
  const uint64_t* sorted = index.direct() ? nullptr : key_ptr(index.sorted_keys);
  Chunks(n).run([&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out[i] = key_to_label<T>(sorted == nullptr ? index.min_key + ids[i] : sorted[ids[i]]);
    }
  });
}

}  // namespace

PairCells count_pair_cells(const at::Tensor& preds_in, const at::Tensor& target_in,
                           const std::optional<at::Tensor>& weights_in) {
  const at::Tensor preds = preds_in.contiguous();
  const at::Tensor target = target_in.contiguous();
  const int64_t n = preds.numel();
  at::Tensor weights;
  const int64_t* weight_ptr = nullptr;
  PairCells cells;
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
    const KeyRange pred_range = key_range_kernel_impl(pred_data, n);
    CM_DISPATCH_LABEL_TYPES(target.scalar_type(), "pair_histogram_cpu", [&] {
      using target_t = scalar_t;
      const target_t* target_data = target.const_data_ptr<target_t>();
      const KeyRange target_range = key_range_kernel_impl(target_data, n);
      const uint64_t limit = direct_index_limit(n);
      if (pred_range.span() < limit && target_range.span() < limit) {
        // Fast path: both sides are indexed straight from the raw labels.
        cells.pred_index = {pred_range.min_key, static_cast<int64_t>(pred_range.span()) + 1, {}};
        cells.target_index = {target_range.min_key, static_cast<int64_t>(target_range.span()) + 1, {}};
        count_cells(DirectIds<pred_t>{pred_data, pred_range.min_key},
                    DirectIds<target_t>{target_data, target_range.min_key}, weight_ptr, n, cells);
        return;
      }
      at::Tensor ids = at::empty({2, n}, at::kLong);
      int64_t* pred_ids = ids.data_ptr<int64_t>();
      int64_t* target_ids = pred_ids + n;
      cells.pred_index = index_labels_kernel_impl(pred_data, n, pred_range, pred_ids);
      cells.target_index = index_labels_kernel_impl(target_data, n, target_range, target_ids);
      count_cells(StoredIds{pred_ids}, StoredIds{target_ids}, weight_ptr, n, cells);
    });
  });
  return cells;
}

double mutual_info_from_cells(const PairCells& cells) {
  const int64_t nnz = cells.keys.numel();
  if (nnz == 0) return 0.0;
  const uint64_t* keys = key_ptr(cells.keys);
  const int64_t* counts = cells.counts.const_data_ptr<int64_t>();
  const int64_t rows = cells.pred_index.size;
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);

  // Marginals: private arrays per chunk only when each chunk has more cells
  // than the arrays have entries, so they never cost more than the cells.
  Chunks chunks(nnz, std::max<int64_t>(kMinChunk, rows + static_cast<int64_t>(cols)));
  at::Tensor marginal_storage = at::zeros({chunks.count, rows + static_cast<int64_t>(cols)}, at::kLong);
  int64_t* marginal_base = marginal_storage.data_ptr<int64_t>();
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t* row_sums = marginal_base + c * (rows + static_cast<int64_t>(cols));
    int64_t* col_sums = row_sums + rows;
    for_each_cell(keys, cols, begin, end, [&](int64_t i, uint64_t row, uint64_t col) {
      row_sums[row] += counts[i];
      col_sums[col] += counts[i];
    });
  });
  at::Tensor marginals = chunks.count == 1 ? marginal_storage[0] : marginal_storage.sum(0);
  const int64_t* row_sums = marginals.const_data_ptr<int64_t>();
  const int64_t* col_sums = row_sums + rows;

  const int64_t num_blocks = (nnz + kTermBlock - 1) / kTermBlock;
  std::vector<CompensatedSum> block_sums(num_blocks);
  const int64_t total = cells.total;
  at::parallel_for(0, num_blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t block = first; block < last; ++block) {
      CompensatedSum sum;
      for_each_cell(keys, cols, block * kTermBlock, std::min(nnz, (block + 1) * kTermBlock),
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

std::tuple<at::Tensor, at::Tensor, at::Tensor> cells_to_histogram(const PairCells& cells,
                                                                 at::ScalarType pred_dtype,
                                                                 at::ScalarType target_dtype) {
  const int64_t nnz = cells.keys.numel();
  const uint64_t* keys = key_ptr(cells.keys);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  at::Tensor ids = at::empty({2, nnz}, at::kLong);
  uint64_t* row_ids = key_ptr(ids);
  uint64_t* col_ids = row_ids + nnz;
  Chunks(nnz).run([&](int64_t, int64_t begin, int64_t end) {
    for_each_cell(keys, cols, begin, end, [&](int64_t i, uint64_t row, uint64_t col) {
      row_ids[i] = row;
      col_ids[i] = col;
    });
  });
  at::Tensor pred_labels = at::empty({nnz}, at::TensorOptions().dtype(pred_dtype));
  at::Tensor target_labels = at::empty({nnz}, at::TensorOptions().dtype(target_dtype));
  CM_DISPATCH_LABEL_TYPES(pred_dtype, "pair_histogram_labels", [&] {
    write_labels_kernel_impl(cells.pred_index, row_ids, nnz, pred_labels.mutable_data_ptr<scalar_t>());
  });
  CM_DISPATCH_LABEL_TYPES(target_dtype, "pair_histogram_labels", [&] {
    write_labels_kernel_impl(cells.target_index, col_ids, nnz, target_labels.mutable_data_ptr<scalar_t>());
  });
  return {pred_labels, target_labels, cells.counts};
}

}  // namespace clustering_metrics::cpu
