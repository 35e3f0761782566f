"""Runs every ```python block of a page while the site builds, and shows what it printed.

Each block runs as pasted, in a fresh interpreter in an empty folder (so no
block leans on another), with the interpreter that builds the site. A block
that fails fails the build. A comment like ``# tensor(0.5004)`` after a print
states what it prints, and the build checks that it does.
"""

import re
import subprocess
import sys
import tempfile

from sphinx.errors import ExtensionError

BLOCK = re.compile(r"^```python\n(.*?)^```\n", flags=re.S | re.M)
SHOWN = re.compile(r"print\((.*)\)\s+# (tensor\([^)]*\))$")


def run_block(docname: str, block: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-c", block], cwd=folder, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise ExtensionError(f"{docname}: an example failed:\n{block}\n{result.stderr[-3000:]}")
    for line in block.splitlines():
        shown = SHOWN.match(line.strip())
        if shown and shown.group(2) not in result.stdout:
            raise ExtensionError(f"{docname}: the example says it prints {shown.group(2)}, but it printed\n{result.stdout}")
    return result.stdout


def execute_examples(app, docname, source):
    def with_output(match):
        output = run_block(docname, match.group(1))
        if not output.strip():
            return match.group(0)
        return match.group(0) + "\nOutput:\n\n```text\n" + output.rstrip("\n") + "\n```\n"

    source[0] = BLOCK.sub(with_output, source[0])


def setup(app):
    app.connect("source-read", execute_examples)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
