"""``distinct``: np.unique's values, by a sort and a comparison."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.domain.distinct import distinct


@given(st.lists(st.integers(-2**62, 2**62), max_size=300), st.integers(1, 4))
def test_distinct_is_what_np_unique_gives(values, runs):
    array = np.asarray(values, dtype=np.int64)
    assert np.array_equal(distinct(array), np.unique(array))
    laid_end_to_end = np.concatenate([np.sort(part) for part in np.array_split(array, runs)])  # as the cut points are
    assert np.array_equal(distinct(laid_end_to_end), np.unique(laid_end_to_end))
    assert distinct(array).dtype == np.int64


def test_distinct_of_floats_and_of_nothing():
    assert np.array_equal(distinct(np.array([2.5, 0.0, 2.5, -0.0, 1.0])), np.array([0.0, 1.0, 2.5]))
    assert distinct(np.zeros(0, np.int64)).tolist() == [] and distinct(np.array([7])).tolist() == [7]
