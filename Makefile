# The set-up commands of the README:
#   make demo   install torch and this package, then score the embedded demo
#   make test   run the whole test suite (pytest, then the C++ library's
#               ctest through CMake)
#   make docs   build the documentation site (docs/_build/html), warnings as
#               errors, and run its examples
# They work in the active virtual environment, or, when none is active, in a
# project one (.venv) that they create: a distribution's Python may refuse
# pip installs, and the others should not get several GB of torch.
# Every target installs the package once, with every extra any of them (and
# the benchmarks) need, so the extension compiles once; it is rebuilt only
# when a source file changes (the stamp in the environment records the last
# install).
ENV_DIR := $(or $(VIRTUAL_ENV),$(CURDIR)/.venv)
PYTHON ?= $(ENV_DIR)/bin/python
PIP := $(PYTHON) -m pip
# Build jobs: nvcc and the templated kernels take ~1.5 GB each.
export MAX_JOBS ?= 2
BUILD_TOOLS := "torch>=2.10" "setuptools>=64" wheel ninja
EXTRAS := demo,test,bench,docs
INSTALLED := $(ENV_DIR)/.clustering_metrics_installed
SOURCES := setup.py pyproject.toml $(shell find csrc -type f)

.PHONY: demo test test-slow docs python clean

$(ENV_DIR)/bin/python:
	python3 -m venv $(ENV_DIR)

$(INSTALLED): $(SOURCES) | $(ENV_DIR)/bin/python
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install --no-build-isolation -e ".[$(EXTRAS)]"
	@touch $@

demo: $(INSTALLED)
	$(PYTHON) -m clustering_metrics demo

test: $(INSTALLED)
	$(PYTHON) -m pytest -q
	PYTHON=$(PYTHON) scripts/cmake_check.sh

# More than 2^31 samples: about 6 GB and 40 s.
test-slow: $(INSTALLED)
	$(PYTHON) -m pytest -q -m slow

docs: $(INSTALLED)
	$(PYTHON) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(PYTHON) -m sphinx -W --keep-going -q -b doctest docs docs/_build/doctest

# The interpreter the targets use, for scripts: $(make -s python) benchmarks/bench.py
python:
	@echo $(PYTHON)

clean:
	rm -rf build docs/_build clustering_metrics/_C*.so clustering_metrics/_build_info.py
