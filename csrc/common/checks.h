// Argument checks shared by every backend, so C++ callers get the same
// messages as Python ones.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

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

}  // namespace clustering_metrics
