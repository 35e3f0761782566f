"""Independent references for the tests: exact contingency tables, and every metric from its textbook formula at 40 digits."""

import math
from collections import Counter
from contextlib import contextmanager
from fractions import Fraction

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
    """MI of a {(u, v): n} table with mpmath, to about `digits` significant digits."""
    if not table:
        return mpmath.mpf(0)
    row, col = marginals(table)
    total = sum(table.values())
    # Near independence a cell's log(N n / (a b)) can be as close to 0 as
    # 1/N^2, so it is known to 2 log10(N) digits fewer than the working
    # precision, and the terms, each that small, cancel down to an MI of
    # their square: 4 log10(N) more digits keep `digits` of the result.
    # (At a fixed 60 digits, cells 10^12 +- 1 gave an MI 6e-13 off.)
    with mpmath.workdps(digits + 4 * len(str(total))):
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


def entropy_exact(totals, digits=40):
    """H = sum (a / N) log(N / a) over cluster sizes, at `digits` digits."""
    totals = [t for t in totals if t]
    with mpmath.workdps(digits):
        n = mpmath.mpf(sum(totals))
        return +mpmath.fsum(a / n * mpmath.log(n / a) for a in totals) if totals else mpmath.mpf(0)


def _hypergeometric_term(a, b, n_total, digits):
    """E[n log(N n / (a b))] for n ~ hypergeometric(N, a, b), summed from its definition.

    The probabilities follow from one exact starting value by the exact ratio
    of consecutive binomial products, carried at digits + 20. Supports of up
    to 5000 values are summed whole from P(lo) = C(N - a, b - lo) / C(N, b)
    (exact integers). Larger ones start at the mode, from mpmath's loggamma,
    and walk outwards until the probability is below 1e-70 of the mode's,
    which leaves out less than that (the distribution is log-concave, so it
    only falls further).
    """
    lo, hi = max(0, a + b - n_total), min(a, b)
    with mpmath.workdps(digits + 20):
        log_scale = mpmath.log(mpmath.mpf(n_total) / (mpmath.mpf(a) * b))

        def term(n, probability):
            return probability * n * (mpmath.log(n) + log_scale) if n else mpmath.mpf(0)

        def up(probability, n):  # P(n + 1) from P(n)
            return probability * mpmath.mpf((a - n) * (b - n)) / ((n + 1) * (n_total - a - b + n + 1))

        def down(probability, n):  # P(n - 1) from P(n)
            return probability * mpmath.mpf(n * (n_total - a - b + n)) / ((a - n + 1) * (b - n + 1))

        if hi - lo <= 5000:
            probability = mpmath.mpf(math.comb(a, lo) * math.comb(n_total - a, b - lo)) / math.comb(n_total, b)
            terms = [term(lo, probability)]
            for n in range(lo, hi):
                probability = up(probability, n)
                terms.append(term(n + 1, probability))
            return mpmath.fsum(terms)

        def log_comb(x, y):
            return mpmath.loggamma(x + 1) - mpmath.loggamma(y + 1) - mpmath.loggamma(x - y + 1)

        mode = min(max((a + 1) * (b + 1) // (n_total + 2), lo), hi)
        peak = mpmath.exp(log_comb(a, mode) + log_comb(n_total - a, b - mode) - log_comb(n_total, b))
        terms = [term(mode, peak)]
        for step in (up, down):
            probability, n = peak, mode
            while lo < n < hi or (step is up and n == lo) or (step is down and n == hi):
                probability = step(probability, n)
                n += 1 if step is up else -1
                terms.append(term(n, probability))
                if probability < peak * mpmath.mpf(10) ** -70:
                    break
        return mpmath.fsum(terms)


def expected_mutual_info_exact(row_totals, col_totals, digits=40):
    """The MI expected under random labelings with these cluster sizes: the textbook triple sum."""
    row_totals = [t for t in row_totals if t]
    col_totals = [t for t in col_totals if t]
    n_total = sum(row_totals)
    if n_total == 0:
        return mpmath.mpf(0)
    rows, cols = Counter(row_totals), Counter(col_totals)
    with mpmath.workdps(digits):
        total = mpmath.fsum(
            rows[a] * cols[b] * _hypergeometric_term(a, b, n_total, digits) for a in rows for b in cols
        )
        return +(total / n_total)


def pair_counts(table):
    """(I, A, B, C): pairs within cells, within pred clusters, within target clusters, all pairs (exact ints)."""
    row, col = marginals(table)
    n = sum(table.values())
    return (sum(math.comb(v, 2) for v in table.values()), sum(math.comb(v, 2) for v in row.values()),
            sum(math.comb(v, 2) for v in col.values()), math.comb(n, 2))


def family_exact(table, average_method="arithmetic", beta=1.0, digits=40, adjusted_mutual_info=True):
    """Every metric of the family from its textbook formula on an exact {(pred, target): n} table.

    Pair-counting metrics are exact fractions; the others are mpmath values at
    `digits` digits. Edge cases follow scikit-learn's conventions. The adjusted
    MI, whose reference sums every hypergeometric term, can be left out.
    """
    row, col = marginals(table)
    n = sum(table.values())
    perfect = len(table) == len(row) == len(col)
    mi = mutual_info_exact(table, digits) if len(table) < 20_000 else mutual_info_exact_from_entropies(table, digits)
    h_pred, h_target = entropy_exact(row.values(), digits), entropy_exact(col.values(), digits)
    with mpmath.workdps(digits):
        mean = {"min": lambda u, v: min(u, v), "max": lambda u, v: max(u, v), "arithmetic": lambda u, v: (u + v) / 2,
                "geometric": lambda u, v: mpmath.sqrt(u * v)}[average_method](h_pred, h_target)
        result = {"mutual_info_score": mi}
        result["normalized_mutual_info_score"] = 1 if perfect else (0 if mi == 0 else mi / mean)
        if not adjusted_mutual_info:
            pass
        elif perfect:
            result["adjusted_mutual_info_score"] = mpmath.mpf(1)
        elif min(len(row), len(col)) <= 1 or max(len(row), len(col)) == n:
            result["adjusted_mutual_info_score"] = mpmath.mpf(0)
        else:
            emi = expected_mutual_info_exact(row.values(), col.values(), digits)
            result["adjusted_mutual_info_score"] = (mi - emi) / (mean - emi)
        h = mpmath.mpf(1) if len(col) <= 1 or perfect else mi / h_target
        c = mpmath.mpf(1) if len(row) <= 1 or perfect else mi / h_pred
        result["homogeneity_score"], result["completeness_score"] = h, c
        result["v_measure_score"] = mpmath.mpf(0) if h + c == 0 else (1 + beta) * h * c / (beta * h + c)
        pairs_cells, pairs_pred, pairs_target, pairs_all = pair_counts(table)
        if perfect:
            result["rand_score"] = result["adjusted_rand_score"] = Fraction(1)
        else:
            result["rand_score"] = Fraction(pairs_all - pairs_pred - pairs_target + 2 * pairs_cells, pairs_all)
            result["adjusted_rand_score"] = Fraction(
                2 * (pairs_cells * pairs_all - pairs_pred * pairs_target),
                (pairs_pred + pairs_target) * pairs_all - 2 * pairs_pred * pairs_target,
            )
        if pairs_cells == 0:
            result["fowlkes_mallows_index"] = mpmath.mpf(0)
        elif perfect:
            result["fowlkes_mallows_index"] = mpmath.mpf(1)
        else:
            result["fowlkes_mallows_index"] = pairs_cells / mpmath.sqrt(mpmath.mpf(pairs_pred) * pairs_target)
        return result
