// The expected mutual information of two random labelings with the given
// cluster totals (zeros are ignored), computed on the CPU for every backend:
// it needs only the totals, and long double precision (expected_mutual_info.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace clustering_metrics::cpu {

double expected_mutual_info(const std::vector<int64_t>& pred_totals, const std::vector<int64_t>& target_totals,
                            int64_t total);

}  // namespace clustering_metrics::cpu
