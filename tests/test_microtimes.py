"""MicrosColumn: every time reads back as stored (to the microsecond), whatever the order, chunk
or range of the times appended; the rare cases (a chunk's first entry, a time before its chunk's
base or beyond its 32-bit range, a time that is not finite) included."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from sim.domain.microtimes import CHUNK, MicrosColumn, to_micros

RANGE_S = 0xFFFFFFFF / 1e6
"""How far after its chunk's base a time may lie and still be stored as an offset (71.6 min)."""


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def check(column: MicrosColumn, times: list[float]) -> None:
    stored = [to_micros(t) for t in times]
    assert len(column) == len(times)
    assert all(same(column[i], at) for i, at in enumerate(stored))
    assert all(same(a, b) for a, b in zip(column.to_numpy().tolist(), stored))


TIMES = st.one_of(
    st.floats(min_value=-1e4, max_value=1e5, allow_nan=False),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -1e300, 0.0, 86400.0, 0.004]),
)


@given(st.lists(TIMES, max_size=60))
def test_times_read_back_as_stored(times: list[float]) -> None:
    column = MicrosColumn()
    returned = [column.append(t) for t in times]
    assert all(same(r, to_micros(t)) for r, t in zip(returned, times))
    check(column, times)


def test_chunk_boundaries_and_exceptions_in_each_chunk() -> None:
    """Three chunks; in each, its first entry not finite, before the base, or in range, and
    entries before their base, past the 32-bit range (by one microsecond) and not finite."""
    times = []
    for chunk in range(3):
        base = 1000.0 * chunk + 0.5
        for i in range(CHUNK):
            times.append(base + i * 1e-3)
        times[chunk * CHUNK] = (math.nan, -5.0, base)[chunk]
    first_bases = [0.0, -5.0, 2000.5]  # the base each chunk gets from its first entry (0 when not finite)
    for chunk, base in enumerate(first_bases):
        start = chunk * CHUNK
        times[start + 1] = base - 1e-6  # just before the base
        times[start + 2] = base + RANGE_S  # the last microsecond in range
        times[start + 3] = base + RANGE_S + 1e-6  # one past it
        times[start + 4] = math.inf
    column = MicrosColumn()
    returned = [column.append(t) for t in times]
    assert all(same(r, to_micros(t)) for r, t in zip(returned, times))
    check(column, times)
    assert sorted(column._odd) == sorted(
        [0] + [c * CHUNK + k for c in range(3) for k in (1, 3, 4)]
    )  # the not-finite first entry, and per chunk: before the base, past the range, not finite


def test_appends_after_dropping_whole_chunks() -> None:
    column = MicrosColumn()
    times = [10.0 + i * 1e-3 for i in range(2 * CHUNK + 5)]
    for t in times:
        column.append(t)
    column.drop_front(2 * CHUNK)
    later = [50.0, 5.0, 50.0 + RANGE_S + 1.0]  # in range of the last chunk, before its base, past it
    for t in later:
        column.append(t)
    check(column, times[2 * CHUNK:] + later)
    column.drop_front(CHUNK)  # every entry gone: the next append starts a chunk
    column.append(7.25)
    check(column, [7.25])
