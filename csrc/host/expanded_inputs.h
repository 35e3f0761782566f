// Inputs made by expand(): a 1-d tensor of stride 0 holds one value n times
// in one element of storage. Copying it would cost n elements (34 GB for
// 2^32 int64 labels), so every op first rewrites such an input as an
// equivalent compact one: the same contingency table, from at most as many
// samples as the other side has distinct labels. The backends share this
// rewrite; `histogram` is the backend's own pair histogram, called on
// inputs without repeats.
#pragma once

#include <torch/csrc/stable/ops.h>

#include <array>
#include <optional>
#include <tuple>

#include "checks.h"

namespace clustering_metrics {

struct CountingInput {
  Tensor preds;
  Tensor target;
  std::optional<Tensor> weights;  // a non-negative int64 multiplicity per sample
};

// Whether t is one value repeated, as expand() makes it.
inline bool repeats(const Tensor& t) { return t.dim() == 1 && t.numel() > 1 && t.stride(0) == 0; }

namespace detail {

// The first n elements of a repeated side as their own contiguous tensor.
inline Tensor first_elements(Tensor t, int64_t n) {
  return torch::stable::contiguous(torch::stable::narrow(t, 0, 0, n));
}

inline Tensor host_int64(int64_t value) {
  Tensor t = torch::stable::empty({1}, ScalarType::Long);
  *static_cast<int64_t*>(t.mutable_data_ptr()) = value;
  return t;
}

inline int64_t first_value(const Tensor& t) {
  const Tensor host = torch::stable::to(first_elements(t, 1), torch::stable::Device(torch::headeronly::DeviceType::CPU));
  return *static_cast<const int64_t*>(host.const_data_ptr());
}

// counts * factor, where no product overflows (checked by the caller).
inline Tensor times(const Tensor& counts, int64_t factor) {
  std::array<StableIValue, 2> stack{torch::stable::detail::from(counts),
                                    torch::stable::detail::from(torch::stable::to(host_int64(factor), counts.device()))};
  STABLE_TORCH_ERROR_CODE_CHECK(torch_call_dispatcher("aten::mul", "Tensor", stack.data(), TORCH_ABI_VERSION));
  return torch::stable::detail::to<Tensor>(stack[0]);
}

}  // namespace detail

// The input with no repeated side, counting the same table. Each rewrite
// calls histogram once, on a side that does not repeat (or on the weights
// read as labels, to sum them with their checks).
template <typename Histogram>
CountingInput without_repeats(CountingInput input, Histogram&& histogram) {
  using detail::first_elements;
  const int64_t n = input.preds.numel();
  if (input.weights.has_value() && repeats(*input.weights)) {
    // Every sample weighs w: the unweighted table, times w.
    const int64_t w = detail::first_value(*input.weights);
    int64_t total = 0;
    check_weight_summary(w < 0 ? w : 0, __builtin_mul_overflow(n, w, &total));
    if (w == 0) {
      return {torch::stable::narrow(input.preds, 0, 0, 0), torch::stable::narrow(input.target, 0, 0, 0),
              torch::stable::narrow(*input.weights, 0, 0, 0)};
    }
    const CountingInput unweighted = without_repeats(CountingInput{input.preds, input.target, std::nullopt}, histogram);
    auto [pred_labels, target_labels, counts] = histogram(unweighted.preds, unweighted.target, unweighted.weights);
    return {pred_labels, target_labels, detail::times(counts, w)};
  }
  const bool pred_repeats = repeats(input.preds), target_repeats = repeats(input.target);
  if (pred_repeats && target_repeats) {
    if (!input.weights.has_value()) {
      return {first_elements(input.preds, 1), first_elements(input.target, 1),
              torch::stable::to(detail::host_int64(n), input.preds.device())};
    }
    // One cell, of the weights' sum: the weights' own histogram sums (and
    // checks) them, in as many samples as they have distinct values.
    const Tensor& weights = *input.weights;
    auto [values, same_values, counts] = histogram(weights, weights, weights);
    const int64_t k = counts.numel();
    return {first_elements(input.preds, k), first_elements(input.target, k), counts};
  }
  if (pred_repeats) {
    auto [labels, same_labels, counts] = histogram(input.target, input.target, input.weights);
    return {first_elements(input.preds, counts.numel()), labels, counts};
  }
  if (target_repeats) {
    auto [labels, same_labels, counts] = histogram(input.preds, input.preds, input.weights);
    return {labels, first_elements(input.target, counts.numel()), counts};
  }
  return input;
}

}  // namespace clustering_metrics
