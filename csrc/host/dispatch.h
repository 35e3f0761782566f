// Dispatch over the integer label dtypes torch has, for both backends.
#pragma once

#include <torch/headeronly/util/BFloat16.h>
#include <torch/headeronly/util/Half.h>

#include <cstdint>

#include "../common/bounded_table.h"
#include "checks.h"

namespace clustering_metrics {

template <typename T>
struct TypeTag {
  using type = T;
};

// body(tag) for each dtype, with the C++ type as tag's `type`.
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

// body(U{}) with U the unsigned integer of the label's width, for kernels
// that read labels as raw bits: 4 instantiations instead of 9.
template <typename F>
decltype(auto) dispatch_label_width(int64_t bytes, F&& body) {
  switch (bytes) {
    case 1: return body(uint8_t{});
    case 2: return body(uint16_t{});
    case 4: return body(uint32_t{});
    case 8: return body(uint64_t{});
    default: fail("clustering_metrics: unsupported label width of ", bytes, " bytes.");
  }
}

// body(tag) for each floating-point dtype of embeddings; kernels read every
// one as double.
template <typename F>
decltype(auto) dispatch_float_type(ScalarType dtype, F&& body) {
  switch (dtype) {
    case ScalarType::Half: return body(TypeTag<torch::headeronly::Half>{});
    case ScalarType::BFloat16: return body(TypeTag<torch::headeronly::BFloat16>{});
    case ScalarType::Float: return body(TypeTag<float>{});
    case ScalarType::Double: return body(TypeTag<double>{});
    default: fail("clustering_metrics: embeddings of dtype ", dtype, " are not supported.");
  }
}

inline LabelKind label_kind(ScalarType dtype) {
  switch (dtype) {
    case ScalarType::Bool: return LabelKind::kBool;
    case ScalarType::Char:
    case ScalarType::Short:
    case ScalarType::Int:
    case ScalarType::Long: return LabelKind::kSigned;
    default: return LabelKind::kUnsigned;
  }
}

}  // namespace clustering_metrics
