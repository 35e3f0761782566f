"""Time to import the package's entry points over ``import torch``, each in a fresh interpreter.

    python benchmarks/import_time.py [--repeats 5]

Prints the median over the runs and the issue's target as a PASS/FAIL line:
importing ``clustering_metrics.functional`` costs at most 0.3 s over ``import torch``.
"""

import argparse
import statistics
import subprocess
import sys

MODULES = ("clustering_metrics.functional", "clustering_metrics.cli", "clustering_metrics")
SCRIPT = """
import time
start = time.perf_counter()
import torch
middle = time.perf_counter()
import {module}
end = time.perf_counter()
print(middle - start, end - middle)
"""


def seconds_over_torch(module: str) -> float:
    output = subprocess.run([sys.executable, "-c", SCRIPT.format(module=module)], capture_output=True, text=True,
                            check=True).stdout
    return float(output.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    medians = {module: statistics.median(seconds_over_torch(module) for _ in range(args.repeats)) for module in MODULES}
    for module, seconds in medians.items():
        print(f"import {module}: {seconds * 1e3:.0f} ms over import torch (median of {args.repeats})")
    seconds = medians["clustering_metrics.functional"]
    print(f"{'PASS' if seconds <= 0.3 else 'FAIL'}  importing clustering_metrics.functional costs <= 0.3 s over "
          f"import torch (measured {seconds * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
