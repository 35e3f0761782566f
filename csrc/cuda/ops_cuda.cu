// CUDA implementations of the clustering_metrics ops, mirroring cpu/ops_cpu.cpp.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <vector>

#include "../common/checks.h"
#include "../common/summary.h"
#include "../cpu/expected_mutual_info.h"
#include "cuda_utils.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// The ops read label ranges and output sizes back to the host, which a CUDA
// graph cannot record; refusing up front leaves the capture in a clean state.
void check_not_capturing(const char* op) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  C10_CUDA_CHECK(cudaStreamIsCapturing(current_stream(), &capture));
  TORCH_CHECK(capture == cudaStreamCaptureStatusNone, "clustering_metrics::", op,
              " cannot be captured in a CUDA graph: it synchronises to read label ranges and output sizes "
              "back to the host. Call it outside the captured region.");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> pair_histogram_cuda(const at::Tensor& preds, const at::Tensor& target,
                                                                   const std::optional<at::Tensor>& counts) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const c10::cuda::CUDAGuard device_guard(preds.device());
  check_not_capturing("pair_histogram");
  const PairCells cells = count_pair_cells(preds, target, counts);
  return histogram_of(cells, preds.scalar_type(), target.scalar_type());
}

at::Tensor mutual_info_of(const PairCells& cells) { return summarize(cells).reals[kMutualInfo].clone(); }

at::Tensor mutual_info_from_histogram_cuda(const at::Tensor& pred_labels, const at::Tensor& target_labels,
                                           const at::Tensor& counts) {
  check_label_pair(pred_labels, target_labels, "pred_labels", "target_labels");
  check_counts(counts, pred_labels, "counts");
  const c10::cuda::CUDAGuard device_guard(pred_labels.device());
  check_not_capturing("mutual_info_from_histogram");
  return mutual_info_of(count_pair_cells(pred_labels, target_labels, counts));
}

at::Tensor mutual_info_score_cuda(const at::Tensor& preds, const at::Tensor& target) {
  check_label_pair(preds, target, "preds", "target");
  const c10::cuda::CUDAGuard device_guard(preds.device());
  check_not_capturing("mutual_info_score");
  return mutual_info_of(count_pair_cells(preds, target, std::nullopt));
}

cpu::CountTally tally_on_host(const at::Tensor& totals) {
  const at::Tensor host = totals.cpu();
  cpu::CountTally tally;
  tally.add(host.const_data_ptr<int64_t>(), host.numel());
  return tally;
}

// The EMI runs on the CPU from the copied-back totals: it needs only them
// (at most about sqrt(2N) distinct values a side, so a few KB), and long
// double precision, which GPUs lack.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> contingency_summary_cuda(
    const at::Tensor& preds, const at::Tensor& target, const std::optional<at::Tensor>& counts,
    bool with_expected_mutual_info) {
  check_label_pair(preds, target, "preds", "target");
  if (counts.has_value()) check_counts(*counts, preds, "counts");
  const c10::cuda::CUDAGuard device_guard(preds.device());
  check_not_capturing("contingency_summary");
  const PairCells cells = count_pair_cells(preds, target, counts);
  const Summary summary = summarize(cells);
  at::Tensor pred_totals = nonzero_entries(summary.row_totals);
  at::Tensor target_totals = nonzero_entries(summary.col_totals);
  if (with_expected_mutual_info) {
    const double emi = cpu::expected_mutual_info(tally_on_host(pred_totals), tally_on_host(target_totals), cells.total);
    summary.reals[kExpectedMutualInfo].fill_(emi);
  }
  return {pred_totals, target_totals, summary.integers, summary.reals};
}

}  // namespace

TORCH_LIBRARY_IMPL(clustering_metrics, CUDA, m) {
  m.impl("pair_histogram", &pair_histogram_cuda);
  m.impl("mutual_info_from_histogram", &mutual_info_from_histogram_cuda);
  m.impl("mutual_info_score", &mutual_info_score_cuda);
  m.impl("contingency_summary", &contingency_summary_cuda);
}

}  // namespace clustering_metrics::cuda
