// The CUDA pipeline. Its stages, their types and their names are those of
// the CPU pipeline (cpu/pipeline.h), a stage per file of the same stem
// (docs/architecture.md has the floor plan):
//
//   labels --count_pair_cells--> CountedCells --summarize--> Summary --mutual_info--> MI slot
//            (cell_counting)         |           (summary)      |      (mutual_info)
//              key_range             |                          +--expected_mutual_info (host/, from the
//              label_ranking         |                             totals copied back)
//              dense_counting        +--histogram_of--> (pred labels, target labels, counts)
//              sorted_counting            (histogram)
//
//   labels --count_into_table--> the caller's dense table (bounded_counting)
//
// The ops (ops_cuda.cu) run them after host/expanded_inputs.h has rewritten
// inputs of stride 0. Inputs and outputs live on the current CUDA device.
#pragma once

#include <optional>
#include <tuple>

#include "../common/bounded_table.h"
#include "../common/counting_plan.h"
#include "../host/checks.h"

namespace clustering_metrics::cuda {

// One side's labels mapped to dense ids that preserve label order: either
// directly (id = key - min_key) or by rank among the distinct labels.
struct LabelIndex {
  uint64_t min_key = 0;
  int64_t size = 0;       // number of ids
  Tensor sorted_offsets;  // when ranked: the distinct key - min_key (uint64 in int64 storage)
  bool ranked = false;    // ids are ranks, not key - min_key
};

// The non-empty cells in (pred, target) label order. A cell's key is
// pred_id * target_index.size + target_id.
struct CellList {
  Tensor keys;    // uint64 in int64 storage, strictly increasing (possibly a view of a larger buffer)
  Tensor counts;  // int64, all > 0
};

// The counters' result.
struct CountedCells {
  LabelIndex pred_index;
  LabelIndex target_index;
  int64_t total = 0;  // sum of counts
  CellList listed;
};

// The summary op's outputs (common/summary.h), on the device.
struct Summary {
  Tensor row_totals;  // by pred id, zero for ids no sample has
  Tensor col_totals;  // by target id
  Tensor integers;    // int64, kNumSummaryIntegers
  Tensor reals;       // float64, kNumSummaryReals; the MI and EMI slots NaN until their stages run
};

// ---------------------------------------------------------------- stages

// count_into_table (bounded_counting.cu): adds every sample to its slot of
// the caller's table (common/bounded_table.h), reading labels through their
// strides, in one kernel launch and without synchronising (so CUDA graphs
// can capture it); the arguments are checked.
void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded);

// cell_counting.cu: weights, when given, are non-negative int64
// multiplicities per sample; no input may repeat (stride 0). Synchronises
// with the host: the label ranges choose the counting path and the number of
// cells sizes the outputs. The ranked sides' keys are always kept (they are
// the ranking's own table), so keep_labels changes nothing here.
CountedCells count_pair_cells(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights,
                              bool keep_labels);

// summary.cu: the totals and every slot but the MI and the EMI. No synchronisation.
Summary summarize(const CountedCells& cells);

// mutual_info.cu: writes the MI slot of the summary, by the exact per-cell
// form (common/information_terms.h) in a fixed summation order. No
// synchronisation.
void mutual_info(const CountedCells& cells, Summary& summary);

// histogram.cu: (pred labels, target labels, counts) in the dtypes given.
std::tuple<Tensor, Tensor, Tensor> histogram_of(const CountedCells& cells, ScalarType pred_dtype,
                                                ScalarType target_dtype);

// ---------------------------------------------------------------- the counting stages' parts

// key_range.cu: both sides' key ranges and the weight total (checked), in one read-back.
struct InputRanges {
  KeyRange pred;
  KeyRange target;
  int64_t total = 0;
};
InputRanges measure_inputs(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights);

// key_range.cu: one side's key range, for rank_labels.
KeyRange measure_labels(const Tensor& labels);

// label_ranking.cu: each sample's id (uint64 in int64 storage), filling index.
Tensor index_labels(const Tensor& labels, const KeyRange& range, LabelIndex& index);

// The raw bits, zero-extended, of the label of dtype `dtype` whose key is `key`.
uint64_t raw_bits_of_key(ScalarType dtype, uint64_t key);

// dense_counting.cu: counts labels (or ids, with min_raw 0) whose offsets from
// min_raw index a pred_ids x target_ids table, into the cells.
void count_dense(const Tensor& preds, uint64_t pred_min_raw, const Tensor& target, uint64_t target_min_raw,
                 uint64_t num_pred_ids, uint64_t num_target_ids, const std::optional<Tensor>& weights,
                 CellList& cells);

// sorted_counting.cu: counts ids by sorting one 64-bit pair key per sample.
void count_sorted(const Tensor& pred_ids, const Tensor& target_ids, const std::optional<Tensor>& weights,
                  uint64_t num_target_ids, uint64_t num_cells, CellList& cells);

// ---------------------------------------------------------------- the embedding stages
// The CPU's stages of the same names (cpu/pipeline.h says what they return),
// in label_ranking.cu, cluster_reduction.cu and silhouette.cu.

std::tuple<Tensor, Tensor> rank_labels(const Tensor& labels);
std::tuple<Tensor, Tensor, Tensor> cluster_moments(const Tensor& data, const Tensor& ids, int64_t num_clusters,
                                                   const std::optional<Tensor>& weights, const std::optional<Tensor>& m2);
std::tuple<Tensor, Tensor> cluster_distances(const Tensor& data, const Tensor& ids, const Tensor& centroids, double p);
Tensor silhouette_sums(const Tensor& data, const Tensor& ids, int64_t num_clusters);

// bootstrap.cu: the CPU's stage of the same name (cpu/pipeline.h).
Tensor bootstrap_counts(const Tensor& counts, int64_t num_resamples, int64_t seed, int64_t first_resample);

// cluster_reduction.cu: the samples grouped by cluster id (a stable sort,
// so sample order within a cluster), checked to lie in [0, num_clusters),
// and cut into blocks of at most kClusterBlock samples of one cluster.
constexpr int64_t kClusterBlock = 4096;
struct ClusterGroups {
  Tensor order;          // sample indices, by cluster, then by sample
  Tensor begin;          // per cluster: its first position in order; num_clusters + 1 entries
  Tensor block_begin;    // per block: its first position in order
  Tensor block_end;
  Tensor block_cluster;  // per block: its cluster
  Tensor first_block;    // per cluster: its first block; num_clusters + 1 entries
  int64_t blocks = 0;
};
ClusterGroups group_by_cluster(const Tensor& ids, int64_t num_clusters);

// ---------------------------------------------------------------- the counting stages' parts (cont.)

// cell_counting.cu: the labels as a contiguous tensor whose bools are bytes 0 and 1.
Tensor contiguous_labels(const Tensor& labels);

// cell_counting.cu: the positive entries of a device int64 tensor, in
// order; synchronises to size the output.
Tensor nonzero_entries(const Tensor& values);

// The positive entries of values (keys[i], or i when keys is null) as cells.
void keep_positive(const uint64_t* keys, const Tensor& values, CellList& cells);

}  // namespace clustering_metrics::cuda
