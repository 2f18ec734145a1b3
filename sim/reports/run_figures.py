"""A run report's figures as ``(target, *arguments)`` for :class:`sim.reports.drawing.Drawing`.

Built the same way from a finished run's results (the report) and from a run still going
(``sim.reports.early_figures``): a figure started early is the report's when its arguments came
out equal (same values, same types), and each figure is a function of its arguments alone. The
arguments are what the figures read: the time series cut where their time axis ends, and of each
service only the fields its panel shows.
"""

from __future__ import annotations

from sim.reports.series_view import cut_series, services_shown

PLOTS = "sim.reports.plots"
"""Where the figure functions are (named, not imported: a drawing helper imports matplotlib)."""
SERVICE_FIELDS = ("servers", "mean_queue", "utilisation", "wasted_work_share")
"""What the services figure reads of a service's summary (``summary.services.<name>``)."""


def series_figures(series: dict, services: dict[str, dict], fault_windows: list[dict], end_s: float | None,
                   load_end_s: float | None) -> dict[str, tuple]:
    """The time-series figure, and the services figure when a service did something to draw
    (``series_view.services_shown``), the largest first."""
    cut, shown = cut_series(series, end_s, load_end_s)
    view = {name: {field: stats.get(field) for field in SERVICE_FIELDS} for name, stats in services.items()}
    figures = {"timeseries": (f"{PLOTS}:timeseries_figure", cut, fault_windows, end_s, load_end_s, shown)}
    if services_shown(cut, view, shown)[0]:
        figures["services"] = (f"{PLOTS}:services_figure", cut, view, fault_windows, end_s, load_end_s, shown)
    return figures


def sequence_figure(sample_orders: list[dict]) -> tuple:
    """The sequence diagrams of the sample orders (``results["sample_orders"]``)."""
    return f"{PLOTS}:sequence_figure", sample_orders


def latency_cdf_figure(cdfs: dict[str, dict]) -> tuple:
    """Latency CDFs, one line per run or variant."""
    return f"{PLOTS}:latency_cdf_figure", cdfs
