// Small kernels that break one rule each, and one that keeps them all, so
// the tests can check that the emulator catches what it claims to
// (test_cuda_emulation.py::test_emulator_catches).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "simt_emulator.h"

namespace simt = clustering_metrics::simt;

namespace {

// Half the block returns before the barrier the other half waits at.
CM_KERNEL void skipped_barrier_kernel() {
  if (simt::thread_index() >= 16) return;
  simt::sync_block();
}

// Only the even lanes reach a full-mask ballot.
CM_KERNEL void divergent_ballot_kernel() {
  if (simt::lane_index() % 2 == 0) simt::ballot(simt::kFullMask, true);
}

// Lanes of one warp name different masks.
CM_KERNEL void mask_mismatch_kernel() {
  const unsigned mask = simt::lane_index() < 16 ? simt::kFullMask : 0xffff0000u;
  simt::match_any(mask, 1u);
}

// Thread 1 reads what thread 0 wrote without a barrier between.
CM_KERNEL void missing_barrier_kernel(int* out) {
  const simt::Shared<int> shared = simt::dynamic_shared<int>();
  if (simt::thread_index() == 0) shared[0] = 7;
  if (simt::thread_index() == 1) *out = shared[0];
}

// One int past the dynamic shared memory of the launch.
CM_KERNEL void shared_overrun_kernel() {
  const simt::Shared<int> shared = simt::dynamic_shared<int>();
  shared[simt::thread_index() + 1] = 0;
}

// A barrier while the rest of the warp waits at a collective.
CM_KERNEL void barrier_against_collective_kernel() {
  if (simt::thread_index() == 0) {
    simt::sync_block();
  } else {
    simt::ballot(simt::kFullMask, true);
  }
}

// Keeps the rules: a warp sum by shuffles, warp sums through shared memory
// behind a barrier, shared atomics, match_any groups.
CM_KERNEL void correct_kernel(long long* out) {
  const simt::Shared<long long> warp_sums = simt::dynamic_shared<long long>();
  if (simt::thread_index() == 0) warp_sums[8] = 0;  // shared memory starts undefined
  simt::sync_block();
  long long value = simt::thread_index();
  for (int offset = simt::kWarpSize / 2; offset > 0; offset /= 2) value += simt::shuffle_xor(simt::kFullMask, value, offset);
  const unsigned peers = simt::match_any(simt::kFullMask, simt::lane_index() % 4);
  if (simt::lane_index() == 0) warp_sums[simt::thread_index() / simt::kWarpSize] = value;
  simt::atomic_add(warp_sums + 8, static_cast<long long>(simt::population(peers)));
  simt::sync_block();
  if (simt::thread_index() == 0) {
    long long total = 0;
    for (int w = 0; w < 4; ++w) total += warp_sums[w];
    out[0] = total;         // sum of 0 .. 127
    out[1] = warp_sums[8];  // 128 threads, each in a group of 8 lanes
  }
}

}  // namespace

// Runs probe `name`; returns 1 and the emulator's message when the launch
// fails, 0 when it succeeds (out then holds what the kernel wrote), -1 for an
// unknown name.
extern "C" __attribute__((visibility("default"))) int cm_emulator_run_probe(const char* name, long long* out,
                                                                          char* message, size_t size) {
  const std::string probe = name;
  const std::string launch_name = "probe:" + probe;  // kept apart from the library's kernels in the counts
  name = launch_name.c_str();
  try {
    if (probe == "skipped_barrier") {
      simt::launch(name, skipped_barrier_kernel, 1, 32, 0, nullptr);
    } else if (probe == "divergent_ballot") {
      simt::launch(name, divergent_ballot_kernel, 1, 32, 0, nullptr);
    } else if (probe == "mask_mismatch") {
      simt::launch(name, mask_mismatch_kernel, 1, 32, 0, nullptr);
    } else if (probe == "missing_barrier") {
      simt::launch(name, missing_barrier_kernel, 1, 32, sizeof(int), nullptr, reinterpret_cast<int*>(out));
    } else if (probe == "shared_overrun") {
      simt::launch(name, shared_overrun_kernel, 1, 32, 32 * sizeof(int), nullptr);
    } else if (probe == "barrier_against_collective") {
      simt::launch(name, barrier_against_collective_kernel, 1, 32, 0, nullptr);
    } else if (probe == "correct") {
      simt::launch(name, correct_kernel, 1, 128, 9 * sizeof(long long), nullptr, out);
    } else {
      return -1;
    }
  } catch (const std::exception& error) {
    std::snprintf(message, size, "%s", error.what());
    return 1;
  }
  return 0;
}
