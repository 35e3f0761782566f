"""Independent references for the tests: exact contingency tables and MI at 40 digits."""

from collections import Counter
from contextlib import contextmanager

import mpmath
import numpy as np
import torch


def as_python_ints(labels):
    """Label values as Python ints (exact for every dtype, uint64 included)."""
    if isinstance(labels, torch.Tensor):
        if labels.dtype == torch.uint64:
            # numpy reads the raw bits as uint64; torch lacks some uint64 ops.
            return [int(x) for x in labels.view(torch.int64).numpy().view(np.uint64)]
        return [int(x) for x in labels.tolist()]
    return [int(x) for x in labels]


def contingency(preds, target, counts=None):
    """{(pred, target): count} built with a plain Counter."""
    table = Counter()
    weights = [1] * len(preds) if counts is None else counts
    for u, v, w in zip(as_python_ints(preds), as_python_ints(target), weights):
        table[(u, v)] += int(w)
    return {pair: n for pair, n in table.items() if n != 0}


def contingency_numpy(preds, target):
    """Same table for large inputs, via np.unique on the label pairs."""
    pairs = np.stack([np.asarray(preds, dtype=np.int64), np.asarray(target, dtype=np.int64)], axis=1)
    unique, counts = np.unique(pairs, axis=0, return_counts=True)
    return {(int(u), int(v)): int(n) for (u, v), n in zip(unique, counts)}


def marginals(table):
    """Row and column sums of a {(u, v): n} table, as Counters."""
    row, col = Counter(), Counter()
    for (u, v), n in table.items():
        row[u] += n
        col[v] += n
    return row, col


def mutual_info_exact(table, digits=40):
    """MI of a {(u, v): n} table with mpmath at `digits` significant digits."""
    if not table:
        return mpmath.mpf(0)
    row, col = marginals(table)
    with mpmath.workdps(digits):
        total = sum(table.values())
        mi = mpmath.mpf(0)
        for (u, v), n in table.items():
            mi += mpmath.mpf(n) / total * mpmath.log(mpmath.mpf(total) * n / (mpmath.mpf(row[u]) * col[v]))
        return +mi


def mutual_info_exact_from_entropies(table, digits=40):
    """The same MI as N log N + sum n log n - sum a log a - sum b log b, over N.

    An exact identity; at 40 digits the cancellation between the four sums is
    harmless. It takes one log per distinct count, so it serves tables of
    10^6 cells, where mutual_info_exact would take minutes.
    """
    if not table:
        return mpmath.mpf(0)
    row, col = marginals(table)
    with mpmath.workdps(digits):

        def sum_n_log_n(counts):
            multiplicity = Counter(counts)
            return mpmath.fsum(m * mpmath.mpf(n) * mpmath.log(n) for n, m in multiplicity.items())

        total = mpmath.mpf(sum(table.values()))
        numerator = (total * mpmath.log(total) + sum_n_log_n(table.values())
                     - sum_n_log_n(row.values()) - sum_n_log_n(col.values()))
        return +(numerator / total)


@contextmanager
def default_dtype(dtype):
    """Run a block under torch.set_default_dtype(dtype), restoring the previous default."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
