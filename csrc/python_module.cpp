// The Python extension module. Importing clustering_metrics._C loads this
// library, which runs the static STABLE_TORCH_LIBRARY initialisers of every
// kernel file; the module itself exposes nothing. It uses only CPython's
// limited API (Py_LIMITED_API, set by setup.py), so one build serves every
// CPython from 3.10 on (an abi3 wheel).
#include <Python.h>

PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
