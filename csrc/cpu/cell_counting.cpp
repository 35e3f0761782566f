// count_pair_cells: the choice of counting path for the CPU. Both sides are
// indexed straight from the raw labels when their ranges are small; a sample
// guesses the ranges so that the common case reads the input once, and if
// any label falls outside the guess, the exact ranges are taken and the
// counting redone. Wide sides are ranked first. The pair space is then
// counted densely or by sorting (common/counting_plan.h decides).
#include <algorithm>
#include <type_traits>

#include "../host/checks.h"
#include "../common/counting_plan.h"
#include "../host/dispatch.h"
#include "dense_counting.h"
#include "key_range.h"
#include "label_ranking.h"
#include "pipeline.h"
#include "sorted_counting.h"

namespace clustering_metrics::cpu {
namespace {

// Returns false, counting nothing, when an id falls outside the index sizes.
template <typename PredIds, typename TargetIds>
bool count_cells(PredIds pred_id, TargetIds target_id, const int64_t* weights, int64_t n, CountedCells& cells) {
  const uint64_t rows = static_cast<uint64_t>(cells.pred_index.size);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(rows, cols);
  if (counts_in_dense_table(num_cells, n)) {
    return count_dense(pred_id, target_id, weights, n, rows, cols, static_cast<int64_t>(num_cells), cells.dense);
  }
  return count_sorted(pred_id, target_id, weights, n, rows, cols, bit_width(num_cells - 1), cells.listed);
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

}  // namespace

namespace {

// Counts through the sampled labels of both sides, when every label is one
// of them and their pair space is small: one pass over the input. Returns
// false, counting nothing, otherwise.
template <typename P, typename T>
bool count_sampled(const P* pred_data, const T* target_data, const int64_t* weights, int64_t n, CountedCells& cells) {
  if constexpr (std::is_same<P, BoolByte>::value || std::is_same<T, BoolByte>::value) {
    return false;  // a bool side always indexes directly
  } else {
    std::vector<uint64_t> pred_keys, pred_raw, target_keys, target_raw;
    if (!sample_distinct_labels(pred_data, n, pred_keys, pred_raw) ||
        !sample_distinct_labels(target_data, n, target_keys, target_raw) ||
        !counts_in_dense_table(static_cast<uint64_t>(pred_keys.size()) * target_keys.size(), n)) {
      return false;
    }
    const uint64_t seed = hash_seed();
    const SampledLabels pred_labels(pred_raw, seed), target_labels(target_raw, seed);
    cells.pred_index = {0, static_cast<int64_t>(pred_keys.size()), pred_keys, true};
    cells.target_index = {0, static_cast<int64_t>(target_keys.size()), target_keys, true};
    return count_cells(SampledIds<RawBits<P>>{reinterpret_cast<const RawBits<P>*>(pred_data), pred_labels.lookup()},
                       SampledIds<RawBits<T>>{reinterpret_cast<const RawBits<T>*>(target_data), target_labels.lookup()},
                       weights, n, cells);
  }
}

// Ranks (or directly indexes) both sides into stored ids, then counts.
template <typename Id, typename P, typename T>
void count_ranked(const P* pred_data, const T* target_data, const int64_t* weights, int64_t n,
                  const KeyRange& pred_range, const KeyRange& target_range, bool keep_labels, CountedCells& cells) {
  Array<Id> ids(2 * n);
  Id* pred_ids = ids.data();
  Id* target_ids = pred_ids + n;
  cells.pred_index = index_labels(pred_data, n, pred_range, pred_ids, keep_labels);
  cells.target_index = index_labels(target_data, n, target_range, target_ids, keep_labels);
  CM_CHECK(count_cells(StoredIds<Id>{pred_ids}, StoredIds<Id>{target_ids}, weights, n, cells),
           "count_pair_cells: a ranked id fell outside its index (a bug; please report it).");
}

}  // namespace

CountedCells count_pair_cells(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights,
                              bool keep_labels) {
  const ContiguousElements pred_elements(preds), target_elements(target);
  const int64_t n = preds.numel();
  std::optional<ContiguousElements> weight_elements;
  const int64_t* weight_ptr = nullptr;
  CountedCells cells;
  if (weights.has_value()) {
    weight_elements.emplace(*weights);
    weight_ptr = weight_elements->as<int64_t>();
    cells.total = checked_weight_total(weight_ptr, n);
  } else {
    cells.total = n;
  }
  if (n == 0 || cells.total == 0) return cells;
  dispatch_label_type(preds.scalar_type(), [&](auto pred_tag) {
    using pred_t = LabelStorage<typename decltype(pred_tag)::type>;
    const pred_t* pred_data = pred_elements.as<pred_t>();
    dispatch_label_type(target.scalar_type(), [&](auto target_tag) {
      using target_t = LabelStorage<typename decltype(target_tag)::type>;
      const target_t* target_data = target_elements.as<target_t>();
      auto count_direct = [&](const KeyRange& pred_range, const KeyRange& target_range) {
        if (!indexes_directly(pred_range.span(), n) || !indexes_directly(target_range.span(), n)) return false;
        cells.pred_index = {pred_range.min_key, static_cast<int64_t>(pred_range.span()) + 1, {}, false};
        cells.target_index = {target_range.min_key, static_cast<int64_t>(target_range.span()) + 1, {}, false};
        return count_cells(DirectIds<pred_t>{pred_data, pred_range.min_key},
                           DirectIds<target_t>{target_data, target_range.min_key}, weight_ptr, n, cells);
      };
      const KeyRange pred_guess = sampled_key_range(pred_data, n), target_guess = sampled_key_range(target_data, n);
      const bool guess_is_dense =
          indexes_directly(pred_guess.span(), n) && indexes_directly(target_guess.span(), n) &&
          counts_in_dense_table((pred_guess.span() + 1) * (target_guess.span() + 1), n);
      // One pass over the input in the common cases: small label ranges, or
      // a few labels on each side, however far apart.
      if (guess_is_dense && count_direct(pred_guess, target_guess)) return;
      if (!guess_is_dense && count_sampled(pred_data, target_data, weight_ptr, n, cells)) return;
      const KeyRange pred_range = key_range(pred_data, n);
      const KeyRange target_range = key_range(target_data, n);
      if (count_direct(pred_range, target_range)) return;
      if (n < (int64_t{1} << 32)) {
        count_ranked<uint32_t>(pred_data, target_data, weight_ptr, n, pred_range, target_range, keep_labels, cells);
      } else {
        count_ranked<uint64_t>(pred_data, target_data, weight_ptr, n, pred_range, target_range, keep_labels, cells);
      }
    });
  });
  return cells;
}

const CellList& listed_cells(CountedCells& cells) {
  if (!cells.is_dense()) return cells.listed;
  const int64_t num_cells = cells.dense.num_cells;
  Array<int64_t> totals(num_cells);
  int64_t* total = totals.data();
  Chunks(num_cells).run([&](int64_t, int64_t begin, int64_t end) { cells.dense.sum_into(begin, end, total + begin); });
  Chunks chunks(num_cells);
  std::vector<int64_t> offsets(chunks.count + 1, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t nnz = 0;
    for (int64_t i = begin; i < end; ++i) nnz += total[i] != 0;
    offsets[c + 1] = nnz;
  });
  for (int64_t c = 0; c < chunks.count; ++c) offsets[c + 1] += offsets[c];
  const int64_t nnz = offsets.back();
  CellList& listed = cells.listed;
  listed.storage = Array<int64_t>(2 * nnz);
  listed.keys = reinterpret_cast<uint64_t*>(listed.storage.data());
  listed.counts = listed.storage.data() + nnz;
  listed.size = nnz;
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    int64_t out = offsets[c];
    for (int64_t i = begin; i < end; ++i) {
      if (total[i] != 0) {
        listed.keys[out] = static_cast<uint64_t>(i);
        listed.counts[out++] = total[i];
      }
    }
  });
  // The list holds every count now; the tables would only hold memory.
  cells.dense = DenseCounts{};
  return listed;
}

}  // namespace clustering_metrics::cpu
