"""The sweep report redraws one figure per parameter for every KPI (``_line_plot(..., again)``):
each PNG must be byte-for-byte the one a new figure gives, whatever the KPI before it drew."""

from __future__ import annotations

import math

import pytest

from sim.reports.figures import png
from sim.reports.sweep_figures import _line_plot
from sim.reports.sweep_points import points_frame

KPIS = ["success_rate", "time_to_recover_s", "p99_latency_ms", "double_charges", "psp_requests_per_order"]
"""A percentage, a KPI with no value at any point (NaN), a latency, a constant, a ratio."""


def _rows(first: list, second: list) -> list[dict]:
    rows = []
    for point, (a, b) in enumerate((a, b) for a in first for b in second):
        for seed in range(3):
            wobble = (seed - 1) * 0.01 * (1 + point % 3)
            rows.append({"point": point, "replication": seed, "a": a, "b": b,
                         "success_rate": min(1.0, 0.9 + 0.02 * (point % 4) + wobble),
                         "time_to_recover_s": math.nan,
                         "p99_latency_ms": 150.0 * (1 + point) * (1 + wobble),
                         "double_charges": 0,
                         "psp_requests_per_order": 1.0 + 0.1 * point + wobble})
    return rows


CASES = {
    "linear": ([1.0, 2.0, 3.0, 5.0], [1]),
    "log scale": ([0.1, 1.0, 10.0], [1]),
    "categories": (["none", "fixed", "full-jitter"], [1]),
    "one line per value of the second parameter": ([1.0, 2.0, 4.0], ["x", "y"]),
    "the second parameter averaged (too many values)": ([1.0, 2.0], list(range(10))),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_redrawn_figure_gives_the_bytes_of_a_new_one(case):
    first, second = CASES[case]
    parameters = ["a", "b"] if len(second) > 1 else ["a"]
    points = points_frame(_rows(first, second), parameters, KPIS)
    units = {"a": "", "b": ""}
    split = "b" if len(second) > 1 else None
    fresh = [png(_line_plot(points, "a", split, kpi, units)) for kpi in KPIS]
    figure, again = None, []
    for kpi in KPIS + KPIS[::-1]:  # every KPI after every other kind, NaN-only included
        figure = _line_plot(points, "a", split, kpi, units, figure)
        again.append(png(figure))
    assert again == fresh + fresh[::-1]
