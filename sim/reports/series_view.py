"""The part of a run's time series a report shows, without matplotlib (the command's own process
never imports it): the series in panel order, where the time axis ends, and the series cut there.

A figure drawn from the cut series is the figure drawn from the whole series: the cut is what the
figure reads. Cut series are what a report hands its drawing helpers, and what a run still going
can already give (``sim.reports.early_figures``): once nothing more happens, the cut stays the same.
"""

from __future__ import annotations

import numpy as np

FIRST_SERIES = ("goodput", "psp_requests")
QUIET_MARGIN = 0.08
"""After the last activity, this fraction of the shown span is kept before the axis ends."""


def ordered_series(series: dict) -> list[tuple[str, str, list]]:
    """(name, "count"|"gauge", values) for every series, goodput and PSP rate first."""
    items = [(n, "count", v) for n, v in series.get("counts", {}).items()]
    items += [(n, "gauge", v) for n, v in series.get("gauges", {}).items()]
    return sorted(items, key=lambda item: (FIRST_SERIES.index(item[0]) if item[0] in FIRST_SERIES else 99, item[0]))


def shown_end_s(series: dict, end_s: float | None, load_end_s: float | None) -> float:
    """Where the time axis ends: the run's end, or shortly after the last bin in which anything
    happened (a count above zero, a gauge changing) when the drain was quiet after that (a long
    idle drain would squeeze the run)."""
    bin_s = series["bin_s"]
    lengths = [len(v) for _, _, v in ordered_series(series)]
    end = end_s if end_s is not None else max(lengths, default=1) * bin_s
    last = 0
    for _, kind, values in ordered_series(series):
        y = np.asarray(values, dtype=float)
        # a count is active while nonzero; a gauge while it changes (a DLQ that stays full is quiet)
        active = np.nonzero(y)[0] if kind == "count" else np.nonzero(np.diff(y))[0] + 1
        if active.size:
            last = max(last, int(active[-1]) + 1)
    busy_until = max(last * bin_s, load_end_s or 0.0)
    return min(end, busy_until + QUIET_MARGIN * busy_until) if busy_until > 0 else end


def shown_bins(bin_s: float, shown_s: float) -> int:
    """How many bins a time axis ending at ``shown_s`` reads (the bin it ends in included)."""
    return int(shown_s / bin_s + 1e-9) + 1


def cut_series(series: dict, end_s: float | None, load_end_s: float | None) -> tuple[dict, float]:
    """``series`` cut to the bins its figures show, and where their time axis ends (seconds)."""
    shown = shown_end_s(series, end_s, load_end_s)
    bins = shown_bins(series["bin_s"], shown)
    return {"bin_s": series["bin_s"],
            "counts": {name: values[:bins] for name, values in series.get("counts", {}).items()},
            "gauges": {name: values[:bins] for name, values in series.get("gauges", {}).items()}}, shown


IDLE_BUSY_SHARE = 0.2
"""A service that never had a request waiting, never had more than this share of its servers busy
in a bin and wasted less than :data:`WASTED_SHARE_SHOWN` of its work is named instead of drawn: a
flat line says nothing a word does not."""
WASTED_SHARE_SHOWN = 0.01
"""The share of its work a service must have done for callers who had given up to be drawn on
that account alone: from 1 % (what its panel's label shows as a whole percentage)."""


def peak(values: list, bin_s: float, shown_s: float) -> float:
    """The largest value of a series over the bins a time axis ending at ``shown_s`` reads."""
    return float(np.asarray(values[: shown_bins(bin_s, shown_s)], dtype=float).max(initial=0.0))


def services_shown(series: dict, services: dict[str, dict], shown_s: float) -> tuple[list[str], list[str]]:
    """The finite-capacity services the services figure draws, busiest first (longest mean queue,
    then busiest), and the idle ones it only names (:data:`IDLE_BUSY_SHARE`): a run whose services
    all had room has no services figure, only their names."""
    gauges, bin_s = series.get("gauges", {}), series["bin_s"]
    names = [name for name in services if f"queue.{name}" in gauges and services[name].get("servers")]
    names.sort(key=lambda n: (-(services[n].get("mean_queue") or 0.0), -(services[n].get("utilisation") or 0.0), n))
    drawn = [name for name in names
             if (services[name].get("wasted_work_share") or 0.0) >= WASTED_SHARE_SHOWN
             or peak(gauges[f"queue.{name}"], bin_s, shown_s) > 0.0
             or peak(gauges.get(f"busy.{name}", []), bin_s, shown_s) > IDLE_BUSY_SHARE * services[name]["servers"]]
    return drawn, [name for name in names if name not in drawn]
