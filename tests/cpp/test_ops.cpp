// Calls the clustering_metrics ops through the dispatcher, as a C++ user of
// the CMake package would, and checks them against the MI formula evaluated
// here independently in double precision. Exits non-zero on any failure.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

// MI = sum_ij (n_ij/N) log(N n_ij / (a_i b_j)), straight from the definition.
double reference_mutual_info(const std::vector<int64_t>& preds, const std::vector<int64_t>& target) {
  std::map<std::pair<int64_t, int64_t>, double> joint;
  std::map<int64_t, double> pred_sizes, target_sizes;
  for (size_t k = 0; k < preds.size(); ++k) {
    joint[{preds[k], target[k]}] += 1;
    pred_sizes[preds[k]] += 1;
    target_sizes[target[k]] += 1;
  }
  const double n = static_cast<double>(preds.size());
  double mi = 0;
  for (const auto& [pair, n_ij] : joint) {
    mi += n_ij / n * std::log(n * n_ij / (pred_sizes[pair.first] * target_sizes[pair.second]));
  }
  return mi;
}

at::Tensor labels(const std::vector<int64_t>& values) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong));
}

void check_mutual_info_score(const std::vector<int64_t>& preds, const std::vector<int64_t>& target) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("clustering_metrics::mutual_info_score", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  const at::Tensor mi = op.call(labels(preds), labels(target));
  const double expected = reference_mutual_info(preds, target);
  std::printf("      mutual_info_score = %.17g, formula = %.17g\n", mi.item<double>(), expected);
  expect(mi.dim() == 0 && mi.scalar_type() == at::kDouble, "mutual_info_score returns a float64 scalar");
  expect(std::abs(mi.item<double>() - expected) <= 1e-12, "mutual_info_score matches the formula");
}

void check_pair_histogram() {
  auto op = c10::Dispatcher::singleton()
                .findSchemaOrThrow("clustering_metrics::pair_histogram", "")
                .typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                      const std::optional<at::Tensor>&)>();
  auto [pred_labels, target_labels, counts] =
      op.call(labels({2, 1, 0, 1, 0}), labels({0, 2, 1, 1, 0}), std::nullopt);
  // The five samples are five distinct (pred, target) pairs, sorted by pred then target.
  expect(at::equal(pred_labels, labels({0, 0, 1, 1, 2})), "pair_histogram pred labels");
  expect(at::equal(target_labels, labels({0, 1, 1, 2, 0})), "pair_histogram target labels");
  expect(at::equal(counts, labels({1, 1, 1, 1, 1})), "pair_histogram counts");

  // Repeated pairs are counted: preds [0,0,1] x target [5,5,5] -> (0,5):2, (1,5):1.
  auto [merged_pred, merged_target, merged_counts] = op.call(labels({0, 0, 1}), labels({5, 5, 5}), std::nullopt);
  expect(at::equal(merged_pred, labels({0, 1})) && at::equal(merged_target, labels({5, 5})) &&
             at::equal(merged_counts, labels({2, 1})),
         "pair_histogram counts repeated pairs");
}

}  // namespace

int main() {
  check_mutual_info_score({2, 1, 0, 1, 0}, {0, 2, 1, 1, 0});
  check_mutual_info_score({1, 3, 2, 0, 1}, {0, 3, 2, 2, 1});
  check_pair_histogram();
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
