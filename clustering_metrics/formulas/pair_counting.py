"""Pair-counting metrics: Rand index, adjusted Rand index, Fowlkes-Mallows index.

Over the N (N - 1) / 2 unordered pairs of samples, with I the pairs in one
cell, A the pairs in one predicted cluster and B the pairs in one target
cluster (sums of C(n, 2), exact 128-bit integers in the summary), the
summary holds the integer expressions these metrics need, each rounded once
from exact arithmetic, so each metric below is one division.
"""

import torch
from torch import Tensor

from clustering_metrics.summary import ContingencySummary


def rand_index(s: ContingencySummary) -> Tensor:
    """(pairs on which both clusterings agree) / (all pairs); 1 for a perfect match (or fewer than two samples)."""
    value = s.pair_agreements / s.pairs_total
    return torch.where(s.perfect_match, torch.ones_like(value), value)


def adjusted_rand_index(s: ContingencySummary) -> Tensor:
    """(I C - A B) / ((A + B) C / 2 - A B) with C = N (N - 1) / 2; 1 for a perfect match (or no pairs)."""
    value = s.adjusted_rand_numerator / s.adjusted_rand_denominator
    return torch.where(s.perfect_match, torch.ones_like(value), value)


def fowlkes_mallows(s: ContingencySummary) -> Tensor:
    """I / sqrt(A B), the geometric mean of pair precision and recall; 0 when no pair shares a cell."""
    value = s.pairs_in_cells / torch.sqrt(s.pairs_product)
    no_pairs = s.pairs_in_cells == 0
    value = torch.where(s.perfect_match, torch.ones_like(value), value)
    return torch.where(no_pairs, torch.zeros_like(value), value)
