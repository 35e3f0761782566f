"""More than 2^31 samples: 64-bit indexing, counts and products (a few GB; run with -m slow)."""

import math
from collections import Counter

import pytest
import torch

from clustering_metrics import ops
from clustering_metrics.functional import mutual_info_score
from reference import default_dtype, mutual_info_exact

NUM_SAMPLES = 2**31 + 4_099


def periodic_labels(num_samples, period, chunk=2**26):
    """uint8 labels i mod period, filled chunk by chunk to keep int64 temporaries small."""
    labels = torch.empty(num_samples, dtype=torch.uint8)
    for start in range(0, num_samples, chunk):
        stop = min(start + chunk, num_samples)
        labels[start:stop] = (torch.arange(start, stop, dtype=torch.int64) % period).to(torch.uint8)
    return labels


def periodic_table(num_samples, pred_period, target_period):
    """Exact contingency of (i mod p, i mod q), counted by residue mod lcm(p, q)."""
    period = math.lcm(pred_period, target_period)
    full, rest = divmod(num_samples, period)
    table = Counter()
    for residue in range(period):
        table[(residue % pred_period, residue % target_period)] = full + (residue < rest)
    return table


@pytest.mark.slow
def test_more_than_2_to_the_31_samples():
    # Periods 6 and 4 share a factor 2, so the labels are dependent (MI ~ log 2).
    preds = periodic_labels(NUM_SAMPLES, 6)
    target = periodic_labels(NUM_SAMPLES, 4)
    expected_table = periodic_table(NUM_SAMPLES, 6, 4)
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    got = {(int(u), int(v)): int(n) for u, v, n in zip(pred_labels.tolist(), target_labels.tolist(), counts.tolist())}
    assert got == dict(expected_table)
    assert counts.sum().item() == NUM_SAMPLES
    exact = float(mutual_info_exact(expected_table))
    with default_dtype(torch.float64):
        value = mutual_info_score(preds, target).item()
    assert exact > 0.5
    assert abs(value - exact) <= 1e-12 * exact
