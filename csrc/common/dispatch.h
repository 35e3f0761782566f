// Dispatch over every integer label dtype torch has, for both backends.
#pragma once

#include <ATen/Dispatch_v2.h>

#define CM_DISPATCH_LABEL_TYPES(TYPE, NAME, ...)                                              \
  AT_DISPATCH_V2(TYPE, NAME, AT_WRAP(__VA_ARGS__), at::kBool, at::kByte, at::kChar,           \
                 at::kShort, at::kInt, at::kLong, at::kUInt16, at::kUInt32, at::kUInt64)
