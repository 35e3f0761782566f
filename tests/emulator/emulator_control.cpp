// The emulator's settings and launch counts as a C interface, for the tests'
// ctypes (emulation.py): the emulated library registers ops only.
#include <cstdio>
#include <string>

#include "simt_emulator.h"

namespace emulator = clustering_metrics::simt::emulator;

#define CM_EXPORT extern "C" __attribute__((visibility("default")))

CM_EXPORT void cm_emulator_set_device(int multiprocessors, int shared_bytes_per_block,
                                      int shared_bytes_per_multiprocessor, int max_blocks_per_multiprocessor) {
  emulator::device() = {multiprocessors, shared_bytes_per_block, shared_bytes_per_multiprocessor,
                        max_blocks_per_multiprocessor};
}

CM_EXPORT void cm_emulator_set_reverse_schedule(int reverse) { emulator::set_reverse_schedule(reverse != 0); }

// "name count\n" per kernel launched in this process, into buffer; returns
// the length the whole text needs.
CM_EXPORT size_t cm_emulator_launch_counts(char* buffer, size_t size) {
  std::string text;
  for (const auto& [name, count] : emulator::launch_counts()) text += name + " " + std::to_string(count) + "\n";
  if (size > 0) std::snprintf(buffer, size, "%s", text.c_str());
  return text.size() + 1;
}
