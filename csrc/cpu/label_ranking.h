// Stage 2: each side's labels as dense ids that preserve label order. A side
// with a small range is indexed directly (id = key - min_key); a wide one is
// ranked among its distinct labels: by hashing while that is cheap, by
// sorting otherwise, so that no choice of label values makes it slow.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "../common/counting_plan.h"
#include "../common/labels.h"
#include "key_range.h"
#include "pipeline.h"
#include "radix_sort.h"

namespace clustering_metrics::cpu {

// The seed of every hash table of label keys: random per process, so that
// nobody can choose labels that collide, unless CLUSTERING_METRICS_HASH_SEED
// sets it (for tests that plant collisions).
uint64_t hash_seed();

// murmur3's 64-bit finaliser of key ^ seed: a bijection whose every output
// bit depends on every input bit.
inline uint64_t mix(uint64_t key, uint64_t seed) {
  key ^= seed;
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ull;
  key ^= key >> 33;
  return key;
}

// Open-addressing table from label key to first-seen local id, on a work
// budget: it gives up (returns kGaveUp) once it holds kMaxKeys keys, where
// sorting ranks faster, or once its lookups have probed more than a few
// slots each on average, which only colliding keys make happen. Key and id
// share a slot so that a lookup touches one cache line.
class KeyTable {
 public:
  static constexpr int64_t kGaveUp = -1;
  static constexpr size_t kMaxKeys = size_t{1} << 17;

  explicit KeyTable(uint64_t seed) : seed_(seed) { resize(1 << 10); }

  int64_t id_of(uint64_t key) {
    ++lookups_;
    for (uint64_t slot = slot_of(key);; slot = (slot + 1) & mask_) {
      Slot& entry = slots_[slot];
      if (__builtin_expect(entry.key == key && entry.id >= 0, 1)) return entry.id;
      if (entry.id < 0) return insert(entry, key);
      if (__builtin_expect(++probes_ > 4 * lookups_ + 4096, 0)) return kGaveUp;
    }
  }
  const std::vector<uint64_t>& inserted() const { return inserted_; }

 private:
  struct Slot {
    uint64_t key = 0;
    int64_t id = -1;
  };

  uint64_t slot_of(uint64_t key) const { return mix(key, seed_) >> shift_; }
  int64_t insert(Slot& entry, uint64_t key);
  void resize(size_t capacity);

  std::vector<Slot> slots_;
  std::vector<uint64_t> inserted_;
  uint64_t seed_;
  uint64_t mask_ = 0;
  int shift_ = 64;
  int64_t lookups_ = 0;
  int64_t probes_ = 0;
};

// A side read through a small read-only table of the labels a strided sample
// of it saw, mapped to their ranks: one pass counts a side of a few labels
// far apart (say 0 and 5 * 10^6), which a direct index would spread over
// millions of ids. A label the sample missed maps past the last id, and the
// counting pass then stops, as for a guessed range that was too small.
class SampledLabels {
 public:
  static constexpr int64_t kMaxLabels = 512;
  static constexpr uint64_t kMiss = UINT64_MAX;
  struct Slot {
    uint64_t raw = 0;
    uint64_t rank = kMiss;  // an empty slot
  };

  // What the counting loop holds: the table's address and multiplier by
  // value, so they stay in registers. Read through a pointer to the table
  // object they would be reloaded after every counter store, which to the
  // compiler may alias them.
  struct Lookup {
    const Slot* slots;
    uint64_t multiplier;
    // Stops at the label's slot or at an empty one and returns its rank: an
    // empty slot's is kMiss, even when its raw bits equal the label.
    uint64_t rank_of(uint64_t raw) const {
      for (uint64_t slot = (raw * multiplier) >> kShift;; slot = (slot + 1) & (kSlots - 1)) {
        if (slots[slot].raw == raw || slots[slot].rank == kMiss) return slots[slot].rank;
      }
    }
  };

  // raw: the raw bits of the distinct labels, in increasing key order (their ranks).
  SampledLabels(const std::vector<uint64_t>& raw, uint64_t seed);
  Lookup lookup() const { return {slots_.data(), multiplier_}; }

 private:
  static constexpr int kLog2Slots = 10;
  static constexpr uint64_t kSlots = uint64_t{1} << kLog2Slots;
  static constexpr int kShift = 64 - kLog2Slots;
  std::vector<Slot> slots_;
  // Multiply-shift hashing: one multiplication a lookup, as this runs once
  // per sample. The odd multiplier comes from the seed, so it cannot be
  // aimed at; and with at most 512 labels in 1024 slots no lookup probes far.
  uint64_t multiplier_;
};

// Labels of width U read through SampledLabels.
template <typename U>
struct SampledIds {
  const U* data;
  SampledLabels::Lookup labels;
  uint64_t operator()(int64_t i) const { return labels.rank_of(static_cast<uint64_t>(data[i])); }
  void prefetch(int64_t i) const { __builtin_prefetch(data + i, /*rw=*/0, /*locality=*/3); }
};

// The distinct labels of the strided sample that sampled_key_range reads,
// when there are at most SampledLabels::kMaxLabels of them; else none.
template <typename S>
bool sample_distinct_labels(const S* data, int64_t n, std::vector<uint64_t>& keys, std::vector<uint64_t>& raw) {
  using U = RawBits<S>;
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  for_each_sampled(n, [&](int64_t i) {
    seen.emplace_back(label_to_key(data[i]), static_cast<uint64_t>(reinterpret_cast<const U*>(data)[i]));
  });
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  if (static_cast<int64_t>(seen.size()) > SampledLabels::kMaxLabels) return false;
  keys.clear();
  raw.clear();
  for (const auto& [key, bits] : seen) {
    keys.push_back(key);
    raw.push_back(bits);
  }
  return true;
}

// Writes each sample's id into ids (an unsigned type wide enough for n) and
// returns the index; the distinct keys are kept only when keep_keys is set
// (they are needed to write labels back out, not to count).
template <typename Id, typename S>
LabelIndex index_labels(const S* data, int64_t n, const KeyRange& range, Id* ids, bool keep_keys);

// ---------------------------------------------------------------- details

// Ranks by per-chunk hash tables, or returns false if one gave up.
template <typename Id, typename S>
bool rank_by_hashing(const S* data, int64_t n, Id* ids, LabelIndex& index, bool keep_keys);

// Ranks by sorting (key, sample) pairs: a most-significant-digit scatter into
// buckets of a few thousand, then an in-cache sort of each bucket, whose runs
// of equal keys are the ranks. Never slow whatever the labels: O(n) passes.
template <typename Id, typename S>
void rank_by_sorting(const S* data, int64_t n, const KeyRange& range, Id* ids, LabelIndex& index, bool keep_keys);

template <typename Id, typename S>
LabelIndex index_labels(const S* data, int64_t n, const KeyRange& range, Id* ids, bool keep_keys) {
  LabelIndex index;
  index.min_key = range.min_key;
  if (indexes_directly(range.span(), n)) {
    index.size = static_cast<int64_t>(range.span()) + 1;
    Chunks(n).run([&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) ids[i] = static_cast<Id>(label_to_key(data[i]) - range.min_key);
    });
    return index;
  }
  index.ranked = true;
  if (!rank_by_hashing(data, n, ids, index, keep_keys)) rank_by_sorting(data, n, range, ids, index, keep_keys);
  return index;
}

// The ranks of every chunk's local ids, given the chunks' tables: sorts the
// distinct keys and returns, per chunk, rank by local id.
std::vector<std::vector<int64_t>> rank_local_ids(const std::vector<KeyTable>& tables, LabelIndex& index,
                                                 bool keep_keys);

template <typename Id, typename S>
bool rank_by_hashing(const S* data, int64_t n, Id* ids, LabelIndex& index, bool keep_keys) {
  Chunks chunks(n);
  const uint64_t seed = hash_seed();
  std::vector<KeyTable> tables(chunks.count, KeyTable(seed));
  std::vector<char> gave_up(chunks.count, 0);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    KeyTable& table = tables[c];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t id = table.id_of(label_to_key(data[i]));
      if (id == KeyTable::kGaveUp) {
        gave_up[c] = 1;
        return;
      }
      ids[i] = static_cast<Id>(id);
    }
  });
  for (char g : gave_up) {
    if (g) return false;
  }
  const std::vector<std::vector<int64_t>> rank_of_local = rank_local_ids(tables, index, keep_keys);
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    const int64_t* rank = rank_of_local[c].data();
    for (int64_t i = begin; i < end; ++i) ids[i] = static_cast<Id>(rank[ids[i]]);
  });
  return true;
}

template <typename Id, typename S>
void rank_by_sorting(const S* data, int64_t n, const KeyRange& range, Id* ids, LabelIndex& index, bool keep_keys) {
  const int key_bits = bit_width(range.span());
  const int top_bits = std::min(key_bits, 12);
  const int low_bits = key_bits - top_bits;
  const int64_t num_buckets = int64_t{1} << top_bits;
  const uint64_t min_key = range.min_key;
  Array<uint64_t> keys(n);  // bucketed key offsets
  Array<Id> samples(n);     // and their sample indices
  const std::vector<int64_t> bucket_begin = *scatter_into_buckets(
      n, num_buckets,
      [&](int64_t begin, int64_t end, int64_t* counts) {
        for (int64_t i = begin; i < end; ++i) ++counts[(label_to_key(data[i]) - min_key) >> low_bits];
        return true;
      },
      [&](int64_t begin, int64_t end, int64_t* next) {
        for (int64_t i = begin; i < end; ++i) {
          const uint64_t key = label_to_key(data[i]) - min_key;
          const int64_t dst = next[key >> low_bits]++;
          keys[dst] = key;
          samples[dst] = static_cast<Id>(i);
        }
      });

  // Sort each bucket and count its distinct keys; then, from the ranks that
  // precede each bucket, write every sample's rank.
  std::vector<int64_t> distinct_in_bucket(num_buckets + 1, 0);
  parallel_for(0, num_buckets, grain_for(num_buckets, kSortWork * n), [&](int64_t first, int64_t last) {
    int64_t largest = 0;
    for (int64_t b = first; b < last; ++b) largest = std::max(largest, bucket_begin[b + 1] - bucket_begin[b]);
    std::vector<uint64_t> key_scratch(largest);
    std::vector<Id> sample_scratch(largest);
    std::vector<int64_t> digit_counts;
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = bucket_begin[b], size = bucket_begin[b + 1] - begin;
      sort_low_bits(keys.data() + begin, samples.data() + begin, key_scratch.data(), sample_scratch.data(), size,
                    low_bits, digit_counts);
      int64_t distinct = 0;
      for (int64_t i = begin; i < begin + size; ++i) distinct += i == begin || keys[i] != keys[i - 1];
      distinct_in_bucket[b + 1] = distinct;
    }
  });
  for (int64_t b = 0; b < num_buckets; ++b) distinct_in_bucket[b + 1] += distinct_in_bucket[b];
  index.size = distinct_in_bucket[num_buckets];
  if (keep_keys) index.sorted_keys.resize(index.size);
  parallel_for(0, num_buckets, grain_for(num_buckets, kSortWork * n), [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      int64_t rank = distinct_in_bucket[b] - 1;
      for (int64_t i = bucket_begin[b]; i < bucket_begin[b + 1]; ++i) {
        if (i == bucket_begin[b] || keys[i] != keys[i - 1]) {
          ++rank;
          if (keep_keys) index.sorted_keys[rank] = keys[i] + min_key;
        }
        ids[samples[i]] = static_cast<Id>(rank);
      }
    }
  });
}

}  // namespace clustering_metrics::cpu
