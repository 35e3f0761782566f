// count_into_table on the CPU (common/bounded_table.h).
#pragma once

#include "../common/bounded_table.h"
#include "../common/checks.h"

namespace clustering_metrics::cpu {

// Adds every sample to its slot of table; the arguments are checked.
void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded);

}  // namespace clustering_metrics::cpu
