// A host SIMT emulator for csrc/simt/simt.h, for tests only (CM_EMULATE).
//
// A launch runs its blocks one after another; a block runs each of its GPU
// threads as a fiber (ucontext) on one host thread, switching at every block
// barrier and warp collective, so the kernels' own code runs unchanged. It
// checks what real hardware would leave undefined or silently wrong:
//
// * a block barrier must be reached by every thread of the block (a thread
//   that returns while others wait fails the launch);
// * a warp collective (shuffle, ballot, match_any) rendezvous the lanes of
//   its mask: all of them must call the same collective with the same mask;
//   a lane that has exited, waits at a barrier, or calls another collective
//   fails the launch;
// * shared memory is reached only through Shared<T>, which checks bounds and
//   records every access in shadow memory: two threads touching the same
//   bytes between two barriers, one of them writing and not both atomically,
//   is a race, and fails the launch (so does a missing barrier).
//
// Threads run in index order, or in reverse order (set_reverse_schedule), so
// that a kernel whose result depends on the order of its threads shows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#define CM_KERNEL
#define CM_DEVICE inline
#define CM_LAUNCH_BOUNDS(threads)
#define CM_LAUNCH_BOUNDS_OCCUPANCY(threads, min_blocks)
#define CM_SHARED_ARRAY(type, name, count)                                  \
  static ::clustering_metrics::simt::emulator::StaticShared name##_slot;   \
  ::clustering_metrics::simt::Shared<type> name = name##_slot.get<type>(count)

namespace clustering_metrics::simt {

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;

using Stream = void*;

namespace emulator {

// Geometry and shared memory of the emulated device, as the launch code
// queries them; tests change them to reach other launch shapes.
struct Device {
  int multiprocessors = 3;
  int shared_bytes_per_block = 48 * 1024;  // the opt-in maximum
  int shared_bytes_per_multiprocessor = 100 * 1024;
  int max_blocks_per_multiprocessor = 4;
};
Device& device();
void set_reverse_schedule(bool reverse);

// How many launches of each kernel have run since the last reset.
std::map<std::string, int64_t>& launch_counts();

// Shadow-checked access to the current block's shared memory.
void record_access(const void* address, size_t bytes, bool write, bool atomic);

template <typename T>
class SharedRef {
 public:
  explicit SharedRef(T* address) : address_(address) {}
  operator T() const {
    record_access(address_, sizeof(T), /*write=*/false, /*atomic=*/false);
    return *address_;
  }
  SharedRef& operator=(const T& value) {
    record_access(address_, sizeof(T), /*write=*/true, /*atomic=*/false);
    *address_ = value;
    return *this;
  }
  SharedRef& operator=(const SharedRef& other) { return *this = static_cast<T>(other); }

 private:
  T* address_;
};

template <typename T>
class SharedPointer {
 public:
  SharedPointer() = default;
  explicit SharedPointer(T* address) : address_(address) {}
  SharedRef<T> operator[](int64_t i) const { return SharedRef<T>(address_ + i); }
  SharedPointer operator+(int64_t i) const { return SharedPointer(address_ + i); }
  T* address() const { return address_; }

 private:
  T* address_ = nullptr;
};

// The storage of a CM_SHARED_ARRAY: one allocation from the block's shared
// memory per block, the same for every thread of it.
class StaticShared {
 public:
  template <typename T>
  SharedPointer<T> get(size_t count) {
    return SharedPointer<T>(static_cast<T*>(allocate(count * sizeof(T), alignof(T))));
  }

 private:
  void* allocate(size_t bytes, size_t alignment);
  uint64_t block_serial_ = 0;
  void* storage_ = nullptr;
};

void* dynamic_shared_memory();

// The current GPU thread.
unsigned thread_index();
unsigned block_index();
unsigned block_size();
unsigned grid_size();

void sync_block();
// A warp collective: every lane of mask deposits `value`; returns the
// result for this lane once all of them have.
enum class Collective { kShuffleXor, kBallot, kMatchAny };
uint64_t warp_collective(Collective kind, unsigned mask, uint64_t value, int lane_mask);

// Runs body (the kernel applied to its arguments) on grid x block threads.
void run_launch(const char* name, unsigned grid, unsigned block, size_t shared_bytes,
                const std::function<void()>& body);

}  // namespace emulator

template <typename T>
using Shared = emulator::SharedPointer<T>;

inline unsigned thread_index() { return emulator::thread_index(); }
inline unsigned block_index() { return emulator::block_index(); }
inline unsigned block_size() { return emulator::block_size(); }
inline unsigned grid_size() { return emulator::grid_size(); }
inline unsigned lane_index() { return emulator::thread_index() % kWarpSize; }

template <typename T>
Shared<T> dynamic_shared() {
  return Shared<T>(static_cast<T*>(emulator::dynamic_shared_memory()));
}

inline void sync_block() { emulator::sync_block(); }

template <typename T>
T shuffle_xor(unsigned mask, T value, int lane_mask) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>);
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = emulator::warp_collective(emulator::Collective::kShuffleXor, mask, bits, lane_mask);
  T result;
  std::memcpy(&result, &bits, sizeof(T));
  return result;
}
inline unsigned ballot(unsigned mask, bool predicate) {
  return static_cast<unsigned>(emulator::warp_collective(emulator::Collective::kBallot, mask, predicate, 0));
}
inline unsigned match_any(unsigned mask, unsigned value) {
  return static_cast<unsigned>(emulator::warp_collective(emulator::Collective::kMatchAny, mask, value, 0));
}

// Atomics. Threads switch only at barriers and collectives, so a read-modify-
// write never interleaves with another; on shared memory it is recorded as
// an atomic access for the race detector.
template <typename T, typename U>
T atomic_add(T* address, U value) {
  const T old = *address;
  *address = old + static_cast<T>(value);
  return old;
}
template <typename T, typename U>
T atomic_add(Shared<T> address, U value) {
  emulator::record_access(address.address(), sizeof(T), /*write=*/true, /*atomic=*/true);
  return atomic_add(address.address(), value);
}
template <typename T>
T atomic_min(T* address, T value) {
  const T old = *address;
  if (value < old) *address = value;
  return old;
}
template <typename T>
T atomic_max(T* address, T value) {
  const T old = *address;
  if (value > old) *address = value;
  return old;
}
template <typename T>
T atomic_exchange(T* address, T value) {
  const T old = *address;
  *address = value;
  return old;
}

inline int lowest_set_lane(unsigned mask) { return __builtin_ffs(static_cast<int>(mask)) - 1; }
inline int population(unsigned mask) { return __builtin_popcount(mask); }

template <typename... Params, typename... Args>
void launch(const char* name, void (*kernel)(Params...), unsigned grid, unsigned block, size_t shared_bytes, Stream,
            Args&&... args) {
  std::tuple<std::decay_t<Params>...> arguments(static_cast<Params>(args)...);
  emulator::run_launch(name, grid, block, shared_bytes, [&] { std::apply(kernel, arguments); });
}

}  // namespace clustering_metrics::simt
