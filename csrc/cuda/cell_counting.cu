// count_pair_cells: the choice of counting path for the GPU
// (common/counting_plan.h decides, as on the CPU). The side ranges are
// measured first (key_range.cu); small ranges on both sides count the raw
// labels in one pass into a dense table (dense_counting.cu); otherwise wide
// sides are ranked (label_ranking.cu) and the ids counted densely or by
// sorting pair keys (sorted_counting.cu). Only the key range and the dense
// counting kernels read raw labels; everything after works on uint64 ids and
// keys and exists once. The kernels are written against the portability
// layer (simt/simt.h), so that they also run in the emulator.
#include "cuda_utils.cuh"
#include "device_algorithms.cuh"
#include "pipeline.cuh"

namespace clustering_metrics::cuda {
namespace {

// bools[i] = (bytes[i] != 0): a bool tensor may hold any nonzero byte for
// True (a uint8 tensor viewed as bool), and the counting kernels read labels
// as raw bytes.
CM_KERNEL void normalize_bools_kernel(const uint8_t* __restrict__ bytes, int64_t n, uint8_t* bools) {
  for_each_index(n, [&](int64_t i) { bools[i] = bytes[i] != 0; });
}

}  // namespace

// The labels as a contiguous tensor whose bools are bytes 0 and 1.
Tensor contiguous_labels(const Tensor& labels) {
  const Tensor contiguous = torch::stable::contiguous(labels);
  if (contiguous.scalar_type() != ScalarType::Bool || contiguous.numel() == 0) return contiguous;
  Tensor normalized = torch::stable::empty_like(contiguous);
  const int64_t n = contiguous.numel();
  simt::launch("normalize_bools", normalize_bools_kernel, grid_for(n), kThreads, 0, current_stream(),
               cdata_of<uint8_t>(contiguous), n, data_of<uint8_t>(normalized));
  check_launch();
  return normalized;
}

void keep_positive(const uint64_t* keys, const Tensor& values, CellList& cells) {
  const int64_t m = values.numel();
  Tensor kept_keys = empty_long(m, values);
  Tensor kept_counts = empty_long(m, values);
  const int64_t kept = select_positive(keys, cdata_of<int64_t>(values), m, u64_ptr(kept_keys),
                                       data_of<int64_t>(kept_counts), values);
  cells.keys = torch::stable::narrow(kept_keys, 0, 0, kept);
  cells.counts = torch::stable::narrow(kept_counts, 0, 0, kept);
}

Tensor nonzero_entries(const Tensor& values) {
  CellList kept;
  keep_positive(nullptr, values, kept);
  return kept.counts;
}

CountedCells count_pair_cells(const Tensor& preds_in, const Tensor& target_in, const std::optional<Tensor>& weights_in,
                              bool /*keep_labels*/) {
  const Tensor preds = contiguous_labels(preds_in);
  const Tensor target = contiguous_labels(target_in);
  const int64_t n = preds.numel();
  CountedCells cells;
  cells.listed = {empty_long(0, preds), empty_long(0, preds)};
  if (n == 0) return cells;
  std::optional<Tensor> weights;
  if (weights_in.has_value()) weights = torch::stable::contiguous(*weights_in);

  const InputRanges ranges = measure_inputs(preds, target, weights);
  cells.total = ranges.total;
  if (cells.total == 0) return cells;

  if (indexes_directly(ranges.pred.span(), n) && indexes_directly(ranges.target.span(), n)) {
    cells.pred_index = {ranges.pred.min_key, static_cast<int64_t>(ranges.pred.span()) + 1, {}, false};
    cells.target_index = {ranges.target.min_key, static_cast<int64_t>(ranges.target.span()) + 1, {}, false};
    const uint64_t rows = static_cast<uint64_t>(cells.pred_index.size);
    const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
    if (counts_in_dense_table(rows * cols, n)) {
      // Fast path: one pass over the raw labels into a dense table.
      count_dense(preds, raw_bits_of_key(preds.scalar_type(), ranges.pred.min_key), target,
                  raw_bits_of_key(target.scalar_type(), ranges.target.min_key), rows, cols, weights, cells.listed);
      return cells;
    }
  }
  const Tensor pred_ids = index_labels(preds, ranges.pred, cells.pred_index);
  const Tensor target_ids = index_labels(target, ranges.target, cells.target_index);
  const uint64_t rows = static_cast<uint64_t>(cells.pred_index.size);
  const uint64_t cols = static_cast<uint64_t>(cells.target_index.size);
  const uint64_t num_cells = checked_cell_count(rows, cols);
  if (counts_in_dense_table(num_cells, n)) {
    count_dense(pred_ids, 0, target_ids, 0, rows, cols, weights, cells.listed);
  } else {
    count_sorted(pred_ids, target_ids, weights, cols, num_cells, cells.listed);
  }
  return cells;
}

}  // namespace clustering_metrics::cuda
