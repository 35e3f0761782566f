// The one place that decides how a contingency table is counted, for every
// backend: which sides index their labels directly, and whether the pair
// space is counted in a dense table or by sorting pair keys.
#pragma once

#include "host_device.h"

namespace clustering_metrics {

// The range of one side's label keys (labels.h), exact or guessed.
struct KeyRange {
  uint64_t min_key = 0;
  uint64_t max_key = 0;
  CM_HOST_DEVICE uint64_t span() const { return max_key - min_key; }
};

// A side whose labels span at most this many consecutive values is indexed
// directly by (key - min_key); wider sides are compacted to ranks first. The
// limit keeps the per-label marginal array within the input's size, or
// within 2 MiB, where ranking would cost more than the array.
CM_HOST_DEVICE uint64_t direct_index_limit(int64_t num_samples) {
  const uint64_t half = static_cast<uint64_t>(num_samples) / 2;
  const uint64_t floor_limit = uint64_t{1} << 18;
  const uint64_t cap = uint64_t{1} << 26;
  const uint64_t limit = half > floor_limit ? half : floor_limit;
  return limit < cap ? limit : cap;
}

CM_HOST_DEVICE bool indexes_directly(uint64_t key_span, int64_t num_samples) {
  return key_span < direct_index_limit(num_samples);
}

// A pair space of at most this many cells is counted in a dense table;
// larger ones are counted by sorting pair keys. Scanning a cell costs far
// less than sorting a sample, hence up to 4 cells per sample.
CM_HOST_DEVICE uint64_t dense_table_limit(int64_t num_samples) {
  const uint64_t cells = 4 * static_cast<uint64_t>(num_samples);
  const uint64_t floor_limit = uint64_t{1} << 16;
  const uint64_t cap = uint64_t{1} << 22;
  const uint64_t limit = cells > floor_limit ? cells : floor_limit;
  return limit < cap ? limit : cap;
}

CM_HOST_DEVICE bool counts_in_dense_table(uint64_t num_cells, int64_t num_samples) {
  return num_cells <= dense_table_limit(num_samples);
}

// Bits needed to write x: the key width a radix sort has to look at.
CM_HOST_DEVICE int bit_width(uint64_t x) {
  int bits = 0;
  while (bits < 64 && (x >> bits) != 0) ++bits;
  return bits;
}

}  // namespace clustering_metrics
