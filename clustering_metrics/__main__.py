"""``python -m clustering_metrics [score ... | demo ...]``: the ``clustering-metrics`` command."""

import sys

from clustering_metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
