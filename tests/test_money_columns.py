"""The columnar helpers of the double-charge oracle and KPIs, against a plain per-order count."""

from __future__ import annotations

import numpy as np

from sim.oracles.money import captures_per_line, orders_on_charged_lines


def test_captures_per_line_counts_every_capture():
    captures = bytearray([1, 0, 2, 1, 3, 0, 1])  # per order: captured this often (order 4: three times)
    lines = np.array([0, 0, 1, 2, 2, 3, 5], dtype=np.int64)
    charged, per_line = captures_per_line(captures, lines)
    assert charged.tolist() == [0, 2, 3, 4, 6]
    expected = [0] * 6
    for order_id, count in enumerate(captures):
        expected[lines[order_id]] += count
    assert per_line.tolist() == expected == [1, 2, 4, 0, 0, 1]
    assert orders_on_charged_lines(captures, lines) == [2, 3, 4]  # lines 1 and 2 charged more than once


def test_nothing_charged():
    charged, per_line = captures_per_line(bytearray(3), np.arange(3, dtype=np.int64))
    assert len(charged) == 0 and len(per_line) == 0
    assert orders_on_charged_lines(bytearray([1, 1]), np.arange(2, dtype=np.int64)) == []
