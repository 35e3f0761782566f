// One kernel body written twice: through the portability layer
// (csrc/simt/simt.h) and straight with CUDA's built-ins. tests/test_simt_layer.py
// compiles this file with nvcc and checks that the two have the same SASS: the
// layer costs nothing. The body uses every part of the layer a kernel can:
// indices, dynamic shared memory, the barrier, match_any with its leader and
// population, ballot, shuffle, and atomics on shared and global memory.
#include "simt/simt.h"
namespace s = clustering_metrics::simt;

extern "C" CM_KERNEL void through_layer(const unsigned* in, unsigned long long* out, unsigned* extremes) {
  s::Shared<unsigned> counts = s::dynamic_shared<unsigned>();
  const unsigned t = s::thread_index();
  const unsigned i = s::block_index() * s::block_size() + t;
  counts[t] = 0;
  s::sync_block();
  const unsigned v = in[i];
  const unsigned peers = s::match_any(s::kFullMask, v);
  if (static_cast<int>(s::lane_index()) == s::lowest_set_lane(peers)) {
    s::atomic_add(&counts[v % s::block_size()], static_cast<unsigned>(s::population(peers)));
  }
  const unsigned vote = s::ballot(s::kFullMask, v & 1u);
  const unsigned mixed = v ^ s::shuffle_xor(s::kFullMask, v, 1);
  s::sync_block();
  s::atomic_add(out, static_cast<unsigned long long>(counts[t]) + vote);
  s::atomic_min(&extremes[0], mixed);
  s::atomic_max(&extremes[1], mixed);
  s::atomic_exchange(&extremes[2 + s::grid_size() % 2], v);
}

extern "C" __global__ void through_intrinsics(const unsigned* in, unsigned long long* out, unsigned* extremes) {
  extern __shared__ __align__(16) unsigned char storage[];
  unsigned* counts = reinterpret_cast<unsigned*>(storage);
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  counts[t] = 0;
  __syncthreads();
  const unsigned v = in[i];
  const unsigned peers = __match_any_sync(0xffffffffu, v);
  if (static_cast<int>(threadIdx.x % 32) == __ffs(peers) - 1) {
    atomicAdd(&counts[v % blockDim.x], static_cast<unsigned>(__popc(peers)));
  }
  const unsigned vote = __ballot_sync(0xffffffffu, v & 1u);
  const unsigned mixed = v ^ __shfl_xor_sync(0xffffffffu, v, 1);
  __syncthreads();
  atomicAdd(out, static_cast<unsigned long long>(counts[t]) + vote);
  atomicMin(&extremes[0], mixed);
  atomicMax(&extremes[1], mixed);
  atomicExch(&extremes[2 + gridDim.x % 2], v);
}
