// Argument checks shared by every backend, so C++ callers get the same
// messages as Python ones, and the one error macro of the library.
#pragma once

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "../common/bounded_table.h"
#include "../common/resampling.h"

namespace clustering_metrics {

using torch::stable::Tensor;
using ScalarType = torch::headeronly::ScalarType;

// Throws std::runtime_error with the arguments streamed together; torch
// turns it into Python's RuntimeError with exactly this message (unlike
// STD_TORCH_CHECK, which prefixes the function, file and line).
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream message;
  (message << ... << args);
  throw std::runtime_error(message.str());
}

#define CM_CHECK(cond, ...)                                  \
  do {                                                       \
    if (__builtin_expect(!(cond), 0)) ::clustering_metrics::fail(__VA_ARGS__); \
  } while (false)

inline std::string device_name(const torch::stable::Device& device) {
  std::string name;
  switch (device.type()) {
    case torch::headeronly::DeviceType::CPU: name = "cpu"; break;
    case torch::headeronly::DeviceType::CUDA: name = "cuda"; break;
    case torch::headeronly::DeviceType::Meta: name = "meta"; break;
    default: name = "device type " + std::to_string(static_cast<int>(device.type()));
  }
  return device.has_index() ? name + ":" + std::to_string(device.index()) : name;
}

inline std::string shape_of(const Tensor& t) {
  std::string shape = "[";
  for (int64_t d = 0; d < t.dim(); ++d) shape += (d ? ", " : "") + std::to_string(t.size(d));
  return shape + "]";
}

inline std::string shape_of_list(std::initializer_list<int64_t> shape) {
  std::string text = "[";
  int64_t d = 0;
  for (const int64_t extent : shape) text += (d++ ? ", " : "") + std::to_string(extent);
  return text + "]";
}

inline bool is_label_dtype(ScalarType t) {
  switch (t) {
    case ScalarType::Bool:
    case ScalarType::Byte:
    case ScalarType::Char:
    case ScalarType::Short:
    case ScalarType::Int:
    case ScalarType::Long:
    case ScalarType::UInt16:
    case ScalarType::UInt32:
    case ScalarType::UInt64:
      return true;
    default:
      return false;
  }
}

inline void check_label_tensor(const Tensor& t, const char* name) {
  CM_CHECK(is_label_dtype(t.scalar_type()), "Expected real, discrete values for ", name, " but received ",
           t.scalar_type(), ".");
  CM_CHECK(t.dim() == 1, "Expected ", name, " to be a 1-d tensor but got a ", t.dim(), "-d tensor.");
}

inline void check_label_pair(const Tensor& preds, const Tensor& target, const char* preds_name,
                             const char* target_name) {
  check_label_tensor(preds, preds_name);
  check_label_tensor(target, target_name);
  CM_CHECK(preds.numel() == target.numel(), "Expected ", preds_name, " and ", target_name,
           " to have the same length but got ", preds.numel(), " and ", target.numel(), ".");
  CM_CHECK(preds.device() == target.device(), "Expected ", preds_name, " and ", target_name,
           " on the same device but got ", device_name(preds.device()), " and ", device_name(target.device()), ".");
}

inline void check_counts(const Tensor& counts, const Tensor& labels, const char* name) {
  CM_CHECK(counts.scalar_type() == ScalarType::Long, "Expected ", name, " to be int64 but got ",
           counts.scalar_type(), ".");
  CM_CHECK(counts.dim() == 1 && counts.numel() == labels.numel(), "Expected ", name, " to be a 1-d tensor of length ",
           labels.numel(), " but got shape ", shape_of(counts), ".");
  CM_CHECK(counts.device() == labels.device(), "Expected ", name, " on ", device_name(labels.device()), " but got ",
           device_name(counts.device()), ".");
}

inline bool is_embedding_dtype(ScalarType t) {
  return t == ScalarType::Half || t == ScalarType::BFloat16 || t == ScalarType::Float || t == ScalarType::Double;
}

// Embeddings (n, d) of a float dtype, and their cluster ids: int64 in
// [0, num_clusters), one per row (the values are checked where they are read).
inline void check_embeddings(const Tensor& data, const Tensor& ids, int64_t num_clusters) {
  CM_CHECK(data.dim() == 2, "Expected data to be a 2-d tensor (samples x dimensions) but got a ", data.dim(),
           "-d tensor.");
  CM_CHECK(is_embedding_dtype(data.scalar_type()), "Expected data of a floating-point dtype but got ",
           data.scalar_type(), ".");
  CM_CHECK(ids.scalar_type() == ScalarType::Long && ids.dim() == 1 && ids.numel() == data.size(0),
           "Expected ids to be an int64 1-d tensor of ", data.size(0), " entries but got ", ids.scalar_type(),
           " of shape ", shape_of(ids), ".");
  CM_CHECK(ids.device() == data.device(), "Expected ids on ", device_name(data.device()), " but got ",
           device_name(ids.device()), ".");
  CM_CHECK(num_clusters >= 0, "Expected num_clusters to be non-negative but got ", num_clusters, ".");
}

// A float64 tensor of exactly this shape on the device of data.
inline void check_float64(const Tensor& t, const char* name, std::initializer_list<int64_t> shape, const Tensor& data) {
  bool same = t.dim() == static_cast<int64_t>(shape.size());
  int64_t d = 0;
  for (const int64_t extent : shape) same = same && t.size(d++) == extent;
  CM_CHECK(t.scalar_type() == ScalarType::Double && same, "Expected ", name, " to be a float64 tensor of shape ",
           shape_of_list(shape), " but got ", t.scalar_type(), " of shape ", shape_of(t), ".");
  CM_CHECK(t.device() == data.device(), "Expected ", name, " on ", device_name(data.device()), " but got ",
           device_name(t.device()), ".");
}

// The p of a p-norm: positive (infinity included), as torch.linalg.norm takes it.
inline void check_norm_order(double p) {
  CM_CHECK(p > 0, "Expected p to be a positive number (or infinity) but got ", p, ".");
}

// Number of cells of a rows x cols table, refused when cell keys would not fit 64 bits.
inline uint64_t checked_cell_count(uint64_t rows, uint64_t cols) {
  uint64_t num_cells = 0;
  CM_CHECK(!__builtin_mul_overflow(rows, cols, &num_cells), "pair_histogram: ", rows, " x ", cols,
           " distinct label pairs do not fit 64-bit cell keys.");
  return num_cells;
}

// The bootstrap's histogram counts (int64, 1-d; their values are checked
// where they are read) and how many resamples, from which stream.
inline void check_bootstrap_arguments(const Tensor& counts, int64_t num_resamples, int64_t first_resample) {
  CM_CHECK(counts.scalar_type() == ScalarType::Long && counts.dim() == 1,
           "Expected counts to be an int64 1-d tensor but got ", counts.scalar_type(), " of shape ",
           shape_of(counts), ".");
  CM_CHECK(num_resamples >= 0, "Expected num_resamples to be non-negative but got ", num_resamples, ".");
  CM_CHECK(first_resample >= 0 && first_resample <= INT64_MAX - num_resamples,
           "Expected first_resample in [0, 2^63 - 1 - num_resamples] but got ", first_resample, ".");
  CM_CHECK(counts.numel() == 0 || num_resamples <= INT64_MAX / counts.numel(), "bootstrap_counts: ",
           num_resamples, " resamples of ", counts.numel(), " cells are more entries than a tensor holds.");
}

// The total a bootstrap resamples: at most the 2^53 samples its draws count exactly.
inline void check_resample_total(int64_t total) {
  CM_CHECK(total <= kMaxResampleTotal, "bootstrap_counts: the counts sum to ", total,
           ", more than the 2^53 samples a resample draws exactly.");
}

// Per-sample weights must be non-negative and sum to an int64 total; each
// backend reduces them to (lowest weight, whether the sum overflowed).
inline void check_weight_summary(int64_t lowest, bool overflowed) {
  CM_CHECK(lowest >= 0, "Expected counts to be non-negative but found ", lowest, ".");
  CM_CHECK(!overflowed, "Expected counts to sum to at most 2^63 - 1.");
}

// The table of count_into_table for labels in [0, num_pred_ids) x [0, num_target_ids).
inline BoundedTable check_bounded_table(const Tensor& table, int64_t num_pred_ids, int64_t num_target_ids,
                                        const Tensor& labels) {
  CM_CHECK(num_pred_ids >= 1 && num_target_ids >= 1,
           "Expected num_pred_clusters and num_target_clusters to be positive but got ", num_pred_ids, " and ",
           num_target_ids, ".");
  CM_CHECK(static_cast<uint64_t>(num_pred_ids) <= kMaxBoundedSlots &&
               static_cast<uint64_t>(num_target_ids) <= kMaxBoundedSlots &&
               static_cast<uint64_t>(num_pred_ids) * static_cast<uint64_t>(num_target_ids) < kMaxBoundedSlots,
           "Expected num_pred_clusters x num_target_clusters below 2^32 - 1 but got ", num_pred_ids, " x ",
           num_target_ids, "; for more cells, leave the bounds out.");
  const BoundedTable bounded{static_cast<uint32_t>(num_pred_ids), static_cast<uint32_t>(num_target_ids)};
  CM_CHECK(table.scalar_type() == ScalarType::Long, "Expected table to be int64 but got ", table.scalar_type(),
           ".");
  CM_CHECK(table.dim() == 1 && table.numel() == static_cast<int64_t>(bounded.num_slots()) && table.is_contiguous(),
           "Expected table to be a contiguous 1-d tensor of num_pred_clusters x num_target_clusters + 1 = ",
           bounded.num_slots(), " entries but got shape ", shape_of(table), ".");
  CM_CHECK(table.device() == labels.device(), "Expected table on ", device_name(labels.device()), " but got ",
           device_name(table.device()), ".");
  return bounded;
}

}  // namespace clustering_metrics
