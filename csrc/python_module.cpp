// The Python extension module. Importing clustering_metrics._C loads this
// library, which runs the static TORCH_LIBRARY initialisers of every kernel
// file; the module itself exposes nothing.
#include <Python.h>

PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
