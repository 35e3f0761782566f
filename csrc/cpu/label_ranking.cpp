#include "label_ranking.h"

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "../host/dispatch.h"

namespace clustering_metrics::cpu {

uint64_t hash_seed() {
  static const uint64_t seed = []() -> uint64_t {
    if (const char* fixed = std::getenv("CLUSTERING_METRICS_HASH_SEED")) return std::strtoull(fixed, nullptr, 0);
    std::random_device entropy;
    return (static_cast<uint64_t>(entropy()) << 32) ^ entropy();
  }();
  return seed;
}

int64_t KeyTable::insert(Slot& entry, uint64_t key) {
  if (inserted_.size() >= kMaxKeys) return kGaveUp;
  const int64_t id = static_cast<int64_t>(inserted_.size());
  entry = {key, id};
  inserted_.push_back(key);
  if (2 * inserted_.size() > slots_.size()) resize(2 * slots_.size());
  return id;
}

void KeyTable::resize(size_t capacity) {
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

std::vector<std::vector<int64_t>> rank_local_ids(const std::vector<KeyTable>& tables, LabelIndex& index,
                                                 bool keep_keys) {
  std::vector<uint64_t> distinct;
  for (const auto& table : tables) distinct.insert(distinct.end(), table.inserted().begin(), table.inserted().end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<std::vector<int64_t>> rank_of_local(tables.size());
  for (size_t c = 0; c < tables.size(); ++c) {
    for (uint64_t key : tables[c].inserted()) {
      rank_of_local[c].push_back(std::lower_bound(distinct.begin(), distinct.end(), key) - distinct.begin());
    }
  }
  index.size = static_cast<int64_t>(distinct.size());
  if (keep_keys) index.sorted_keys = std::move(distinct);
  return rank_of_local;
}

SampledLabels::SampledLabels(const std::vector<uint64_t>& raw, uint64_t seed)
    : slots_(kSlots), multiplier_(mix(0x5ab1ed, seed) | 1) {
  for (size_t rank = 0; rank < raw.size(); ++rank) {
    uint64_t slot = (raw[rank] * multiplier_) >> kShift;
    while (slots_[slot].rank != kMiss) slot = (slot + 1) & (kSlots - 1);
    slots_[slot] = {raw[rank], rank};
  }
}

}  // namespace clustering_metrics::cpu

namespace clustering_metrics::cpu {

std::tuple<Tensor, Tensor> rank_labels(const Tensor& labels) {
  const int64_t n = labels.numel();
  const ScalarType dtype = labels.scalar_type();
  Tensor ids = torch::stable::empty({n}, ScalarType::Long);
  if (n == 0) return {ids, torch::stable::empty({0}, dtype)};
  uint64_t* id = static_cast<uint64_t*>(ids.mutable_data_ptr());
  const ContiguousElements elements(labels);
  LabelIndex index;
  dispatch_label_type(dtype, [&](auto tag) {
    using S = LabelStorage<typename decltype(tag)::type>;
    const S* data = elements.as<S>();
    index = index_labels(data, n, key_range(data, n), id, /*keep_keys=*/true);
  });
  std::vector<uint64_t> distinct_keys;
  if (index.ranked) {
    distinct_keys = std::move(index.sorted_keys);
  } else {
    // A direct index has an id for every value of the range: the present ones, renumbered in order.
    std::vector<uint64_t> rank_of(index.size, 0);
    for (int64_t i = 0; i < n; ++i) rank_of[id[i]] = 1;
    for (int64_t v = 0; v < index.size; ++v) {
      if (rank_of[v] == 0) continue;
      rank_of[v] = distinct_keys.size();
      distinct_keys.push_back(index.min_key + static_cast<uint64_t>(v));
    }
    Chunks(n).run([&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) id[i] = rank_of[id[i]];
    });
  }
  const int64_t k = static_cast<int64_t>(distinct_keys.size());
  Tensor distinct = torch::stable::empty({k}, dtype);
  dispatch_label_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = static_cast<T*>(distinct.mutable_data_ptr());
    for (int64_t r = 0; r < k; ++r) out[r] = key_to_label<T>(distinct_keys[r]);
  });
  return {ids, distinct};
}

}  // namespace clustering_metrics::cpu
