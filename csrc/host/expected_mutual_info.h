// The expected mutual information of two random labelings with the given
// cluster totals, computed on the host for every backend: it needs only the
// distinct totals and their multiplicities (a few KB, copied back from a
// GPU), and long double precision, which GPUs lack (expected_mutual_info.cpp).
#pragma once

#include <cstdint>

#include "count_tally.h"

namespace clustering_metrics {

double expected_mutual_info(const CountTally& pred_totals, const CountTally& target_totals, int64_t total);

}  // namespace clustering_metrics
