"""The sweep report: each KPI against each parameter with 95 % confidence bands over the seeds,
a heatmap per KPI when two parameters span a grid, a per-point table, as HTML and Markdown.

Written into ``<sweep out>/report/`` atomically, beside ``points.csv`` (the per-point means and
confidence intervals that the plots show).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment  # noqa: E402

from sim.atomic import write_folder_atomic, write_text_atomic  # noqa: E402
from sim.config.kpis import KPI_DESCRIPTIONS  # noqa: E402

if TYPE_CHECKING:
    from sim.config.sweep import LoadedSweep

POINTS_FILE = "points.csv"
MAX_LINES = 8
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
"""Student t 97.5 % quantiles for 1..30 degrees of freedom (1.96 beyond)."""


def t975(dof: int) -> float:
    return _T975[dof - 1] if 1 <= dof <= len(_T975) else 1.959964


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and 95 % confidence interval (Student t) of the finite values; NaN when undefined."""
    data = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], dtype=float)
    if data.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if data.size == 1:
        return mean, math.nan, math.nan
    half = t975(data.size - 1) * float(data.std(ddof=1)) / math.sqrt(data.size)
    return mean, mean - half, mean + half


def points_frame(rows: list[dict], parameters: list[str], kpis: list[str]) -> pd.DataFrame:
    """One row per point: the parameter values, the number of runs, and per KPI its mean and CI."""
    frame = pd.DataFrame(rows)
    records = []
    for point, group in frame.groupby("point", sort=True):
        record = {"point": point, **{p: group[p].iloc[0] for p in parameters}, "runs": len(group)}
        for kpi in kpis:
            mean, low, high = mean_ci(group[kpi].tolist())
            record[kpi] = mean
            record[f"{kpi}_ci_low"] = low
            record[f"{kpi}_ci_high"] = high
        records.append(record)
    return pd.DataFrame.from_records(records)


def write_sweep_report(out_dir: Path, sweep: "LoadedSweep", rows: list[dict]) -> Path:
    """Write ``points.csv`` and ``report/`` (index.html, index.md, PNG plots); return index.html."""
    out_dir = Path(out_dir)
    parameters, kpis = sweep.parameter_keys, list(sweep.spec.kpis)
    points = points_frame(rows, parameters, kpis)
    write_text_atomic(out_dir / POINTS_FILE, points.to_csv(index=False, lineterminator="\n"))
    grid = sweep.spec.sample == "grid"
    units = {p: f" ({sweep.unit(p)})" if sweep.unit(p) else "" for p in parameters}

    def fill(folder: Path) -> None:
        figures = []
        for kpi in kpis:
            for position, parameter in enumerate(parameters):
                others = [p for p in parameters if p != parameter]
                name = f"{kpi}--{_slug(parameter)}.png"
                _line_plot(folder / name, points, parameter, others[0] if others else None, kpi, units)
                figures.append({"kpi": kpi, "file": name, "title": f"{kpi} vs {parameter}"})
            if grid and len(parameters) >= 2:
                name = f"{kpi}--heatmap.png"
                _heatmap(folder / name, points, parameters[0], parameters[1], kpi, units)
                figures.append({"kpi": kpi, "file": name, "title": f"{kpi}: {parameters[0]} × {parameters[1]}"})
        context = {
            "sweep": sweep.spec, "parameters": parameters, "kpis": kpis, "figures": figures,
            "descriptions": KPI_DESCRIPTIONS, "seeds": len(sweep.seeds), "points": len(sweep.points),
            "master_seed": sweep.master_seed, "scenario": sweep.base.scenario_path,
            "table": [_table_row(record, parameters, kpis) for record in points.to_dict("records")],
        }
        env = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
        (folder / "index.md").write_text(env.from_string(_MARKDOWN).render(**context), encoding="utf-8")
        html = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(_HTML)
        (folder / "index.html").write_text(html.render(**context), encoding="utf-8")

    write_folder_atomic(out_dir / "report", fill)
    return out_dir / "report" / "index.html"


def _table_row(record: dict, parameters: list[str], kpis: list[str]) -> dict:
    cells = [_fmt(record[p]) for p in parameters]
    for kpi in kpis:
        mean, low, high = record[kpi], record[f"{kpi}_ci_low"], record[f"{kpi}_ci_high"]
        cells.append(_fmt(mean) + ("" if math.isnan(low) else f" ± {_fmt((high - low) / 2)}"))
    return {"point": record["point"], "cells": cells}


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return str(value)


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


def _line_plot(path: Path, points: pd.DataFrame, parameter: str, split: str | None, kpi: str,
               units: dict[str, str]) -> None:
    """Mean of ``kpi`` against ``parameter`` with its 95 % CI band; one line per value of
    ``split`` (the next parameter) when it has few values, else the points' average."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=90)
    groups = [(None, points)]
    if split is not None and points[split].nunique() <= MAX_LINES:
        groups = [(value, group) for value, group in points.groupby(split, sort=True)]
    elif split is not None:
        groups = [(None, points.groupby(parameter, sort=True).mean(numeric_only=True).reset_index())]
    labels = None
    for value, group in groups:
        group = group.sort_values(parameter)
        x, labels = _x_positions(group, parameter)
        mean = group[kpi].to_numpy(dtype=float)
        low, high = group[f"{kpi}_ci_low"].to_numpy(dtype=float), group[f"{kpi}_ci_high"].to_numpy(dtype=float)
        line, = ax.plot(x, mean, marker="o", label=None if value is None else f"{split} = {_fmt(value)}")
        ax.fill_between(x, low, high, alpha=0.2, color=line.get_color(), linewidth=0)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=20)
    else:
        values = points[parameter].to_numpy(dtype=float)
        if values.min() > 0 and values.max() / values.min() >= 20:
            ax.set_xscale("log")
    ax.set_xlabel(parameter + units[parameter])
    ax.set_ylabel(kpi)
    ax.set_title(f"{kpi} (mean, 95% CI over seeds)", fontsize=10)
    if groups[0][0] is not None:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _heatmap(path: Path, points: pd.DataFrame, x: str, y: str, kpi: str, units: dict[str, str]) -> None:
    table = points.pivot_table(index=y, columns=x, values=kpi, aggfunc="mean").sort_index().sort_index(axis=1)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=90)
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [_fmt(v) for v in table.columns], rotation=30)
    ax.set_yticks(range(len(table.index)), [_fmt(v) for v in table.index])
    ax.set_xlabel(x + units[x])
    ax.set_ylabel(y + units[y])
    for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
        ax.text(j, i, _fmt(value), ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=kpi)
    ax.set_title(f"{kpi} (mean over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


_MARKDOWN = """# Sweep: {{ sweep.name }}

{{ sweep.description }}

Scenario `{{ scenario }}`, {{ points }} point(s) × {{ seeds }} seed(s), master seed {{ master_seed }}.
Values are means over the seeds ± the half-width of the 95 % confidence interval (Student t).

| point | {{ (parameters + kpis) | join(" | ") }} |
|---|{% for _ in parameters + kpis %}---|{% endfor %}

{% for row in table %}
| {{ row.point }} | {{ row.cells | join(" | ") }} |
{% endfor %}

## KPIs

{% for kpi in kpis %}
- `{{ kpi }}`: {{ descriptions[kpi] }}
{% endfor %}

## Plots

{% for figure in figures %}
![{{ figure.title }}]({{ figure.file }})
{% endfor %}
"""

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep {{ sweep.name }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:48%;margin:4px}</style></head>
<body><h1>Sweep: {{ sweep.name }}</h1><p>{{ sweep.description }}</p>
<p>Scenario <code>{{ scenario }}</code>, {{ points }} point(s) × {{ seeds }} seed(s), master seed {{ master_seed }}.
Values are means over the seeds ± the half-width of the 95 % confidence interval (Student t).</p>
<table><tr><th>point</th>{% for h in parameters + kpis %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in table %}<tr><td>{{ row.point }}</td>{% for c in row.cells %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
<h2>KPIs</h2><ul>{% for kpi in kpis %}<li><code>{{ kpi }}</code>: {{ descriptions[kpi] }}</li>{% endfor %}</ul>
<h2>Plots</h2>
{% for figure in figures %}<img src="{{ figure.file }}" alt="{{ figure.title }}" title="{{ figure.title }}">
{% endfor %}
</body></html>
"""
