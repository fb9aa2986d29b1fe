"""Array idioms shared by the vectorised rules, candidates and solvers."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

I64 = NDArray[np.int64]


def ragged_within(counts: ArrayLike) -> I64:
    """For consecutive groups of sizes ``counts``, each element's position in
    its group: ``[0 .. counts[0]-1, 0 .. counts[1]-1, ...]``."""
    n = np.asarray(counts, dtype=np.int64)
    return np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)


def ragged_ranges(starts: ArrayLike, counts: ArrayLike) -> I64:
    """The ranges ``[starts[i], starts[i] + counts[i])`` one after another
    (e.g. the rows of CSR slices), without a Python loop."""
    n = np.asarray(counts, dtype=np.int64)
    # (one repeat of each group's offset rather than two: the starts and the groups' firsts)
    offset = np.asarray(starts, dtype=np.int64) - (np.cumsum(n) - n)
    return np.repeat(offset, n) + np.arange(int(n.sum()), dtype=np.int64)
