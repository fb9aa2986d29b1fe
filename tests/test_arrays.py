"""The shared ragged-range idioms against plain Python."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from assign.arrays import ragged_ranges, ragged_within


@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 6)), max_size=12))
def test_ranges_and_positions_match_python(groups: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in groups], dtype=np.int64)
    counts = np.array([n for _, n in groups], dtype=np.int64)
    expect_within = [i for _, n in groups for i in range(n)]
    expect_ranges = [s + i for s, n in groups for i in range(n)]
    assert ragged_within(counts).tolist() == expect_within
    assert ragged_ranges(starts, counts).tolist() == expect_ranges
    assert ragged_ranges(starts, counts).dtype == np.int64
