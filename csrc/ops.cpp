// Op registration. The schemas are in op_schemas.h; kernels live in cpu/ and
// cuda/; fake (meta) kernels are registered from Python in
// clustering_metrics/ops.py. Everything is registered through the LibTorch
// stable ABI, so one binary loads under every torch from the targeted
// version (TORCH_TARGET_VERSION) on.
#include <torch/csrc/stable/library.h>

#include "op_schemas.h"

STABLE_TORCH_LIBRARY(clustering_metrics, m) {
  for (const char* schema : clustering_metrics::kOpSchemas) m.def(schema);
}
