# The two set-up commands of the README:
#   make demo   install torch and this package, then score the embedded demo
#   make test   install the test dependencies and run the whole test suite
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# Build jobs: nvcc and the templated kernels take ~1.5 GB each.
export MAX_JOBS ?= 2

.PHONY: demo test install

install:
	$(PIP) install "torch>=2.4" "setuptools>=64" wheel ninja
	$(PIP) install --no-build-isolation -e ".[demo]"

demo: install
	$(PYTHON) -m clustering_metrics demo

test:
	$(PIP) install "torch>=2.4" "setuptools>=64" wheel ninja
	$(PIP) install --no-build-isolation -e ".[test]"
	$(PYTHON) -m pytest -q
