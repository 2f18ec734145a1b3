"""The sweep report's figures: a KPI against a parameter (mean and 95 % band over the seeds, one
line per value of the next parameter) and a heatmap over two parameters. Drawn by the report's
drawing helpers (``sim.reports.drawing``), so the command's own process never imports matplotlib.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from sim import format as fmt
from sim.reports.figures import FONT_PT, SMALL_PT, TITLE_Y, lean_layout, new_figure, png
from sim.reports.sweep_report import LABEL_CHARS, MAX_LINES, PALETTE, plain_value, kpi_label, parameter_label


def line_plots_png(points: pd.DataFrame, parameter: str, split: str | None, kpis: list[str],
                   units: dict[str, str]) -> list[bytes]:
    """PNGs of ``kpis`` against ``parameter``, one figure redrawn for each (see :func:`_line_plot`)."""
    figure: Figure | None = None
    drawn = []
    for kpi in kpis:
        figure = _line_plot(points, parameter, split, kpi, units, figure)
        drawn.append(png(figure))
    return drawn


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
                label=None if value is None else f"{parameter_label(split)} = {fmt.setting(plain_value(value), units[split])}")
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
    return lean_layout(fig)


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


def heatmap_figure(points: pd.DataFrame, x: str, y: str, kpi: str, units: dict[str, str]):
    """Mean of ``kpi`` over a grid of two parameters, each cell labelled in a colour that reads on
    its background (dark text on light cells, white on dark)."""
    table = points.pivot_table(index=y, columns=x, values=kpi, aggfunc="mean").sort_index().sort_index(axis=1)
    fig = new_figure(7.5, 4.6)
    ax = fig.subplots()
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [fmt.setting(plain_value(v), units[x]) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [fmt.setting(plain_value(v), units[y]) for v in table.index])
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
    return lean_layout(fig)
