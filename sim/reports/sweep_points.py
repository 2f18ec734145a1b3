"""A sweep's per-point statistics (a pandas frame: each point's parameter values, its number of
runs, and per KPI the mean and 95 % CI over the seeds), and the sweep report's figures drawn from
its rows.

Called by name through the report's drawing helpers (``sim.reports.drawing``), which import pandas
while the sweep runs: the command's own process then imports neither pandas nor matplotlib, and
the figures start as soon as the runs end. Every function rebuilds the frame from the rows with
:func:`points_frame`, so each figure sees exactly the frame the report's table and
``points.csv`` come from.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.config.kpis import kpi_bounds
from sim.reports.figures import png
from sim.reports.sweep_figures import heatmap_figure, line_plots_png
from sim.reports.sweep_findings import one_value
from sim.stats import mean_ci


def point_ci(values, kpi: str) -> tuple[float, float, float]:
    """Mean and 95 % CI of one KPI over a point's seeds (``sim.stats.mean_ci``, clipped to the
    KPI's physical range); NaN when undefined."""
    stat = mean_ci(values, kpi_bounds(kpi))
    return tuple(math.nan if stat[k] is None else stat[k] for k in ("mean", "low", "high"))  # type: ignore[return-value]


def points_frame(rows: list[dict], parameters: list[str], kpis: list[str]) -> pd.DataFrame:
    """One row per point: the parameter values, the number of runs, and per KPI its mean and CI."""
    frame = pd.DataFrame(rows)
    records = []
    for point, group in frame.groupby("point", sort=True):
        record = {"point": point, **{p: group[p].iloc[0] for p in parameters}, "runs": len(group)}
        for kpi in kpis:
            record[kpi], record[f"{kpi}_ci_low"], record[f"{kpi}_ci_high"] = point_ci(group[kpi].tolist(), kpi)
        records.append(record)
    return pd.DataFrame.from_records(records)


def summary(rows: list[dict], parameters: list[str], kpis: list[str], plotted_kpis: list[str]) -> dict:
    """What the report needs of the points frame (``kpis``: its columns; ``plotted_kpis``: the
    ones the report would plot), as plain data: ``points.csv``'s text, the records of its table,
    the parameters with more than one value (``varied``), the plotted KPIs some run measured and
    not with one value in every run (``plotted``: ``sweep_findings.one_value``), and the values of
    a third parameter (``facets``: one heatmap each)."""
    points = points_frame(rows, parameters, kpis)
    return {
        "csv": points.to_csv(index=False, lineterminator="\n"),
        "records": points.to_dict("records"),
        "varied": [p for p in parameters if points[p].nunique() > 1],
        "plotted": [k for k in plotted_kpis if points[k].notna().any() and one_value(rows, k) is None],
        "facets": [value for value, _ in points.groupby(parameters[2], sort=True)] if len(parameters) > 2 else [],
    }


def line_plots(rows: list[dict], parameters: list[str], kpis: list[str], parameter: str, split: str | None,
               chunk: list[str], units: dict[str, str]) -> list[bytes]:
    """PNGs of the ``chunk`` KPIs against ``parameter`` (``sim.reports.sweep_figures.line_plots_png``)."""
    return line_plots_png(points_frame(rows, parameters, kpis), parameter, split, chunk, units)


def heatmap(rows: list[dict], parameters: list[str], kpis: list[str], facet: int | None, kpi: str,
            units: dict[str, str]) -> bytes:
    """The PNG of ``kpi`` over the first two parameters: over every point, or (``facet``: an index
    into :func:`summary`'s ``facets``) over the points at one value of the third."""
    points = points_frame(rows, parameters, kpis)
    subset = points if facet is None else list(points.groupby(parameters[2], sort=True))[facet][1]
    return png(heatmap_figure(subset, parameters[0], parameters[1], kpi, units))
