// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): a counter-based generator, so that a stream is named by its
// key and counter rather than by a state passed from draw to draw. The
// bootstrap keys it with the seed and puts the resample's index in the high
// half of the counter: resample b draws the same numbers whichever thread,
// block or backend draws it, and however the resamples are split into calls.
#pragma once

#include "host_device.h"

namespace clustering_metrics {

// The Philox4x32-10 bijection: the four words of block, under the key (key0, key1).
CM_HOST_DEVICE void philox4x32_10(uint32_t block[4], uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t product0 = static_cast<uint64_t>(kMultiplier0) * block[0];
    const uint64_t product1 = static_cast<uint64_t>(kMultiplier1) * block[2];
    const uint32_t c1 = block[1], c3 = block[3];
    block[0] = static_cast<uint32_t>(product1 >> 32) ^ c1 ^ key0;
    block[1] = static_cast<uint32_t>(product1);
    block[2] = static_cast<uint32_t>(product0 >> 32) ^ c3 ^ key1;
    block[3] = static_cast<uint32_t>(product0);
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
}

// The numbers of one stream: block i of stream s under seed k is the
// bijection of the counter (i, s), 64 bits each, under the key k.
class PhiloxStream {
 public:
  CM_HOST_DEVICE PhiloxStream(uint64_t seed, uint64_t stream)
      : key0_(static_cast<uint32_t>(seed)), key1_(static_cast<uint32_t>(seed >> 32)), stream_(stream) {}

  // A uniform double in the open interval (0, 1): 53 random bits and a half,
  // so that neither 0 nor 1 (whose logarithms the samplers take) comes out.
  CM_HOST_DEVICE double uniform() {
    if (next_ == 4) refill();
    const uint64_t bits = (static_cast<uint64_t>(block_[next_]) << 32) | block_[next_ + 1];
    next_ += 2;
    return (static_cast<double>(bits >> 11) + 0.5) * 0x1p-53;
  }

 private:
  CM_HOST_DEVICE void refill() {
    block_[0] = static_cast<uint32_t>(counter_);
    block_[1] = static_cast<uint32_t>(counter_ >> 32);
    block_[2] = static_cast<uint32_t>(stream_);
    block_[3] = static_cast<uint32_t>(stream_ >> 32);
    philox4x32_10(block_, key0_, key1_);
    ++counter_;
    next_ = 0;
  }

  uint32_t key0_, key1_;
  uint64_t stream_;
  uint64_t counter_ = 0;
  uint32_t block_[4] = {0, 0, 0, 0};
  int next_ = 4;
};

}  // namespace clustering_metrics
