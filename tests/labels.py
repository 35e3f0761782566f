"""Random label vectors for property tests, over every integer dtype torch has."""

import numpy as np
import torch
from hypothesis import strategies as st

LABEL_DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint16,
    torch.uint32,
    torch.uint64,
]

_NUMPY = {
    torch.bool: np.bool_,
    torch.uint8: np.uint8,
    torch.int8: np.int8,
    torch.int16: np.int16,
    torch.int32: np.int32,
    torch.int64: np.int64,
    torch.uint16: np.uint16,
    torch.uint32: np.uint32,
    torch.uint64: np.uint64,
}

# How the distinct label values of one side are chosen.
VALUE_MODES = ["small", "negative", "extremes", "sparse"]


def _dtype_bounds(dtype):
    if dtype == torch.bool:
        return 0, 1
    info = np.iinfo(_NUMPY[dtype])
    return int(info.min), int(info.max)


def distinct_values(rng, dtype, num_clusters, mode):
    """`num_clusters` distinct values (fewer if the dtype is too narrow) as Python ints."""
    lo, hi = _dtype_bounds(dtype)
    span = hi - lo + 1
    k = min(num_clusters, span)
    if mode == "small":
        base = 0
    elif mode == "negative":
        base = max(lo, -k // 2) if lo < 0 else lo
    else:
        base = None
    if base is not None and base + k - 1 <= hi:
        return list(range(base, base + k))
    values = {lo, hi} if mode == "extremes" else set()
    while len(values) < k:
        raw = rng.integers(0, 2**64 - 1, size=k, endpoint=True, dtype=np.uint64)
        values.update(lo + int(x) % span for x in raw)
    return sorted(values)[:k]


def make_labels(rng, dtype, n, values):
    """n labels drawn uniformly from `values`, as a tensor of `dtype`."""
    picks = rng.integers(0, len(values), size=n)
    array = np.array(values, dtype=object)[picks].astype(_NUMPY[dtype]) if n else np.zeros(0, _NUMPY[dtype])
    if dtype == torch.uint64:
        return torch.from_numpy(array.view(np.int64).copy()).view(torch.uint64)
    return torch.from_numpy(np.ascontiguousarray(array))


@st.composite
def label_pairs(draw, max_size=100_000, max_clusters=10_000, dtypes=LABEL_DTYPES):
    """(preds, target) of independent random dtypes, sizes, cluster counts and value modes."""
    n = draw(st.one_of(st.integers(0, 50), st.integers(0, 2_000), st.integers(0, max_size)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tensors = []
    for _ in range(2):
        dtype = draw(st.sampled_from(dtypes))
        k = draw(st.one_of(st.integers(1, 10), st.integers(1, max_clusters)))
        mode = draw(st.sampled_from(VALUE_MODES))
        tensors.append(make_labels(rng, dtype, n, distinct_values(rng, dtype, k, mode)))
    return tuple(tensors)
