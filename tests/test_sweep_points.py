"""``sim.reports.sweep_points``: what a sweep report needs of its points frame, and its figures,
made from the rows alone (on a drawing helper), the same as from the frame itself."""

from __future__ import annotations

import math

from sim.reports.figures import png
from sim.reports.sweep_figures import heatmap_figure, line_plots_png
from sim.reports.sweep_points import heatmap, line_plots, points_frame, summary

KPIS = ["success_rate", "time_to_recover_s", "p99_latency_ms"]


def _rows() -> list[dict]:
    """A 2 × 2 × 3 grid (a, b, c) × 2 seeds; time_to_recover_s measured nowhere."""
    rows = []
    grid = [(a, b, c) for a in (1.0, 2.0) for b in ("x", "y") for c in (10, 20, 30)]
    for point, (a, b, c) in enumerate(grid):
        for seed in range(2):
            rows.append({"point": point, "replication": seed, "a": a, "b": b, "c": c,
                         "success_rate": 0.9 + 0.01 * point - 0.005 * seed, "time_to_recover_s": math.nan,
                         "p99_latency_ms": 100.0 * a + c + seed})
    return rows


def test_the_summary_is_the_frame_s_csv_table_and_what_varies():
    rows = _rows()
    points = points_frame(rows, ["a", "b", "c"], KPIS)
    made = summary(rows, ["a", "b", "c"], KPIS, ["p99_latency_ms", "time_to_recover_s"])
    assert made["csv"] == points.to_csv(index=False, lineterminator="\n")
    assert repr(made["records"]) == repr(points.to_dict("records"))  # NaN included
    assert made["plotted"] == ["p99_latency_ms"]  # a KPI no run measured is not plotted
    assert made["facets"] == [10, 20, 30]
    one = [row for row in rows if row["a"] == 1.0]
    assert summary(one, ["a", "b"], KPIS, KPIS)["varied"] == ["b"] and summary(one, ["a", "b"], KPIS, KPIS)["facets"] == []


def test_figures_made_from_the_rows_are_those_of_the_frame():
    rows, parameters = _rows(), ["a", "b", "c"]
    points = points_frame(rows, parameters, KPIS)
    units = {"a": "", "b": "", "c": ""}
    assert line_plots(rows, parameters, KPIS, "a", "b", ["success_rate"], units) == \
        line_plots_png(points, "a", "b", ["success_rate"], units)
    facets = list(points.groupby("c", sort=True))
    drawn = [heatmap(rows, parameters, KPIS, index, "p99_latency_ms", units) for index in range(len(facets))]
    assert drawn == [png(heatmap_figure(subset, "a", "b", "p99_latency_ms", units)) for _, subset in facets]
    assert len(set(drawn)) == 3  # one heatmap per value of the third parameter, each its own
    assert heatmap(rows, parameters, KPIS, None, "p99_latency_ms", units) == \
        png(heatmap_figure(points, "a", "b", "p99_latency_ms", units))
