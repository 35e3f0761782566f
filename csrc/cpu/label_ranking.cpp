#include "label_ranking.h"

#include <algorithm>
#include <cstdlib>
#include <random>

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
