// The bootstrap stage on the CPU (cuda/bootstrap.cu on the GPU): resamples
// of a histogram's counts, each drawn by common/resampling.h from its own
// Philox stream, so that the threads that draw them, and how the resamples
// are split into calls, change no bit.
#include "../common/resampling.h"
#include "pipeline.h"

namespace clustering_metrics::cpu {
namespace {

// Units of work (host/parallel.h) of drawing one cell: a binomial draw takes
// some tens of nanoseconds, against about one for counting a sample.
constexpr int64_t kDrawWork = 32;

}  // namespace

Tensor bootstrap_counts(const Tensor& counts_in, int64_t num_resamples, int64_t seed, int64_t first_resample) {
  const Tensor counts = torch::stable::contiguous(counts_in);
  const int64_t num_cells = counts.numel();
  Tensor out = torch::stable::empty({num_resamples, num_cells}, ScalarType::Long);
  const int64_t* cell_counts = static_cast<const int64_t*>(counts.const_data_ptr());
  const CountsTotal total = total_of_counts(cell_counts, num_cells);
  check_weight_summary(total.lowest, total.overflowed);
  check_resample_total(total.total);
  int64_t* resamples = static_cast<int64_t*>(out.mutable_data_ptr());
  parallel_for(0, num_resamples, grain_for(num_resamples, num_resamples * num_cells * kDrawWork),
               [&](int64_t begin, int64_t end) {
                 for (int64_t b = begin; b < end; ++b) {
                   resample_cells(cell_counts, num_cells, total.total, static_cast<uint64_t>(seed),
                                  static_cast<uint64_t>(first_resample + b), resamples + b * num_cells);
                 }
               });
  return out;
}

}  // namespace clustering_metrics::cpu
