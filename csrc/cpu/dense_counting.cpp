#include "dense_counting.h"

#include <algorithm>

namespace clustering_metrics::cpu {

void DenseCounts::sum_into(int64_t begin, int64_t end, int64_t* out) const {
  const int64_t size = end - begin;
  std::fill(out, out + size, 0);
  for (int64_t c = 0; c < num_narrow; ++c) {
    const uint8_t* table = narrow.data() + c * num_cells + begin;
    for (int64_t k = 0; k < size; ++k) out[k] += table[k];
  }
  for (const Array<int64_t>& wide_table : wide) {
    if (wide_table.size() == 0) continue;
    const int64_t* table = wide_table.data() + begin;
    for (int64_t k = 0; k < size; ++k) out[k] += table[k];
  }
}

}  // namespace clustering_metrics::cpu
