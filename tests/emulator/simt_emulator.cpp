// The host SIMT emulator (simt_emulator.h): fibers, scheduler, rendezvous,
// and shared-memory race detection.
#include "simt_emulator.h"

#include <ucontext.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace clustering_metrics::simt::emulator {
namespace {

constexpr size_t kStackBytes = 128 * 1024;
constexpr size_t kSharedArenaBytes = 256 * 1024;

enum class State { kRunnable, kAtBarrier, kAtCollective, kDone };

struct Thread {
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  unsigned index = 0;
  State state = State::kRunnable;
  // The collective it waits at, and its result once the warp has met.
  Collective collective = Collective::kShuffleXor;
  unsigned mask = 0;
  uint64_t value = 0;
  int lane_mask = 0;
  uint64_t result = 0;
};

// What the race detector knows of 4 bytes of shared memory in this epoch
// (the stretch between two barriers).
struct ShadowCell {
  uint32_t write_epoch = 0;
  uint32_t read_epoch = 0;
  int32_t writer = -1;  // -2: several threads, all atomically
  int32_t reader = -1;  // -2: several threads
  bool write_atomic = false;
};

struct Block {
  unsigned index = 0;
  uint64_t serial = 0;
  uint32_t epoch = 1;
  std::vector<char> shared;  // dynamic shared memory first, then static arrays
  size_t shared_used = 0;
  std::vector<ShadowCell> shadow;
};

struct Launch {
  const char* name = "";
  unsigned grid = 0;
  unsigned block_threads = 0;
  size_t dynamic_bytes = 0;
  const std::function<void()>* body = nullptr;
  std::vector<Thread> threads;
  Block block;
  Thread* current = nullptr;
  ucontext_t scheduler;
  std::exception_ptr failure;
};

Launch* active = nullptr;
uint64_t block_serials = 0;
bool reverse_schedule = false;

[[noreturn]] void fail(const std::string& message) {
  std::ostringstream full;
  full << "SIMT emulator, kernel " << active->name << ", block " << active->block.index;
  if (active->current != nullptr) full << ", thread " << active->current->index;
  full << ": " << message;
  throw std::runtime_error(full.str());
}

// Leaves the running fiber for the scheduler, which resumes it when it may
// go on. A failed launch never resumes its fibers: the launch is abandoned.
void yield_to_scheduler() {
  Thread* self = active->current;
  swapcontext(&self->context, &active->scheduler);
}

void fiber_entry() {
  Launch* launch = active;
  try {
    (*launch->body)();
  } catch (...) {
    if (!launch->failure) launch->failure = std::current_exception();
  }
  launch->current->state = State::kDone;
  setcontext(&launch->scheduler);
}

const char* name_of(Collective kind) {
  switch (kind) {
    case Collective::kShuffleXor: return "shuffle_xor";
    case Collective::kBallot: return "ballot";
    default: return "match_any";
  }
}

const char* name_of(State state) {
  switch (state) {
    case State::kRunnable: return "running";
    case State::kAtBarrier: return "at a block barrier";
    case State::kAtCollective: return "at a warp collective";
    default: return "exited";
  }
}

// Completes the collective of every warp whose mask's lanes have all met at
// the same collective; fails on a lane that cannot come. Returns whether any
// warp went on.
bool resolve_collectives(Launch& launch) {
  bool resolved = false;
  const unsigned warps = (launch.block_threads + kWarpSize - 1) / kWarpSize;
  for (unsigned warp = 0; warp < warps; ++warp) {
    Thread* first = nullptr;
    for (unsigned lane = 0; lane < kWarpSize; ++lane) {
      const unsigned t = warp * kWarpSize + lane;
      if (t < launch.block_threads && launch.threads[t].state == State::kAtCollective) {
        first = &launch.threads[t];
        break;
      }
    }
    if (first == nullptr) continue;
    const unsigned mask = first->mask;
    for (unsigned lane = 0; lane < kWarpSize; ++lane) {
      if (!((mask >> lane) & 1u)) continue;
      const unsigned t = warp * kWarpSize + lane;
      launch.current = first;
      if (t >= launch.block_threads) fail("warp collective mask names lane " + std::to_string(lane) + ", past the block");
      const Thread& other = launch.threads[t];
      if (other.state != State::kAtCollective) {
        fail(std::string(name_of(first->collective)) + " with mask " + std::to_string(mask) + ": lane " +
             std::to_string(lane) + " is " + name_of(other.state) + " (divergence)");
      }
      if (other.collective != first->collective || other.mask != mask) {
        fail(std::string("warp collective mismatch: ") + name_of(first->collective) + " with mask " +
             std::to_string(mask) + " against lane " + std::to_string(lane) + "'s " + name_of(other.collective) +
             " with mask " + std::to_string(other.mask));
      }
      if (!((other.mask >> (first->index % kWarpSize)) & 1u)) fail("warp collective masks disagree");
    }
    for (unsigned lane = 0; lane < kWarpSize; ++lane) {
      if (!((mask >> lane) & 1u)) continue;
      Thread& thread = launch.threads[warp * kWarpSize + lane];
      uint64_t result = 0;
      if (thread.collective == Collective::kShuffleXor) {
        const unsigned source = lane ^ static_cast<unsigned>(thread.lane_mask);
        result = source < kWarpSize && ((mask >> source) & 1u) ? launch.threads[warp * kWarpSize + source].value
                                                               : thread.value;
      } else {
        for (unsigned other = 0; other < kWarpSize; ++other) {
          if (!((mask >> other) & 1u)) continue;
          const uint64_t value = launch.threads[warp * kWarpSize + other].value;
          const bool counts = thread.collective == Collective::kBallot ? value != 0 : value == thread.value;
          if (counts) result |= uint64_t{1} << other;
        }
      }
      thread.result = result;
      thread.state = State::kRunnable;
    }
    resolved = true;
  }
  return resolved;
}

void run_block(Launch& launch, unsigned block_index) {
  Block& block = launch.block;
  block.index = block_index;
  block.serial = ++block_serials;
  block.epoch = 1;
  block.shared.assign(kSharedArenaBytes, 0x5a);  // neither zero nor a value kernels expect
  block.shared_used = launch.dynamic_bytes;
  block.shadow.assign(kSharedArenaBytes / 4, ShadowCell{});
  if (launch.dynamic_bytes > kSharedArenaBytes) fail("more dynamic shared memory than the emulator has");
  for (unsigned t = 0; t < launch.block_threads; ++t) {
    Thread& thread = launch.threads[t];
    thread.index = t;
    thread.state = State::kRunnable;
    getcontext(&thread.context);
    thread.context.uc_stack.ss_sp = thread.stack.get();
    thread.context.uc_stack.ss_size = kStackBytes;
    thread.context.uc_link = nullptr;
    makecontext(&thread.context, fiber_entry, 0);
  }
  while (true) {
    for (unsigned k = 0; k < launch.block_threads; ++k) {
      const unsigned t = reverse_schedule ? launch.block_threads - 1 - k : k;
      Thread& thread = launch.threads[t];
      while (thread.state == State::kRunnable) {
        launch.current = &thread;
        swapcontext(&launch.scheduler, &thread.context);
        if (launch.failure) std::rethrow_exception(launch.failure);
      }
    }
    launch.current = nullptr;
    if (resolve_collectives(launch)) continue;
    size_t done = 0, at_barrier = 0;
    for (unsigned t = 0; t < launch.block_threads; ++t) {
      done += launch.threads[t].state == State::kDone;
      at_barrier += launch.threads[t].state == State::kAtBarrier;
    }
    if (done == launch.block_threads) return;
    if (at_barrier + done == launch.block_threads) {
      if (done != 0) {
        for (unsigned t = 0; t < launch.block_threads; ++t) {
          if (launch.threads[t].state == State::kDone) {
            launch.current = &launch.threads[t];
            fail("returned without reaching the block barrier that " + std::to_string(at_barrier) +
                 " other threads wait at");
          }
        }
      }
      ++block.epoch;
      for (unsigned t = 0; t < launch.block_threads; ++t) launch.threads[t].state = State::kRunnable;
      continue;
    }
    fail("deadlock: " + std::to_string(at_barrier) + " threads wait at a block barrier while others wait at warp "
         "collectives that cannot complete");
  }
}

}  // namespace

Device& device() {
  static Device the_device;
  return the_device;
}

void set_reverse_schedule(bool reverse) { reverse_schedule = reverse; }

std::map<std::string, int64_t>& launch_counts() {
  static std::map<std::string, int64_t> counts;
  return counts;
}

unsigned thread_index() { return active->current->index; }
unsigned block_index() { return active->block.index; }
unsigned block_size() { return active->block_threads; }
unsigned grid_size() { return active->grid; }

void* dynamic_shared_memory() { return active->block.shared.data(); }

void* StaticShared::allocate(size_t bytes, size_t alignment) {
  Block& block = active->block;
  if (block_serial_ != block.serial) {
    block_serial_ = block.serial;
    const size_t start = (block.shared_used + alignment - 1) / alignment * alignment;
    if (start + bytes > block.shared.size()) fail("more static shared memory than the emulator has");
    block.shared_used = start + bytes;
    storage_ = block.shared.data() + start;
  }
  return storage_;
}

void record_access(const void* address, size_t bytes, bool write, bool atomic) {
  Block& block = active->block;
  const char* base = block.shared.data();
  const char* at = static_cast<const char*>(address);
  if (at < base || at + bytes > base + block.shared_used) {
    fail("shared memory access at offset " + std::to_string(at - base) + " (" + std::to_string(bytes) +
         " bytes) outside the " + std::to_string(block.shared_used) + " bytes allocated");
  }
  const int32_t self = static_cast<int32_t>(active->current->index);
  const uint32_t epoch = block.epoch;
  for (size_t cell = (at - base) / 4; cell <= (at - base + bytes - 1) / 4; ++cell) {
    ShadowCell& shadow = block.shadow[cell];
    const bool written = shadow.write_epoch == epoch;
    const bool read = shadow.read_epoch == epoch;
    const auto race = [&](const char* what) {
      fail(std::string("shared memory race at offset ") + std::to_string(cell * 4) + ": " + what +
           " between two barriers (a missing sync_block?)");
    };
    if (write) {
      if (written && shadow.writer != self && !(atomic && shadow.write_atomic)) race("two threads write it");
      if (read && shadow.reader != self) race("one thread writes what another reads");
      shadow.writer = written && shadow.writer != self ? -2 : self;
      shadow.write_atomic = atomic && (!written || shadow.write_atomic);
      shadow.write_epoch = epoch;
    } else {
      if (written && shadow.writer != self) race("one thread reads what another writes");
      shadow.reader = read && shadow.reader != self ? -2 : self;
      shadow.read_epoch = epoch;
    }
  }
}

void sync_block() {
  active->current->state = State::kAtBarrier;
  yield_to_scheduler();
}

uint64_t warp_collective(Collective kind, unsigned mask, uint64_t value, int lane_mask) {
  Thread* self = active->current;
  if (!((mask >> (self->index % kWarpSize)) & 1u)) fail("a lane calls a warp collective whose mask leaves it out");
  self->state = State::kAtCollective;
  self->collective = kind;
  self->mask = mask;
  self->value = value;
  self->lane_mask = lane_mask;
  yield_to_scheduler();
  return self->result;
}

void run_launch(const char* name, unsigned grid, unsigned block, size_t shared_bytes,
                const std::function<void()>& body) {
  if (active != nullptr) throw std::runtime_error("SIMT emulator: a kernel launched another");
  if (grid == 0 || block == 0 || block > 1024) {
    throw std::runtime_error(std::string("SIMT emulator: invalid launch of ") + name + ": " + std::to_string(grid) +
                             " blocks of " + std::to_string(block) + " threads");
  }
  if (shared_bytes > static_cast<size_t>(device().shared_bytes_per_block)) {
    throw std::runtime_error(std::string("SIMT emulator: ") + name + " asks for " + std::to_string(shared_bytes) +
                             " bytes of dynamic shared memory, more than the device's " +
                             std::to_string(device().shared_bytes_per_block));
  }
  Launch launch;
  launch.name = name;
  launch.grid = grid;
  launch.block_threads = block;
  launch.dynamic_bytes = shared_bytes;
  launch.body = &body;
  launch.threads.resize(block);
  for (Thread& thread : launch.threads) thread.stack.reset(new char[kStackBytes]);
  active = &launch;
  try {
    for (unsigned b = 0; b < grid; ++b) run_block(launch, b);
  } catch (...) {
    active = nullptr;
    throw;
  }
  active = nullptr;
  ++launch_counts()[name];
}

}  // namespace clustering_metrics::simt::emulator
