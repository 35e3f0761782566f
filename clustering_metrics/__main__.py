"""``python -m clustering_metrics [demo]``."""

import sys

from clustering_metrics.demo import run

if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["demo"]):
        sys.exit("usage: python -m clustering_metrics [demo]")
    run()
