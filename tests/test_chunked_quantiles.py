"""Quantiles from order statistics found a chunk at a time (the latency CDF of a simulated day
without a full-length float64 copy) against ``np.quantile`` over the whole column: the same floats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.domain.quantiles import linear_quantiles, order_statistics

_latencies = st.lists(st.one_of(st.floats(0, 1e4, width=32, allow_nan=False, allow_infinity=False),
                                st.sampled_from([0.0, 0.25, 1.5, 3e-7])), min_size=1, max_size=300)


def _chunked(values: np.ndarray, size: int):
    return lambda: (values[start:start + size] for start in range(0, len(values), size))


@settings(max_examples=200, deadline=None)
@given(_latencies, st.integers(1, 50), st.sampled_from([2, 5, 201]))
def test_chunked_quantiles_are_numpys(latencies, size, points):
    values = np.array(latencies, dtype=np.float32)
    q = np.linspace(0.0, 1.0, points)
    got = linear_quantiles(len(values), q,
                           lambda at: order_statistics(_chunked(values, size), at).astype(np.float64) * 1000.0)
    assert got.tolist() == np.quantile(values.astype(np.float64) * 1000.0, q).tolist()


@settings(max_examples=100, deadline=None)
@given(_latencies, st.integers(1, 50))
def test_order_statistics_are_the_sorted_values(latencies, size):
    values = np.array(latencies, dtype=np.float32)
    positions = np.arange(len(values))
    assert order_statistics(_chunked(values, size), positions).tolist() == np.sort(values).tolist()


def test_a_dropped_chunk_changes_the_order_statistics():
    values = np.arange(100, dtype=np.float32)
    dropped = lambda: list(_chunked(values, 10)())[:-1]  # noqa: E731
    with pytest.raises(ValueError, match="past the 90 values"):
        order_statistics(dropped, np.array([95]))
    assert order_statistics(lambda: list(_chunked(values, 10)())[1:], np.array([0])).tolist() == [10.0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 0.5, 2.0, 1e-30, 7e3]), min_size=2, max_size=200))
def test_one_chunk_sorted_gives_what_the_bit_passes_give(latencies):
    """A column of one chunk is sorted instead of read by its bits: the same float32 values, -0.0 as 0.0."""
    values = np.array(latencies, dtype=np.float32)
    positions = np.arange(len(values))
    one = order_statistics(lambda: [values], positions)
    passes = order_statistics(_chunked(values, len(values) - 1), positions)  # two chunks: the bit passes
    assert one.tobytes() == passes.tobytes()
    with pytest.raises(ValueError, match="past the"):
        order_statistics(lambda: [values], np.array([len(values)]))
