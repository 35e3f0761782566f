// Dispatch over every integer label dtype torch has, for both backends:
// body(tag) is instantiated for each, with the C++ type as tag's `type`.
#pragma once

#include <cstdint>

#include "checks.h"

namespace clustering_metrics {

template <typename T>
struct TypeTag {
  using type = T;
};

template <typename F>
decltype(auto) dispatch_label_type(ScalarType dtype, F&& body) {
  switch (dtype) {
    case ScalarType::Bool: return body(TypeTag<bool>{});
    case ScalarType::Byte: return body(TypeTag<uint8_t>{});
    case ScalarType::Char: return body(TypeTag<int8_t>{});
    case ScalarType::Short: return body(TypeTag<int16_t>{});
    case ScalarType::Int: return body(TypeTag<int32_t>{});
    case ScalarType::Long: return body(TypeTag<int64_t>{});
    case ScalarType::UInt16: return body(TypeTag<uint16_t>{});
    case ScalarType::UInt32: return body(TypeTag<uint32_t>{});
    case ScalarType::UInt64: return body(TypeTag<uint64_t>{});
    default: fail("clustering_metrics: labels of dtype ", dtype, " are not supported.");
  }
}

}  // namespace clustering_metrics
