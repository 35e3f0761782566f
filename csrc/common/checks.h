// Argument checks shared by every backend, so C++ callers get the same
// messages as Python ones.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <optional>

namespace clustering_metrics {

inline bool is_label_dtype(at::ScalarType t) {
  return at::isIntegralType(t, /*includeBool=*/true);
}

inline void check_label_tensor(const at::Tensor& t, const char* name) {
  TORCH_CHECK(is_label_dtype(t.scalar_type()),
              "Expected real, discrete values for ", name, " but received ", t.scalar_type(), ".");
  TORCH_CHECK(t.dim() == 1, "Expected ", name, " to be a 1-d tensor but got a ", t.dim(), "-d tensor.");
}

inline void check_label_pair(const at::Tensor& preds, const at::Tensor& target,
                             const char* preds_name, const char* target_name) {
  check_label_tensor(preds, preds_name);
  check_label_tensor(target, target_name);
  TORCH_CHECK(preds.numel() == target.numel(), "Expected ", preds_name, " and ", target_name,
              " to have the same length but got ", preds.numel(), " and ", target.numel(), ".");
  TORCH_CHECK(preds.device() == target.device(), "Expected ", preds_name, " and ", target_name,
              " on the same device but got ", preds.device(), " and ", target.device(), ".");
}

inline void check_counts(const at::Tensor& counts, const at::Tensor& labels, const char* name) {
  TORCH_CHECK(counts.scalar_type() == at::kLong, "Expected ", name, " to be int64 but got ",
              counts.scalar_type(), ".");
  TORCH_CHECK(counts.dim() == 1 && counts.numel() == labels.numel(), "Expected ", name,
              " to be a 1-d tensor of length ", labels.numel(), " but got shape ", counts.sizes(), ".");
  TORCH_CHECK(counts.device() == labels.device(), "Expected ", name, " on ", labels.device(),
              " but got ", counts.device(), ".");
}

// Number of cells of a rows x cols table, refused when cell keys would not fit 64 bits.
inline uint64_t checked_cell_count(uint64_t rows, uint64_t cols) {
  uint64_t num_cells = 0;
  TORCH_CHECK(!__builtin_mul_overflow(rows, cols, &num_cells), "pair_histogram: ", rows, " x ", cols,
              " distinct label pairs do not fit 64-bit cell keys.");
  return num_cells;
}

// Per-sample weights must be non-negative and sum to an int64 total; each
// backend reduces them to (lowest weight, whether the sum overflowed).
inline void check_weight_summary(int64_t lowest, bool overflowed) {
  TORCH_CHECK(lowest >= 0, "Expected counts to be non-negative but found ", lowest, ".");
  TORCH_CHECK(!overflowed, "Expected counts to sum to at most 2^63 - 1.");
}

}  // namespace clustering_metrics
