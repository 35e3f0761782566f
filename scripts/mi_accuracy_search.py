"""Searches for the MI's worst relative error near independence, against 60-digit mpmath.

    python scripts/mi_accuracy_search.py [--tables 3000] [--seed 1]

Draws tables of 2x2 to 6x6 cells whose counts are the independent ones
a_i b_j scaled by 10^0 to 10^15, each moved by -3 to 3: the MI is then tiny
(down to ~1e-25) and every per-cell term of its textbook formula cancels
against the others. Prints the worst relative error found and its table's
shape and scale. The README's bound is 1e-13.
"""

import argparse
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference import mutual_info_exact  # noqa: E402

import clustering_metrics  # noqa: E402, F401  (registers the ops)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    worst = (0.0, None)
    for _ in range(args.tables):
        rows, cols = rng.randint(2, 6), rng.randint(2, 6)
        scale = 10 ** rng.randint(0, 15)
        row_weights = [rng.randint(1, 9) for _ in range(rows)]
        col_weights = [rng.randint(1, 9) for _ in range(cols)]
        table = {(i, j): max(a * b * scale + rng.randint(-3, 3), 1)
                 for i, a in enumerate(row_weights) for j, b in enumerate(col_weights)}
        got = torch.ops.clustering_metrics.mutual_info_from_histogram(
            torch.tensor([u for u, _ in table]), torch.tensor([v for _, v in table]), torch.tensor(list(table.values()))
        ).item()
        exact = float(mutual_info_exact(table, digits=60))
        if exact == 0:
            assert got == 0, (table, got)
            continue
        error = abs(got - exact) / exact
        if error > worst[0]:
            worst = (error, f"{rows}x{cols} cells, scale 1e{len(str(scale)) - 1}, MI {exact:.3g}")
    print(f"{args.tables} tables: worst relative error {worst[0]:.3g} ({worst[1]})")


if __name__ == "__main__":
    main()
