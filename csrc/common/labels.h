// Label keys: every integer label dtype mapped onto uint64 so that label
// order is key order. One code path then handles bool, int8 ... int64 and
// uint8 ... uint64 labels, extremes included.
#pragma once

#include <type_traits>

#include "host_device.h"

namespace clustering_metrics {

// Signed values get their sign bit flipped, which turns two's complement
// order into unsigned order. The flip is an addition of 2^63 (mod 2^64)
// rather than an xor so that the compiler folds it into the subtraction of a
// range minimum that usually follows.
template <typename T>
CM_HOST_DEVICE uint64_t label_to_key(T value) {
  if constexpr (std::is_signed<T>::value) {
    return static_cast<uint64_t>(static_cast<int64_t>(value)) + (uint64_t{1} << 63);
  } else {
    return static_cast<uint64_t>(value);
  }
}

// A bool label as the byte it is stored in. A uint8 tensor viewed as bool
// may hold bytes other than 0 and 1, which torch treats as True; reading
// them as C++ bool would be undefined, so bool labels are read as bytes and
// every nonzero byte is the key 1.
struct BoolByte {
  uint8_t byte;

  CM_HOST_DEVICE bool operator<(BoolByte other) const { return (byte != 0) < (other.byte != 0); }
  CM_HOST_DEVICE bool operator>(BoolByte other) const { return other < *this; }
};

CM_HOST_DEVICE uint64_t label_to_key(BoolByte value) { return value.byte != 0; }

// The type a label of dtype T is read as by kernels that compare labels.
template <typename T>
using LabelStorage = std::conditional_t<std::is_same<T, bool>::value, BoolByte, T>;

// The unsigned integer of a label's width (T a dtype or its LabelStorage),
// for kernels that read, hash or subtract labels as raw bits.
template <typename T>
using RawBits = std::make_unsigned_t<
    std::conditional_t<std::is_same<T, bool>::value || std::is_same<T, BoolByte>::value, uint8_t, T>>;

template <typename T>
CM_HOST_DEVICE T key_to_label(uint64_t key) {
  if constexpr (std::is_same<T, bool>::value) {
    return key != 0;
  } else if constexpr (std::is_signed<T>::value) {
    return static_cast<T>(static_cast<int64_t>(key ^ (uint64_t{1} << 63)));
  } else {
    return static_cast<T>(key);
  }
}

}  // namespace clustering_metrics
