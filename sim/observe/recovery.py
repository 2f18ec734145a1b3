"""Goodput per time bin and the recovery measures read from it: time to recover after a fault
window and time collapsed after the first fault (definitions in :mod:`sim.runners.kpis`).

Here, below the oracles and the runners, so the SLO oracle and the KPIs share one implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.domain.orders import OrderState, as_numpy, column_chunks

if TYPE_CHECKING:
    from sim.world import World

RECOVERY_FRACTION = 0.9
COLLAPSE_FRACTION = 0.5
BACKLOG_FACTOR = 2.0
BACKLOG_SLACK = 10.0
RECOVERY_WINDOW_S = 10.0
BASELINE_WINDOW_S = 60.0
AFTER_RECOVERY_S = 20.0



def bin_index(t_s: float, bin_s: float) -> int:
    """The bin holding time ``t_s`` (robust to float division: 120 / 0.1 is bin 1200)."""
    return int(t_s / bin_s + 1e-9)

def goodput_counts(world: "World") -> list[int]:
    """Orders that succeeded, per time bin of the run's series."""
    orders = world.orders
    bin_s = world.metrics.series.bin_s
    bins = max(world.metrics.series.bins(), int(world.end_s / bin_s) + 1)
    state = as_numpy(orders.state)
    counts = np.zeros(bins, np.int64)
    for start, stop in column_chunks(len(orders)):  # a chunk at a time: no full-size float64 column
        done = orders.finished_at_column(start, stop)[state[start:stop] == int(OrderState.SUCCESS)]
        index = np.minimum((done / bin_s).astype(np.int64), bins - 1)
        counts += np.bincount(index, minlength=bins)
    return counts.astype(int).tolist()


def _baseline(series: np.ndarray, bin_s: float, start_s: float) -> float:
    """Mean of ``series`` over the ``BASELINE_WINDOW_S`` before ``start_s`` (0 when empty)."""
    first = max(0, int(round((start_s - BASELINE_WINDOW_S) / bin_s)))
    last = min(bin_index(start_s, bin_s), series.size)
    return float(series[first:last].mean()) if last > first else 0.0


def _moving_mean(series: np.ndarray, bin_s: float) -> np.ndarray:
    """Mean over [t, t + RECOVERY_WINDOW_S) for every bin t where the window fits."""
    width = max(1, int(round(RECOVERY_WINDOW_S / bin_s)))
    return np.convolve(series, np.ones(width) / width, mode="valid") if series.size >= width else np.zeros(0)


def time_to_recover(goodput: list[int], bin_s: float, start_s: float, end_s: float,
                    backlog: list[float] | None = None) -> tuple[str, float | None]:
    """("recovered", seconds after ``end_s``), ("not_recovered", None) or ("no_baseline", None)
    when there was no goodput before the fault to recover to (see the module docstring)."""
    series = np.asarray(goodput, dtype=float)
    level = _baseline(series, bin_s, start_s)
    if level <= 0:
        return "no_baseline", None
    begin = bin_index(end_s, bin_s)
    ok = _moving_mean(series, bin_s)[begin:] >= RECOVERY_FRACTION * level
    if backlog:
        queue = np.asarray(backlog, dtype=float)
        limit = BACKLOG_FACTOR * _baseline(queue, bin_s, start_s) + BACKLOG_SLACK
        drained = queue[begin:begin + ok.size] <= limit
        ok = ok[:drained.size] & drained
    hits = np.nonzero(ok)[0]
    if not hits.size:
        return "not_recovered", None
    return "recovered", round(max(0.0, (begin + int(hits[0])) * bin_s - end_s), 6)


def time_collapsed_s(goodput: list[int], bin_s: float, first_fault_s: float | None, load_end_s: float) -> float | None:
    """Seconds of the load phase after ``first_fault_s`` with goodput below ``COLLAPSE_FRACTION`` of
    its level before (see the module docstring); None without a fault or a level to compare."""
    if first_fault_s is None:
        return None
    series = np.asarray(goodput, dtype=float)
    level = _baseline(series, bin_s, first_fault_s)
    if level <= 0:
        return None
    begin, end = bin_index(first_fault_s, bin_s), bin_index(load_end_s, bin_s)
    width = max(1, int(round(RECOVERY_WINDOW_S / bin_s)))
    windows = _moving_mean(series, bin_s)[begin:max(begin, end - width + 1)]
    return round(float(np.count_nonzero(windows < COLLAPSE_FRACTION * level)) * bin_s, 6)
