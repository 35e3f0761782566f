// The Python extension module. Importing clustering_metrics._C loads this
// library, which runs the static STABLE_TORCH_LIBRARY initialisers of every
// kernel file. The module exports the constants that Python shares with the
// C++ code, so that they are written once (in C++):
//
//   OP_NAMES              the ops of torch.ops.clustering_metrics (op_schemas.h)
//   SUMMARY_INTEGER_SLOTS the names of contingency_summary's int64 slots, in order
//   SUMMARY_REAL_SLOTS    ... and of its float64 slots (common/summary.h)
//   MAX_BOUNDED_SLOTS     the most slots of a count_into_table table (common/bounded_table.h)
//
// It uses only CPython's limited API (Py_LIMITED_API, set by setup.py), so
// one build serves every CPython from 3.10 on (an abi3 wheel).
#include <Python.h>

#include <cstring>
#include <string>

#include "common/bounded_table.h"
#include "common/summary.h"
#include "op_schemas.h"

namespace {

// A tuple of str, or nullptr with a Python error set.
template <size_t N>
PyObject* tuple_of(const std::string (&names)[N]) {
  PyObject* tuple = PyTuple_New(N);
  for (size_t i = 0; tuple != nullptr && i < N; ++i) {
    PyObject* name = PyUnicode_FromString(names[i].c_str());
    if (name == nullptr || PyTuple_SetItem(tuple, static_cast<Py_ssize_t>(i), name) != 0) {
      Py_DECREF(tuple);
      return nullptr;
    }
  }
  return tuple;
}

std::string op_name(const char* schema) { return std::string(schema, std::strchr(schema, '(')); }

#define CM_SLOT_NAME(enumerator, name) name,
const std::string kIntegerSlots[] = {CM_SUMMARY_INTEGER_SLOTS(CM_SLOT_NAME)};
const std::string kRealSlots[] = {CM_SUMMARY_REAL_SLOTS(CM_SLOT_NAME)};
#undef CM_SLOT_NAME

// Adds value to module as name, taking the reference; false with an error set.
bool add(PyObject* module, const char* name, PyObject* value) {
  if (value == nullptr) return false;
  const int status = PyModule_AddObjectRef(module, name, value);
  Py_DECREF(value);
  return status == 0;
}

}  // namespace

PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  PyObject* module = PyModule_Create(&module_def);
  if (module == nullptr) return nullptr;
  std::string op_names[std::size(clustering_metrics::kOpSchemas)];
  for (size_t i = 0; i < std::size(op_names); ++i) op_names[i] = op_name(clustering_metrics::kOpSchemas[i]);
  const bool ok = add(module, "OP_NAMES", tuple_of(op_names)) &&
                  add(module, "SUMMARY_INTEGER_SLOTS", tuple_of(kIntegerSlots)) &&
                  add(module, "SUMMARY_REAL_SLOTS", tuple_of(kRealSlots)) &&
                  add(module, "MAX_BOUNDED_SLOTS", PyLong_FromUnsignedLongLong(clustering_metrics::kMaxBoundedSlots));
  if (!ok) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
