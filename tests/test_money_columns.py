"""The columnar helpers of the double-charge oracle and KPIs, against a plain per-order count,
read in chunks as small as one order (a line's orders split across chunks)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.oracles.money import captures_per_line, charged_on_doubled_lines, orders_on_charged_lines


def reader(lines: np.ndarray):
    return lambda start, stop: lines[start:stop].copy()  # a new array, as Orders.line_column gives


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_captures_per_line_counts_every_capture(chunk):
    captures = bytearray([1, 0, 2, 1, 3, 0, 1])  # per order: captured this often (order 4: three times)
    lines = np.array([0, 0, 1, 2, 2, 3, 5], dtype=np.int64)
    per_line = captures_per_line(captures, reader(lines), chunk)
    expected = [0] * 6
    for order_id, count in enumerate(captures):
        expected[lines[order_id]] += count
    assert per_line.tolist() == expected == [1, 2, 4, 0, 0, 1]
    assert orders_on_charged_lines(captures, reader(lines), chunk) == [2, 3, 4]  # lines 1 and 2 charged twice+
    ids, their_lines = charged_on_doubled_lines(captures, reader(lines), per_line, chunk)
    assert ids.tolist() == [2, 3, 4] and their_lines.tolist() == [1, 2, 2]


@pytest.mark.parametrize("chunk", [1, 2, 1 << 20])
def test_lines_out_of_order_across_chunks(chunk):
    """A later chunk may hold a lower line than an earlier one (an order added to an old cart)."""
    captures = bytearray([1, 1, 1, 1])
    lines = np.array([4, 9, 1, 4], dtype=np.int64)
    assert captures_per_line(captures, reader(lines), chunk).tolist() == [0, 1, 0, 0, 2, 0, 0, 0, 0, 1]
    assert orders_on_charged_lines(captures, reader(lines), chunk) == [0, 3]


def test_nothing_charged():
    per_line = captures_per_line(bytearray(3), reader(np.arange(3, dtype=np.int64)))
    assert len(per_line) == 0
    assert orders_on_charged_lines(bytearray([1, 1]), reader(np.arange(2, dtype=np.int64))) == []
