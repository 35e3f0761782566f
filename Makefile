# The two set-up commands of the README:
#   make demo   install torch and this package, then score the embedded demo
#   make test   install the test dependencies and run the whole test suite
#               (pytest, then the C++ library's ctest through CMake)
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# Build jobs: nvcc and the templated kernels take ~1.5 GB each.
export MAX_JOBS ?= 2
BUILD_TOOLS := "torch>=2.4" "setuptools>=64" wheel ninja

.PHONY: demo test

demo:
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install --no-build-isolation -e ".[demo]"
	$(PYTHON) -m clustering_metrics demo

test:
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install --no-build-isolation -e ".[test]"
	$(PYTHON) -m pytest -q
	PYTHON=$(PYTHON) scripts/cmake_check.sh
