"""Exact, fast clustering-comparison metrics as compiled PyTorch custom ops.

``import clustering_metrics`` loads the compiled library and registers the
``torch.ops.clustering_metrics`` ops with their fake kernels.
"""

from clustering_metrics._loader import load_library as _load_library

_load_library()

from clustering_metrics import ops  # noqa: E402
from clustering_metrics.functional import mutual_info_score  # noqa: E402
from clustering_metrics.metric import MutualInfoScore  # noqa: E402

__version__ = "0.1.0"
__all__ = ["MutualInfoScore", "mutual_info_score", "ops"]
