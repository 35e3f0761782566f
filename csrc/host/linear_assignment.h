// The linear sum assignment problem on integer costs, solved exactly: the
// shortest augmenting path algorithm of Jonker and Volgenant in the
// rectangular form of Crouse (2016), "On implementing 2D rectangular
// assignment algorithms". Integer costs keep every dual variable and path
// length exact, so the optimum is exact too (float costs are not: float32
// counts, as torchmetrics uses, are inexact past 2^24 samples). Host code,
// for both backends: after a GPU histogram the table is small, and the
// algorithm is a sequence of dependent shortest-path searches.
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "checks.h"

namespace clustering_metrics {

// For a rows x cols cost matrix (row-major, rows <= cols), the column
// assigned to each row in an assignment of least total cost. Every cost
// must lie in [0, 2^62 / rows), so that no path length overflows.
std::vector<int64_t> assign_rows(int64_t rows, int64_t cols, const int64_t* cost);

// The linear_sum_assignment op on a CPU int64 cost matrix, as scipy's
// function of that name: (row indices in increasing order, their columns),
// min(rows, cols) of each, of an assignment of least (or, with maximize,
// most) total cost.
std::tuple<Tensor, Tensor> linear_sum_assignment(const Tensor& cost, bool maximize);

}  // namespace clustering_metrics
