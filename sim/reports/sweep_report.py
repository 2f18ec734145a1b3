"""The sweep report: each KPI against each parameter with 95 % confidence bands over the seeds,
a heatmap per KPI when two parameters span a grid, and a per-point table, as HTML (on the run and
compare reports' template, one self-contained file) and Markdown.

Written into ``<sweep out>/report/`` atomically, beside ``points.csv`` (the per-point means and
confidence intervals that the plots show). Each figure is rendered once, as PNG: embedded in
``index.html`` and linked from ``index.md``. The per-point statistics (pandas) are computed where
the figures are drawn (``sim.reports.sweep_points`` on the drawing helpers): this process imports
no pandas, and the figures start the moment the runs end.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim import __version__
from sim.atomic import write_folder_atomic, write_text_atomic
from sim.config.kpis import KPI_BY_KEY, KPI_DESCRIPTIONS, KPI_NAMES
from sim import format as fmt
from sim.reports import template_env
from sim.reports.drawing import IN_PROCESS, Drawing, Drawn
from sim.reports.sweep_findings import findings, one_value

if TYPE_CHECKING:
    from sim.config.sweep import LoadedSweep

POINTS_FILE = "points.csv"
MAX_LINES = 8
LABEL_CHARS = 32
"""Axis labels wrap at this many characters (a long KPI name must not run off the figure)."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
ACRONYMS = {"psp": "PSP", "dlq": "DLQ", "db": "DB", "p99": "p99", "mtbf": "MTBF", "mttr": "MTTR"}
_POINTS = "sim.reports.sweep_points"
"""Where the points frame and the figures are made (named, not imported: a drawing helper imports
pandas and matplotlib)."""


def parameter_label(key: str) -> str:
    """A key path as a person reads it: ``model.executor.psp_timeout`` → ``executor › PSP timeout``."""
    path = key[len("model."):] if key.startswith("model.") else key
    words = []
    for part in path.split("."):
        words.append(" ".join(ACRONYMS.get(w, w) for w in part.split("_")))
    return " › ".join(words)


def kpi_label(kpi: str) -> str:
    """A KPI's label; a money KPI's says it is in minor units (a sweep's points may differ in
    their currencies, so no one currency is assumed)."""
    if kpi not in KPI_BY_KEY:
        return kpi.replace("_", " ")
    label = KPI_BY_KEY[kpi].label
    return f"{label}, in {fmt.MINOR_UNITS}" if KPI_BY_KEY[kpi].unit == fmt.MINOR_UNITS else label


def write_sweep_report(out_dir: Path, sweep: "LoadedSweep", rows: list[dict], drawing: Drawing = IN_PROCESS) -> Path:
    """Write ``points.csv`` and ``report/`` (index.html, index.md, PNG plots drawn by ``drawing``);
    return index.html."""
    out_dir = Path(out_dir)
    parameters, kpis = sweep.parameter_keys, list(sweep.spec.kpis)
    columns = list(dict.fromkeys([*kpis, *KPI_NAMES]))
    pending = drawing.call(f"{_POINTS}:summary", rows, parameters, columns, kpis)
    grid = sweep.spec.sample == "grid"
    units = {p: sweep.unit(p) for p in parameters}
    # the line plots start with the summary, on what the rows say it will find; taken only if it
    # finds the same (else drawn again with what it found: a wrong guess costs time, never a picture)
    guess = _varied_and_plotted(rows, parameters, kpis)
    early = _line_plots(drawing, rows, parameters, columns, units, grid, *guess) if guess else None
    points = pending.result()
    write_text_atomic(out_dir / POINTS_FILE, points["csv"])
    # a parameter with one value gets no plot against it (a line through one point says nothing):
    # the table shows that point
    varied = points["varied"]
    # a KPI no run measured (a recovery time without a fault, say) gets a name, not an empty plot
    plotted = points["plotted"]

    def fill(folder: Path) -> None:
        # (what each PNG shows, the PNGs being drawn)
        drawn = early if early is not None and guess == (varied, plotted) else \
            _line_plots(drawing, rows, parameters, columns, units, grid, varied, plotted)
        if grid and len(parameters) >= 2 and parameters[0] in varied and parameters[1] in varied:
            # a third parameter gets one heatmap per value (a phase diagram per load, say), not a
            # mean over its values; further ones are averaged
            facets = [(None, None)] if len(parameters) == 2 else list(enumerate(points["facets"]))
            for kpi in plotted:
                for facet, value in facets:
                    suffix = "" if value is None else f"--{_slug(str(plain_value(value)))}"
                    at = "" if value is None else \
                        f" at {parameter_label(parameters[2])} = {fmt.setting(plain_value(value), units[parameters[2]])}"
                    shows = [{"kpi": kpi, "file": f"{kpi}--heatmap{suffix}.png",
                              "title": f"{kpi_label(kpi)}: {parameter_label(parameters[0])} × "
                                       f"{parameter_label(parameters[1])}{at}"}]
                    drawn.append((shows, drawing.call(f"{_POINTS}:heatmap", rows, parameters, columns, facet,
                                                      kpi, units)))
        # made while the helpers draw: the table, the templates (compiled on first use)
        table = [_table_row(record, parameters, kpis, units) for record in points["records"]]
        labels = {**{p: parameter_label(p) for p in parameters}, **{k: kpi_label(k) for k in kpis}}
        found = findings(points["records"], kpis, labels, lambda record: ", ".join(
            f"{labels[p]} {fmt.setting(plain_value(record[p]), units[p])}" for p in varied or parameters))
        html = template_env.html().get_template("sweep.html.j2")
        md = template_env.markdown().get_template("sweep.md.j2")
        figures = []
        for shows, pending in drawn:
            result = pending.result()
            for figure, data in zip(shows, result if isinstance(result, list) else [result]):
                (folder / figure["file"]).write_bytes(data)
                figures.append({**figure, "png": _b64(data)})
        one_values = {kpi: one_value(rows, kpi) for kpi in kpis}  # the KPIs said, not plotted
        order = {kpi: index for index, kpi in enumerate(plotted)}
        figures.sort(key=lambda f: order[f["kpi"]])  # by KPI, as the KPIs are listed (stable: line plots first)
        context = {
            "sweep": sweep.spec, "parameters": parameters, "kpis": kpis, "figures": figures,
            "labels": labels, "findings": found,
            "descriptions": KPI_DESCRIPTIONS, "seeds": len(sweep.seeds), "points": len(sweep.points),
            "master_seed": sweep.master_seed, "scenario": sweep.base.scenario_path, "version": __version__,
            "unplotted": [p for p in parameters if p not in varied],
            "unmeasured": [k for k in kpis if k not in plotted and not any(_measured(row.get(k)) for row in rows)],
            "constant": [(k, fmt.value(k, value)) for k, value in one_values.items() if value is not None],
            "table": table,
        }
        (folder / "index.md").write_text(md.render(**context), encoding="utf-8")
        (folder / "index.html").write_text(html.render(**context), encoding="utf-8")

    write_folder_atomic(out_dir / "report", fill)
    return out_dir / "report" / "index.html"


def _line_plots(drawing: Drawing, rows: list[dict], parameters: list[str], columns: list[str], units: dict[str, str],
                grid: bool, varied: list[str], plotted: list[str]) -> list[tuple[list[dict], Drawn]]:
    """Start the line plots of the ``plotted`` KPIs against each of the ``varied`` parameters: what
    each PNG shows, and the PNGs being drawn (one figure per helper, redrawn for each KPI)."""
    drawn = []
    line_plotted = varied[:1] if grid and len(parameters) == 2 and len(varied) == 2 else varied
    # with a heatmap of the two parameters, one line plot (one line per value of the second)
    # shows the rest: the plot against the second would repeat the same points
    for parameter in line_plotted:
        others = [p for p in varied if p != parameter]
        for chunk in _chunks(plotted, drawing.workers):
            shows = [{"kpi": kpi, "file": f"{kpi}--{_slug(parameter)}.png",
                      "title": f"{kpi_label(kpi)} against {parameter_label(parameter)}"} for kpi in chunk]
            drawn.append((shows, drawing.call(f"{_POINTS}:line_plots", rows, parameters, columns, parameter,
                                              others[0] if others else None, chunk, units)))
    return drawn


def _varied_and_plotted(rows: list[dict], parameters: list[str], kpis: list[str]) -> tuple[list[str], list[str]] | None:
    """What the points summary (``sim.reports.sweep_points.summary``) will call ``varied`` and
    ``plotted``, read from the rows without pandas: the parameters with more than one value (None
    and NaN are no value), the KPIs some run measured, not with one value in every run. None
    when the rows cannot say (a value that is not hashable): the summary alone decides then."""
    try:
        varied = [p for p in parameters if len({row[p] for row in rows if _measured(row.get(p))}) > 1]
    except TypeError:
        return None
    return varied, [k for k in kpis if any(_measured(row.get(k)) for row in rows) and one_value(rows, k) is None]


def _measured(value: object) -> bool:
    """A value a run gave (None and NaN are none)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _table_row(record: dict, parameters: list[str], kpis: list[str], units: dict[str, str]) -> dict:
    cells = [fmt.setting(plain_value(record[p]), units[p]) for p in parameters]
    for kpi in kpis:
        mean, low, high = record[kpi], record[f"{kpi}_ci_low"], record[f"{kpi}_ci_high"]
        cells.append(fmt.value(kpi, mean) + ("" if math.isnan(low) else f" [{fmt.value(kpi, low)}, {fmt.value(kpi, high)}]"))
    return {"point": record["point"], "cells": cells}


def plain_value(value):
    """numpy scalars as Python numbers (so the formatter treats them as numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _chunks(items: list, count: int) -> list[list]:
    """``items`` in at most ``count`` contiguous, nearly equal, non-empty runs."""
    count = max(1, min(count, len(items)))
    size, extra = divmod(len(items), count)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        runs.append(items[start:end])
        start = end
    return [run for run in runs if run]
