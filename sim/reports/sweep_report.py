"""The sweep report: each KPI against each parameter with 95 % confidence bands over the seeds,
a heatmap per KPI when two parameters span a grid, and a per-point table, as HTML (on the run and
compare reports' template, one self-contained file) and Markdown.

Written into ``<sweep out>/report/`` atomically, beside ``points.csv`` (the per-point means and
confidence intervals that the plots show). Each figure is rendered once, as PNG: embedded in
``index.html`` and linked from ``index.md``.
"""

from __future__ import annotations

import base64
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from sim import __version__
from sim.atomic import write_folder_atomic, write_text_atomic
from sim.config.kpis import KPI_BY_KEY, KPI_DESCRIPTIONS, KPI_NAMES, kpi_bounds
from sim import format as fmt
from sim.reports.figures import FONT_PT, SMALL_PT, TITLE_Y, new_figure, png
from sim.stats import mean_ci

if TYPE_CHECKING:
    from sim.config.sweep import LoadedSweep

POINTS_FILE = "points.csv"
MAX_LINES = 8
LABEL_CHARS = 32
"""Axis labels wrap at this many characters (a long KPI name must not run off the figure)."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
ACRONYMS = {"psp": "PSP", "dlq": "DLQ", "db": "DB", "p99": "p99", "mtbf": "MTBF", "mttr": "MTTR"}
_TEMPLATES = Path(__file__).parent / "templates"
_HTML = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                           undefined=jinja2.StrictUndefined)
_MD = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=False, trim_blocks=True,
                         lstrip_blocks=True, undefined=jinja2.StrictUndefined)


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


def parameter_label(key: str) -> str:
    """A key path as a person reads it: ``model.executor.psp_timeout`` → ``executor › PSP timeout``."""
    path = key[len("model."):] if key.startswith("model.") else key
    words = []
    for part in path.split("."):
        words.append(" ".join(ACRONYMS.get(w, w) for w in part.split("_")))
    return " › ".join(words)


def kpi_label(kpi: str) -> str:
    return KPI_BY_KEY[kpi].label if kpi in KPI_BY_KEY else kpi.replace("_", " ")


def write_sweep_report(out_dir: Path, sweep: "LoadedSweep", rows: list[dict]) -> Path:
    """Write ``points.csv`` and ``report/`` (index.html, index.md, PNG plots); return index.html."""
    out_dir = Path(out_dir)
    parameters, kpis = sweep.parameter_keys, list(sweep.spec.kpis)
    points = points_frame(rows, parameters, list(dict.fromkeys([*kpis, *KPI_NAMES])))
    write_text_atomic(out_dir / POINTS_FILE, points.to_csv(index=False, lineterminator="\n"))
    grid = sweep.spec.sample == "grid"
    units = {p: sweep.unit(p) for p in parameters}
    # a parameter with one value gets no plot against it (a line through one point says nothing):
    # the table shows that point
    varied = [p for p in parameters if points[p].nunique() > 1]
    # a KPI no run measured (a recovery time without a fault, say) gets a name, not an empty plot
    plotted = [k for k in kpis if points[k].notna().any()]

    def fill(folder: Path) -> None:
        figures = []
        heatmaps = grid and len(parameters) == 2 and len(varied) == 2
        drawn: dict[str, Figure] = {}  # one figure per parameter, redrawn for every KPI
        for kpi in plotted:
            # with a heatmap of the two parameters, one line plot (one line per value of the
            # second) shows the rest: the plot against the second would repeat the same points
            for parameter in varied[:1] if heatmaps else varied:
                others = [p for p in varied if p != parameter]
                name = f"{kpi}--{_slug(parameter)}.png"
                drawn[parameter] = _line_plot(points, parameter, others[0] if others else None, kpi, units,
                                              drawn.get(parameter))
                data = png(drawn[parameter])
                (folder / name).write_bytes(data)
                figures.append({"kpi": kpi, "file": name, "png": _b64(data),
                                "title": f"{kpi_label(kpi)} against {parameter_label(parameter)}"})
            if grid and len(parameters) >= 2 and parameters[0] in varied and parameters[1] in varied:
                # a third parameter gets one heatmap per value (a phase diagram per load, say), not a
                # mean over its values; further ones are averaged
                facets = [(None, points)] if len(parameters) == 2 else list(points.groupby(parameters[2], sort=True))
                for value, subset in facets:
                    suffix = "" if value is None else f"--{_slug(str(_plain(value)))}"
                    name = f"{kpi}--heatmap{suffix}.png"
                    data = png(_heatmap(subset, parameters[0], parameters[1], kpi, units))
                    (folder / name).write_bytes(data)
                    at = "" if value is None else \
                        f" at {parameter_label(parameters[2])} = {fmt.setting(_plain(value), units[parameters[2]])}"
                    figures.append({"kpi": kpi, "file": name, "png": _b64(data),
                                    "title": f"{kpi_label(kpi)}: {parameter_label(parameters[0])} × "
                                             f"{parameter_label(parameters[1])}{at}"})
        context = {
            "sweep": sweep.spec, "parameters": parameters, "kpis": kpis, "figures": figures,
            "labels": {**{p: parameter_label(p) for p in parameters}, **{k: kpi_label(k) for k in kpis}},
            "descriptions": KPI_DESCRIPTIONS, "seeds": len(sweep.seeds), "points": len(sweep.points),
            "master_seed": sweep.master_seed, "scenario": sweep.base.scenario_path, "version": __version__,
            "unplotted": [p for p in parameters if p not in varied],
            "unmeasured": [k for k in kpis if k not in plotted],
            "table": [_table_row(record, parameters, kpis, units) for record in points.to_dict("records")],
        }
        (folder / "index.md").write_text(_MD.get_template("sweep.md.j2").render(**context), encoding="utf-8")
        (folder / "index.html").write_text(_HTML.get_template("sweep.html.j2").render(**context), encoding="utf-8")

    write_folder_atomic(out_dir / "report", fill)
    return out_dir / "report" / "index.html"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _table_row(record: dict, parameters: list[str], kpis: list[str], units: dict[str, str]) -> dict:
    cells = [fmt.setting(_plain(record[p]), units[p]) for p in parameters]
    for kpi in kpis:
        mean, low, high = record[kpi], record[f"{kpi}_ci_low"], record[f"{kpi}_ci_high"]
        cells.append(fmt.value(kpi, mean) + ("" if math.isnan(low) else f" [{fmt.value(kpi, low)}, {fmt.value(kpi, high)}]"))
    return {"point": record["point"], "cells": cells}


def _plain(value):
    """numpy scalars as Python numbers (so the formatter treats them as numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _x_positions(points: pd.DataFrame, parameter: str) -> tuple[np.ndarray, list | None]:
    column = points[parameter]
    if _numeric(column):
        return column.to_numpy(dtype=float), None
    labels = list(dict.fromkeys(column.astype(str)))
    return np.array([labels.index(v) for v in column.astype(str)], dtype=float), labels


def _kpi_axis(axis, kpi: str) -> None:
    scale = 100.0 if kpi in fmt.PERCENT else 1.0
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.value(kpi, v / scale)))


def _line_plot(points: pd.DataFrame, parameter: str, split: str | None, kpi: str, units: dict[str, str],
               again: Figure | None = None) -> Figure:
    """Mean of ``kpi`` against ``parameter`` with its 95 % CI band; one line per value of
    ``split`` (the next parameter) when it has few values, else the points' average. With
    ``again`` (this function's figure for another KPI of the same parameter and split), that
    figure is redrawn for ``kpi`` with the same calls on a cleared axes: the same pixels as a new
    figure, without building axes and ticks again (a third of a sweep report's plotting time)."""
    if again is None:
        fig = new_figure(7.5, 4.2)
        ax = fig.subplots()
    else:
        fig, ax = again, _cleared(again.axes[0])
    groups = [(None, points)]
    if split is not None and points[split].nunique() <= MAX_LINES:
        groups = [(value, group) for value, group in points.groupby(split, sort=True)]
    elif split is not None:
        groups = [(None, points.groupby(parameter, sort=True).mean(numeric_only=True).reset_index())]
    labels = None
    scale = 100.0 if kpi in fmt.PERCENT else 1.0
    for index, (value, group) in enumerate(groups):
        group = group.sort_values(parameter)
        x, labels = _x_positions(group, parameter)
        mean = group[kpi].to_numpy(dtype=float) * scale
        low = group[f"{kpi}_ci_low"].to_numpy(dtype=float) * scale
        high = group[f"{kpi}_ci_high"].to_numpy(dtype=float) * scale
        colour = PALETTE[index % len(PALETTE)]
        ax.plot(x, mean, marker="o", color=colour,
                label=None if value is None else f"{parameter_label(split)} = {fmt.setting(_plain(value), units[split])}")
        ax.fill_between(x, low, high, alpha=0.18, color=colour, linewidth=0)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
    else:
        values = points[parameter].to_numpy(dtype=float)
        if values.min() > 0 and values.max() / values.min() >= 20:
            ax.set_xscale("log")
            ax.set_xticks(sorted(set(values)))
            ax.minorticks_off()
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.setting(v, units[parameter])))
    _kpi_axis(ax.yaxis, kpi)
    ax.set_xlabel(parameter_label(parameter), fontsize=FONT_PT)
    ax.set_ylabel(textwrap.fill(kpi_label(kpi), LABEL_CHARS), fontsize=FONT_PT)
    ax.tick_params(labelsize=SMALL_PT)
    ax.set_title(textwrap.fill(f"{kpi_label(kpi)}: mean over the seeds, band = 95 % CI", 2 * LABEL_CHARS),
                 fontsize=FONT_PT, y=TITLE_Y)
    if groups[0][0] is not None:
        ax.legend(fontsize=SMALL_PT)
    ax.grid(alpha=0.3)
    return fig


def _cleared(ax: Axes) -> Axes:
    """``ax`` as a new axes would be for :func:`_line_plot`: no lines, bands or legend, no data
    limits, the unit view, a linear x scale (its default locator and formatter), autoscaling, and
    the subplot position the constrained layout starts from (else it converges a hair elsewhere)."""
    for artist in [*ax.lines, *ax.collections]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_xscale("linear")
    ax.dataLim.set_points(Bbox.null().get_points())
    ax.ignore_existing_data_limits = True
    ax.viewLim.set_points(Bbox.unit().get_points())
    ax.set_autoscale_on(True)
    ax._set_position(ax.get_subplotspec().get_position(ax.figure))  # where the layout starts for a new axes
    return ax


def _heatmap(points: pd.DataFrame, x: str, y: str, kpi: str, units: dict[str, str]):
    """Mean of ``kpi`` over a grid of two parameters, each cell labelled in a colour that reads on
    its background (dark text on light cells, white on dark)."""
    table = points.pivot_table(index=y, columns=x, values=kpi, aggfunc="mean").sort_index().sort_index(axis=1)
    fig = new_figure(7.5, 4.6)
    ax = fig.subplots()
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [fmt.setting(_plain(v), units[x]) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [fmt.setting(_plain(v), units[y]) for v in table.index])
    ax.set_xlabel(parameter_label(x), fontsize=FONT_PT)
    ax.set_ylabel(parameter_label(y), fontsize=FONT_PT)
    ax.tick_params(labelsize=SMALL_PT)
    for (i, j), value in np.ndenumerate(values):
        red, green, blue, _ = image.cmap(image.norm(value))
        light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
        ax.text(j, i, fmt.value(kpi, value), ha="center", va="center", fontsize=FONT_PT,
                color="#111111" if light else "white")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(textwrap.fill(kpi_label(kpi), LABEL_CHARS), fontsize=SMALL_PT)
    _kpi_axis(bar.ax.yaxis, kpi)
    bar.ax.tick_params(labelsize=SMALL_PT)
    ax.set_title(textwrap.fill(f"{kpi_label(kpi)} (mean over the seeds)", 2 * LABEL_CHARS), fontsize=FONT_PT, y=TITLE_Y)
    return fig
