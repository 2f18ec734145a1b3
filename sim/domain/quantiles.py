"""Exact quantiles of a column read a chunk at a time: what ``np.quantile`` gives over the whole
column, without a full-length copy of it.

:func:`order_statistics` finds the values at given sorted positions of float32 values >= 0 by
their bits (which sort as the values do), 11 bits a pass over the chunks, every position at once;
:func:`linear_quantiles` turns them into numpy's default ("linear") quantiles with numpy's own
index and interpolation arithmetic, so the floats are the same.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from sim.domain.distinct import distinct

_PASSES = ((11, 21), (11, 10), (10, 0))
"""(bits, shift) of each pass over a float32's 32 bits, the highest first."""


def order_statistics(chunks: Callable[[], Iterable[np.ndarray]], positions: np.ndarray) -> np.ndarray:
    """The values (float32) at sorted ``positions`` (0-based, each below the count) of the float32
    values >= 0 that ``chunks()`` yields (called once a pass; any chunking, the same values)."""
    positions = np.asarray(positions, dtype=np.int64)
    single = _one_chunk(chunks)
    if single is not None:  # a column of one chunk (a run up to CHUNK orders): sorted, ~15x cheaper
        if len(positions) and positions[-1] >= len(single):
            raise ValueError(f"position {positions[-1]} is past the {len(single)} values read")
        return np.sort(single)[positions] + np.float32(0.0)  # -0.0 read as 0.0, as by its bits below
    prefix = np.zeros(len(positions), np.int64)  # per position: the value's bits found so far
    within = positions.copy()  # per position: its place among the values under that prefix
    for width, shift in _PASSES:
        groups, which = np.unique(prefix, return_inverse=True)
        per_digit = np.zeros(len(groups) << width, np.int64)
        for values in chunks():
            bits = values.view(np.uint32).astype(np.int64)
            bits[bits == 0x80000000] = 0  # -0.0 sorts as 0.0
            high = bits >> (shift + width)
            group = np.minimum(np.searchsorted(groups, high), len(groups) - 1)
            under = groups[group] == high
            digits = (bits[under] >> shift) & ((1 << width) - 1)
            per_digit += np.bincount((group[under] << width) + digits, minlength=len(per_digit))
        running = np.cumsum(per_digit.reshape(len(groups), 1 << width), axis=1)
        for index, row in enumerate(which.tolist()):
            digit = int(np.searchsorted(running[row], within[index], side="right"))
            if digit >= 1 << width:
                raise ValueError(f"position {positions[index]} is past the {int(running[row][-1])} values read")
            within[index] -= int(running[row][digit - 1]) if digit else 0
            prefix[index] = (prefix[index] << width) | digit
    return prefix.astype(np.uint32).view(np.float32)


def _one_chunk(chunks: Callable[[], Iterable[np.ndarray]]) -> np.ndarray | None:
    """The values, if ``chunks()`` yields at most one chunk (an empty float32 array for none)."""
    parts = iter(chunks())
    first = next(parts, None)
    if next(parts, None) is not None:
        return None
    return np.zeros(0, np.float32) if first is None else first


def linear_quantiles(count: int, q: np.ndarray,
                     values_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``np.quantile(column, q)`` (method "linear") of a column of ``count`` values, given
    ``values_at(positions)``: the column's float64 values at those sorted positions. numpy's steps:
    virtual index ``(count - 1) * q``, its neighbours clipped to the column, gamma the distance
    from the lower one, and its two-sided linear interpolation."""
    q = np.asarray(q, dtype=np.float64)
    virtual = (count - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= count - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    previous_at, following_at = previous.astype(np.intp), following.astype(np.intp)
    gamma = np.asanyarray(virtual - previous_at, dtype=virtual.dtype)
    positions = distinct(np.concatenate([previous_at % count, following_at % count]))
    found = values_at(positions)
    a = found[np.searchsorted(positions, previous_at % count)]
    b = found[np.searchsorted(positions, following_at % count)]
    diff_b_a = b - a
    result = np.add(a, diff_b_a * gamma)
    np.subtract(b, diff_b_a * (1 - gamma), out=result, where=gamma >= 0.5, casting="unsafe", dtype=np.float64)
    return result
