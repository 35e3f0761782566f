// The CPU pipeline. Its stages, their types and their names are those of
// the CUDA pipeline (cuda/pipeline.cuh), a stage per file of the same stem
// (docs/architecture.md has the floor plan):
//
//   labels --count_pair_cells--> CountedCells --summarize--> Summary --mutual_info--> MI
//            (cell_counting)         |           (summary)      |      (mutual_info)
//              key_range             |                          +--expected_mutual_info (host/)
//              label_ranking         +--histogram_of--> (pred labels, target labels, counts)
//              dense_counting             (histogram)
//              sorted_counting
//
//   labels --count_into_table--> the caller's dense table (bounded_counting)
//
// The ops (ops_cpu.cpp) run them after host/expanded_inputs.h has rewritten
// inputs of stride 0.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "../common/bounded_table.h"
#include "../common/host_device.h"
#include "../common/summary.h"
#include "../host/checks.h"
#include "../host/count_tally.h"
#include "../host/parallel.h"

namespace clustering_metrics::cpu {

// One side's labels mapped to dense ids that preserve label order: either
// directly (id = key - min_key) or by rank among the distinct labels.
struct LabelIndex {
  uint64_t min_key = 0;
  int64_t size = 0;                   // number of ids
  std::vector<uint64_t> sorted_keys;  // the distinct keys, when ranked and kept
  bool ranked = false;                // ids are ranks, not key - min_key

  // Needs the sorted keys of a ranked side (count_pair_cells' keep_labels).
  uint64_t key_of(uint64_t id) const { return ranked ? sorted_keys[id] : min_key + id; }
};

// The per-chunk tables of a pair space counted densely. A cell's count is
// the sum of its entries over the tables; each stage needs each count once,
// so the sums are formed on the fly instead of being stored.
struct DenseCounts {
  int64_t num_cells = 0;
  int64_t num_narrow = 0;        // tables of 8-bit counters (counts mod 2^8)
  Array<uint8_t> narrow;         // num_narrow x num_cells
  std::vector<Array<int64_t>> wide;  // per chunk: the rest of the counts, or empty

  // out[k] = count of cell begin + k, for cells [begin, end).
  void sum_into(int64_t begin, int64_t end, int64_t* out) const;
};

// The non-empty cells in (pred, target) label order. A cell's key is
// pred_id * target_index.size + target_id.
struct CellList {
  Array<int64_t> storage;  // owns keys and counts (possibly more room)
  uint64_t* keys = nullptr;
  int64_t* counts = nullptr;  // all > 0
  int64_t size = 0;
};

// The counters' result: a cell list, or dense tables when dense.num_cells > 0.
struct CountedCells {
  LabelIndex pred_index;
  LabelIndex target_index;
  int64_t total = 0;  // sum of counts
  CellList listed;
  DenseCounts dense;

  bool is_dense() const { return dense.num_cells > 0; }
};

// Cluster totals by id (zero for ids no sample has), in 32 bits when the
// grand total fits: a table with as many clusters as samples then takes half
// the memory.
struct Totals {
  std::vector<uint32_t> narrow;  // when every total fits 32 bits
  std::vector<int64_t> wide;     // otherwise

  static bool fits_narrow(int64_t grand_total) { return grand_total <= int64_t{UINT32_MAX}; }
  int64_t operator[](int64_t id) const { return wide.empty() ? int64_t{narrow[id]} : wide[id]; }
  int64_t size() const { return static_cast<int64_t>(wide.empty() ? narrow.size() : wide.size()); }
};

// What the metrics need from the cells (see common/summary.h): the cluster
// totals, their tallies, and the sums over cells, rows and columns.
struct Summary {
  int64_t total = 0;
  int64_t num_cells = 0;
  int64_t num_pred_clusters = 0;
  int64_t num_target_clusters = 0;
  Totals row_totals;  // by pred id
  Totals col_totals;  // by target id
  CountTally row_tally;  // the distinct row totals, with multiplicities
  CountTally col_tally;
  PairCounts pairs;
  long double cells_n_log_n = 0;  // sums of v log v, each within 2^-60 of itself
  long double pred_n_log_n = 0;
  long double target_n_log_n = 0;
  double entropy_pred = 0;
  double entropy_target = 0;
};

// Calls fn(i, row, col) for cells [begin, end) of a cell list. Rows advance
// monotonically, so a division happens only when the row changes.
template <typename F>
void for_each_cell(const uint64_t* keys, uint64_t cols, int64_t begin, int64_t end, F&& fn) {
  uint64_t row = 0, row_start = 0, row_end = 0;
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t key = keys[i];
    if (key >= row_end || i == begin) {
      row = key / cols;
      row_start = row * cols;
      row_end = row_start + cols;
    }
    fn(i, row, key - row_start);
  }
}

// ---------------------------------------------------------------- stages

// count_into_table: adds every sample to its slot of the caller's table
// (common/bounded_table.h), reading labels through their strides; the
// arguments are checked.
void count_into_table(const Tensor& preds, const Tensor& target, Tensor& table, BoundedTable bounded);

// weights, when given, are non-negative int64 multiplicities per sample.
// keep_labels keeps what histogram_of needs to write the labels back out.
// No input may repeat (stride 0): the ops rewrite those first
// (host/expanded_inputs.h).
CountedCells count_pair_cells(const Tensor& preds, const Tensor& target, const std::optional<Tensor>& weights,
                              bool keep_labels);

// The cells as a list, formed from the dense tables if need be (which are
// then released: the list replaces them).
const CellList& listed_cells(CountedCells& cells);

Summary summarize(const CountedCells& cells);

// The MI, within 1e-13 of the MI and of |MI - baseline|, or within a few
// ulps of long double relative (mutual_info.cpp says which form meets which
// bound). baseline is 0 for the MI itself, and the expected MI for the
// adjusted MI, whose numerator is MI - EMI.
double mutual_info(CountedCells& cells, const Summary& summary, double baseline = 0);

// ---------------------------------------------------------------- the embedding stages

// label_ranking.cpp: each label's rank among the distinct labels (int64 ids),
// and the distinct labels in increasing order, in the labels' dtype.
std::tuple<Tensor, Tensor> rank_labels(const Tensor& labels);

// cluster_reduction.cpp: per cluster id in [0, num_clusters), the total
// weight (1 a row without weights), the weighted mean of the rows and the
// centred second moment sum of w |x - mean|^2 (+ the rows' own m2, which
// merges moments computed elsewhere: Chan's pairwise update).
std::tuple<Tensor, Tensor, Tensor> cluster_moments(const Tensor& data, const Tensor& ids, int64_t num_clusters,
                                                   const std::optional<Tensor>& weights,
                                                   const std::optional<Tensor>& m2);

// cluster_reduction.cpp: per cluster, the sum of the Euclidean distances of
// its rows to its centroid, and the largest p-norm distance.
std::tuple<Tensor, Tensor> cluster_distances(const Tensor& data, const Tensor& ids, const Tensor& centroids, double p);

// silhouette.cpp: the n x num_clusters sums of Euclidean distances from each
// row to the rows of each cluster.
Tensor silhouette_sums(const Tensor& data, const Tensor& ids, int64_t num_clusters);

// bootstrap.cpp: num_resamples x counts.numel() int64 resamples of a
// histogram's counts (common/resampling.h), resample b drawn from Philox
// stream first_resample + b under seed; the arguments are checked.
Tensor bootstrap_counts(const Tensor& counts, int64_t num_resamples, int64_t seed, int64_t first_resample);

// (pred labels, target labels, counts) in the dtypes given, sized to the
// cells; the cells must have been counted with keep_labels.
std::tuple<Tensor, Tensor, Tensor> histogram_of(CountedCells& cells, ScalarType pred_dtype, ScalarType target_dtype);

}  // namespace clustering_metrics::cpu
