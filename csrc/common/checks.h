// Argument checks shared by every backend, so C++ callers get the same
// messages as Python ones, and the one error macro of the library.
#pragma once

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

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

// Number of cells of a rows x cols table, refused when cell keys would not fit 64 bits.
inline uint64_t checked_cell_count(uint64_t rows, uint64_t cols) {
  uint64_t num_cells = 0;
  CM_CHECK(!__builtin_mul_overflow(rows, cols, &num_cells), "pair_histogram: ", rows, " x ", cols,
           " distinct label pairs do not fit 64-bit cell keys.");
  return num_cells;
}

// Per-sample weights must be non-negative and sum to an int64 total; each
// backend reduces them to (lowest weight, whether the sum overflowed).
inline void check_weight_summary(int64_t lowest, bool overflowed) {
  CM_CHECK(lowest >= 0, "Expected counts to be non-negative but found ", lowest, ".");
  CM_CHECK(!overflowed, "Expected counts to sum to at most 2^63 - 1.");
}

}  // namespace clustering_metrics
