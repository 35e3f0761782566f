"""Information-theoretic metrics: MI, normalised and adjusted MI, homogeneity, completeness, V-measure.

The summary's MI and entropies are computed from exact counts with every term
non-negative (``csrc/common/information_terms.h``), so these formulas only
divide and average well-conditioned values. Conventions where a ratio is 0/0
follow scikit-learn; the README's table lists where torchmetrics differs.
"""

import torch
from torch import Tensor

from clustering_metrics.summary import ContingencySummary

AVERAGE_METHODS = ("min", "geometric", "arithmetic", "max")


def generalized_mean(u: Tensor, v: Tensor, method: str) -> Tensor:
    """The mean of two non-negative values named by ``method`` (one of :data:`AVERAGE_METHODS`)."""
    if method == "min":
        return torch.minimum(u, v)
    if method == "geometric":
        return torch.sqrt(u * v)
    if method == "arithmetic":
        return (u + v) / 2
    if method == "max":
        return torch.maximum(u, v)
    raise ValueError(f"unknown average_method {method!r}; expected one of {', '.join(AVERAGE_METHODS)}")


def _one(like: Tensor) -> Tensor:
    return torch.ones_like(like)


def _mutual_info_of(s: ContingencySummary, metric: str) -> Tensor:
    # Refused rather than NaN: the edge-case branches (a perfect match scores
    # 1) would otherwise hide the missing value.
    if not s.has_mutual_info:
        raise ValueError(f"{metric} needs a summary made with mutual_info=True")
    return s.mutual_info


def mutual_info(s: ContingencySummary) -> Tensor:
    """MI(U, V) = sum_ij (n_ij / N) log(N n_ij / (a_i b_j)), in nats; 0 for empty input."""
    return _mutual_info_of(s, "mutual_info")


def normalized_mutual_info(s: ContingencySummary, average_method: str = "arithmetic") -> Tensor:
    """MI / mean(H(U), H(V)); 1 for a perfect match (both sides one cluster, or empty, included), 0 when MI is 0."""
    mi = _mutual_info_of(s, "normalized_mutual_info")
    normalizer = generalized_mean(s.entropy_pred, s.entropy_target, average_method)
    value = torch.where(mi == 0, torch.zeros_like(mi), mi / normalizer)
    return torch.where(s.perfect_match, _one(mi), value)


def adjusted_mutual_info(s: ContingencySummary, average_method: str = "arithmetic") -> Tensor:
    """(MI - EMI) / (mean(H(U), H(V)) - EMI), with EMI the MI expected under random labelings of the same sizes.

    1 for a perfect match; 0 when one side is a single cluster, or when one side
    is all singletons (then every labeling has MI = EMI exactly, and the
    normalizer may equal the EMI too). Needs a summary made with
    ``expected_mutual_info=True``.
    """
    if not s.has_expected_mutual_info:
        raise ValueError("adjusted_mutual_info needs a summary made with expected_mutual_info=True")
    mi, emi = _mutual_info_of(s, "adjusted_mutual_info"), s.expected_mutual_info
    normalizer = generalized_mean(s.entropy_pred, s.entropy_target, average_method)
    value = (mi - emi) / (normalizer - emi)
    n = s.n_samples
    no_information = (
        (s.num_pred_clusters <= 1) | (s.num_target_clusters <= 1) | (s.num_pred_clusters == n) | (s.num_target_clusters == n)
    )
    value = torch.where(no_information, torch.zeros_like(value), value)
    return torch.where(s.perfect_match, _one(value), value)


def homogeneity(s: ContingencySummary) -> Tensor:
    """MI / H(target): 1 when each predicted cluster holds one target class; 1 when H(target) is 0 (or no input)."""
    h = _mutual_info_of(s, "homogeneity") / s.entropy_target
    h = torch.where(s.num_target_clusters <= 1, _one(h), h)
    return torch.where(s.perfect_match, _one(h), h)


def completeness(s: ContingencySummary) -> Tensor:
    """MI / H(preds): 1 when each target class lies in one predicted cluster; 1 when H(preds) is 0 (or no input)."""
    c = _mutual_info_of(s, "completeness") / s.entropy_pred
    c = torch.where(s.num_pred_clusters <= 1, _one(c), c)
    return torch.where(s.perfect_match, _one(c), c)


def v_measure(s: ContingencySummary, beta: float = 1.0) -> Tensor:
    """(1 + beta) h c / (beta h + c), the weighted harmonic mean of homogeneity and completeness; 0 when h + c is 0."""
    h, c = homogeneity(s), completeness(s)
    value = (1 + beta) * h * c / (beta * h + c)
    return torch.where(h + c == 0, torch.zeros_like(value), value)
