"""Sphinx configuration of the clustering-metrics documentation (make docs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "clustering-metrics"
author = "the clustering-metrics developers"
copyright = "2026, the clustering-metrics developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "executed_examples",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext"]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# The docstrings' >>> examples run under `sphinx -b doctest` (make docs).
doctest_global_setup = "import torch"

html_theme = "alabaster"
html_title = "clustering-metrics"
