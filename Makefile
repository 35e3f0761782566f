# The two set-up commands of the README:
#   make demo   install torch and this package, then score the embedded demo
#   make test   install the test dependencies and run the whole test suite
#               (pytest, then the C++ library's ctest through CMake)
# Both install the package once, with every extra either needs, so running
# one after the other compiles the extension once; it is rebuilt only when a
# source file changes (build/.installed records the last install).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# Build jobs: nvcc and the templated kernels take ~1.5 GB each.
export MAX_JOBS ?= 2
BUILD_TOOLS := "torch>=2.10" "setuptools>=64" wheel ninja
INSTALLED := build/.installed
SOURCES := setup.py pyproject.toml $(shell find csrc -type f)

.PHONY: demo test clean

$(INSTALLED): $(SOURCES)
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install --no-build-isolation -e ".[demo,test]"
	@mkdir -p build && touch $@

demo: $(INSTALLED)
	$(PYTHON) -m clustering_metrics demo

test: $(INSTALLED)
	$(PYTHON) -m pytest -q
	PYTHON=$(PYTHON) scripts/cmake_check.sh

clean:
	rm -rf build clustering_metrics/_C*.so clustering_metrics/_build_info.py
