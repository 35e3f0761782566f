// Op schemas. Kernels live in cpu/ and cuda/; fake (meta) kernels are
// registered from Python in clustering_metrics/ops.py. Everything is
// registered through the LibTorch stable ABI, so one binary loads under every
// torch from the targeted version (TORCH_TARGET_VERSION) on.
#include <torch/csrc/stable/library.h>

STABLE_TORCH_LIBRARY(clustering_metrics, m) {
  m.def(
      "pair_histogram(Tensor preds, Tensor target, Tensor? counts=None) -> "
      "(Tensor pred_labels, Tensor target_labels, Tensor counts)");
  m.def("mutual_info_from_histogram(Tensor pred_labels, Tensor target_labels, Tensor counts) -> Tensor");
  m.def("mutual_info_score(Tensor preds, Tensor target) -> Tensor");
  m.def(
      "contingency_summary(Tensor preds, Tensor target, Tensor? counts=None, bool expected_mutual_info=False) -> "
      "(Tensor pred_totals, Tensor target_totals, Tensor integers, Tensor reals)");
  m.def(
      "count_into_table(Tensor preds, Tensor target, Tensor(a!) table, int num_pred_clusters, "
      "int num_target_clusters) -> ()");
}
