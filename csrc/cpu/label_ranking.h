// Stage 2: each side's labels as dense ids that preserve label order. A side
// with a small range is indexed directly (id = key - min_key); a wide one is
// ranked among its distinct labels.
#pragma once

#include <cstdint>
#include <vector>

#include "../common/counting_plan.h"
#include "../common/labels.h"
#include "key_range.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {

// Open-addressing table from label key to first-seen local id. Key and id
// share a slot so that a lookup touches one cache line.
class KeyTable {
 public:
  KeyTable() { resize(1 << 10); }

  int64_t id_of(uint64_t key) {
    for (uint64_t slot = slot_of(key);; slot = (slot + 1) & mask_) {
      Slot& entry = slots_[slot];
      if (__builtin_expect(entry.key == key && entry.id >= 0, 1)) return entry.id;
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
  int64_t insert(Slot& entry, uint64_t key);
  void resize(size_t capacity);

  std::vector<Slot> slots_;
  std::vector<uint64_t> inserted_;
  uint64_t mask_ = 0;
  int shift_ = 64;
};

// The ranks of every chunk's local ids, given the chunks' tables: sorts the
// distinct keys into `index` and returns, per chunk, rank by local id.
std::vector<std::vector<int64_t>> rank_local_ids(const std::vector<KeyTable>& tables, LabelIndex& index);

// Writes each sample's id into `ids` and returns the index.
template <typename S>
LabelIndex index_labels(const S* data, int64_t n, const KeyRange& range, int64_t* ids) {
  LabelIndex index;
  index.min_key = range.min_key;
  Chunks chunks(n);
  if (indexes_directly(range.span(), n)) {
    index.size = static_cast<int64_t>(range.span()) + 1;
    chunks.run([&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) ids[i] = static_cast<int64_t>(label_to_key(data[i]) - range.min_key);
    });
    return index;
  }
  // Per-chunk tables hand out local ids; the distinct keys are sorted once,
  // and local ids are remapped to ranks.
  std::vector<KeyTable> tables(chunks.count);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    KeyTable& table = tables[c];
    for (int64_t i = begin; i < end; ++i) ids[i] = table.id_of(label_to_key(data[i]));
  });
  const std::vector<std::vector<int64_t>> rank_of_local = rank_local_ids(tables, index);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    const int64_t* rank = rank_of_local[c].data();
    for (int64_t i = begin; i < end; ++i) ids[i] = rank[ids[i]];
  });
  return index;
}

}  // namespace clustering_metrics::cpu
