"""The README's Python code blocks run as pasted, each in a fresh interpreter."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if README.exists() else []


def test_the_readme_has_python_blocks():
    assert README.exists(), "tests run from a copy without the README"  # the wheel checks copy it too
    assert len(PYTHON_BLOCKS) >= 5


@pytest.mark.parametrize("number", range(len(PYTHON_BLOCKS)))
def test_python_block_runs_as_pasted(number, tmp_path):
    block = PYTHON_BLOCKS[number]
    result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README block {number} failed:\n{block}\n{result.stderr[-2000:]}"
    # A comment like `# tensor(0.5004)` after a print states what it prints.
    for line in block.splitlines():
        shown = re.match(r"print\((.*)\)\s+# (tensor\([^)]*\))$", line.strip())
        if shown:
            assert shown.group(2) in result.stdout, f"README block {number}: expected {shown.group(2)} in\n{result.stdout}"


CONSOLE_BLOCKS = re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S) if README.exists() else []
PREDS, TARGET = [2, 1, 0, 1, 0], [0, 2, 1, 1, 0]


def console_examples():
    """(command, expected output lines) for every `$ clustering-metrics score ...` line of the README."""
    examples = []
    for block in CONSOLE_BLOCKS:
        command, expected = None, []
        for line in block.splitlines() + ["$ end"]:
            if line.startswith("$ "):
                if command and command.startswith("clustering-metrics score"):
                    examples.append((command, expected))
                command, expected = line[2:].split("#")[0].strip(), []
            else:
                expected.append(line)
    return examples


def write_example_files(directory):
    import numpy as np
    import torch

    np.save(directory / "preds.npy", np.array(PREDS))
    np.save(directory / "target.npy", np.array(TARGET))
    torch.save(torch.tensor(PREDS), directory / "preds.pt")
    (directory / "target.csv").write_text("".join(f"{t}\n" for t in TARGET))
    (directory / "labels.csv").write_text("kmeans,truth\n" + "".join(f"{p},{t}\n" for p, t in zip(PREDS, TARGET)))
    (directory / "short.txt").write_text("".join(f"{t}\n" for t in TARGET[:4]))


@pytest.mark.parametrize("command, expected", console_examples(), ids=lambda value: str(value)[:60])
def test_command_line_example_prints_what_the_readme_shows(command, expected, tmp_path):
    write_example_files(tmp_path)
    arguments = command.split()[1:]  # clustering-metrics is `python -m clustering_metrics`
    result = subprocess.run([sys.executable, "-m", "clustering_metrics", *arguments], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    printed = (result.stdout + result.stderr).strip().splitlines()
    assert len(printed) == len(expected), (command, printed)
    for got, shown in zip(printed, expected):
        pattern = ".*".join(re.escape(part) for part in shown.split("..."))
        assert re.fullmatch(pattern, got), (command, got, shown)
