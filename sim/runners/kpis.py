"""The reliability KPIs of one run, as flat numbers a report, a CI check or a comparison ranks.

Derived from the run's results (``RunResult.data``) and its world's order table, once, after the
run; nothing here touches the model's hot path.

Definitions (also in the README):

- **goodput**: payment orders that end SUCCESS per second, by the time they succeeded (a series).
- **time to recover** after a fault window ``[start, end]``: the first time ``t >= end`` at which
  the goodput averaged over ``[t, t + RECOVERY_WINDOW_S)`` is back to at least
  ``RECOVERY_FRACTION`` of its average over the ``BASELINE_WINDOW_S`` before ``start`` **and** the
  backlog (orders not yet final, sampled per bin) is back to at most ``BACKLOG_FACTOR`` times its
  baseline (plus ``BACKLOG_SLACK`` orders): goodput alone recovers while a backlog still drains. The
  value is ``t - end`` (0 when the fault dented neither). A fault the run never recovers from counts
  as the rest of the run (``end of run - end``); one with no goodput before it to recover to has
  none. The run's KPI is the worst over its faults.
- **time collapsed**: seconds of the load phase, from the first fault's start, during which the
  goodput averaged over ``RECOVERY_WINDOW_S`` is below ``COLLAPSE_FRACTION`` of its average over the
  ``BASELINE_WINDOW_S`` before that fault (a run that stays down after its trigger scores the whole
  rest of the load phase).
- **wasted work share**: of all the service time every station spent, the share spent on requests
  whose caller had already given up (``summary.services`` has it per service).
- **peak PSP request rate after recovery**: the largest ``psp_requests`` count in one time bin
  during the ``AFTER_RECOVERY_S`` after a PSP fault ends, divided by the bin width (requests/s).
  With ``bin: 100ms`` in the scenario this sees sub-second synchronised bursts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.domain.orders import OrderState

if TYPE_CHECKING:
    from sim.world import World

RECOVERY_FRACTION = 0.9
COLLAPSE_FRACTION = 0.5
BACKLOG_FACTOR = 2.0
BACKLOG_SLACK = 10.0
RECOVERY_WINDOW_S = 10.0
BASELINE_WINDOW_S = 60.0
AFTER_RECOVERY_S = 20.0
CDF_POINTS = 201


class Kpi(NamedTuple):
    key: str
    label: str
    better: str | None  # "higher" or "lower"; None: informational, not ranked
    unit: str = ""


KPIS: tuple[Kpi, ...] = (
    Kpi("success_rate", "success rate", "higher"),
    Kpi("double_charges", "double charges", "lower"),
    Kpi("money_at_risk_minor", "money at risk", "lower", "minor units"),
    Kpi("stuck", "payments not final at the end (stuck)", "lower"),
    Kpi("dead_lettered", "DLQ count", "lower"),
    Kpi("recon_auto_fixed", "reconciliation breaks, auto-fixed", "lower"),
    Kpi("recon_by_hand", "reconciliation breaks, by hand", "lower"),
    Kpi("recon_unknown", "reconciliation breaks, unknown", "lower"),
    Kpi("psp_attempts_per_order", "PSP charge attempts per order", "lower"),
    Kpi("psp_requests_per_order", "PSP requests per order (amplification)", "lower"),
    Kpi("p50_latency_ms", "p50 end-to-end latency", "lower", "ms"),
    Kpi("p95_latency_ms", "p95 end-to-end latency", "lower", "ms"),
    Kpi("p99_latency_ms", "p99 end-to-end latency", "lower", "ms"),
    Kpi("time_to_recover_s", "time to recover, goodput and backlog (worst fault)", "lower", "s"),
    Kpi("time_collapsed_s", "time collapsed (goodput below half its level before the first fault)", "lower", "s"),
    Kpi("recovered", "1 when goodput and backlog came back after every fault, 0 when the run stayed down", "higher"),
    Kpi("wasted_work_share", "share of all service time spent on requests whose caller had given up", "lower"),
    Kpi("peak_psp_rate_per_s", "peak PSP request rate", "lower", "req/s"),
    Kpi("peak_psp_rate_after_recovery_per_s", "peak PSP request rate after recovery", "lower", "req/s"),
)
"""The KPIs a comparison ranks and a report shows."""

INFO_KPIS: tuple[Kpi, ...] = (
    Kpi("orders", "payment orders created", None),
    Kpi("failed", "orders that ended FAILED", None),
    Kpi("charged_but_failed", "orders charged at the bank that we call FAILED", "lower"),
    Kpi("stuck_alerts", "orders the in-flight monitor flagged as stuck", "lower"),
    Kpi("customer_wait_p50_ms", "median time a buyer waits for the checkout answer", "lower", "ms"),
    Kpi("customer_wait_p99_ms", "p99 of the buyer's wait for the checkout answer", "lower", "ms"),
    Kpi("customer_in_progress", "buyers answered 'still in progress'", None),
    Kpi("customer_timeouts", "buyer requests that timed out", "lower"),
    Kpi("customer_gave_up", "buyers who gave up after their last retry", "lower"),
    Kpi("duplicate_psp_calls", "PSP requests beyond one per order", "lower"),
    Kpi("executor_timeouts", "executor calls to the PSP that hit the call timeout", "lower"),
    Kpi("false_timeouts", "executor timeouts where the PSP did answer, only too late", "lower"),
    Kpi("retries_exhausted", "orders dead-lettered after the executor's retries ran out", "lower"),
    Kpi("passed", "1 when every oracle and expectation held, else 0", "higher"),
)
"""Further columns for sweeps, notebooks and CSV outputs (not ranked)."""

ALL_KPIS = KPIS + INFO_KPIS
KPI_BY_KEY = {k.key: k for k in ALL_KPIS}
KPI_NAMES: tuple[str, ...] = tuple(k.key for k in ALL_KPIS)
KPI_DESCRIPTIONS: dict[str, str] = {k.key: k.label + (f" ({k.unit})" if k.unit else "") for k in ALL_KPIS}


UNIT_INTERVAL_KPIS = frozenset({"success_rate", "passed"})


def kpi_bounds(key: str) -> tuple[float, float | None]:
    """The physical range of a KPI (for clipping confidence intervals): a fraction lies in
    [0, 1]; every other KPI (counts, rates, durations, ratios) is at least 0."""
    return (0.0, 1.0) if key in UNIT_INTERVAL_KPIS else (0.0, None)


def bin_index(t_s: float, bin_s: float) -> int:
    """The bin holding time ``t_s`` (robust to float division: 120 / 0.1 is bin 1200)."""
    return int(t_s / bin_s + 1e-9)


def goodput_counts(world: "World") -> list[int]:
    """Orders that succeeded, per time bin of the run's series."""
    orders = world.orders
    bin_s = world.metrics.series.bin_s
    bins = max(world.metrics.series.bins(), int(world.end_s / bin_s) + 1)
    state = np.frombuffer(bytes(orders.state), dtype=np.uint8)
    finished = orders.finished_at_column()
    done = finished[state == int(OrderState.SUCCESS)]
    index = np.minimum((done / bin_s).astype(np.int64), bins - 1)
    return np.bincount(index, minlength=bins).astype(int).tolist()


def latency_cdf(world: "World") -> dict:
    """End-to-end latency (created → terminal) quantiles, ``CDF_POINTS`` evenly spaced in [0, 1]."""
    orders = world.orders
    if not len(orders):
        return {"quantiles": [], "latency_ms": []}
    latency_s = np.frombuffer(orders.latency_s, dtype=np.float32).astype(np.float64)
    latency = latency_s[latency_s >= 0] * 1000.0
    if not latency.size:
        return {"quantiles": [], "latency_ms": []}
    q = np.linspace(0.0, 1.0, CDF_POINTS)
    return {"quantiles": [round(float(x), 4) for x in q],
            "latency_ms": [round(float(x), 3) for x in np.quantile(latency, q)]}


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


def fault_recovery(data: dict) -> list[dict]:
    """Per fault window: its time to recover and the peak PSP rate after it ended."""
    series = data["series"]
    bin_s = series["bin_s"]
    goodput = series["counts"].get("goodput", [])
    psp = np.asarray(series["counts"].get("psp_requests", []), dtype=float)
    rows = []
    for window in data["fault_windows"]:
        begin = bin_index(window["end_s"], bin_s)
        stop = bin_index(window["end_s"] + AFTER_RECOVERY_S, bin_s)
        after = psp[begin:stop]
        status, seconds = time_to_recover(goodput, bin_s, window["start_s"], window["end_s"],
                                          series["gauges"].get("in_flight_orders"))
        rows.append({
            **window,
            "recovery": status,
            "time_to_recover_s": seconds if status == "recovered" else (
                round(data["end_s"] - window["end_s"], 6) if status == "not_recovered" else None),
            "peak_psp_rate_after_per_s": round(float(after.max()) / bin_s, 3) if after.size else None,
        })
    return rows


def kpis(data: dict) -> dict:
    """Every KPI of ``ALL_KPIS`` from a run's results (``RunResult.data``), flat. Recovery KPIs
    need :func:`enrich` first (None otherwise).

    ``false_timeouts`` counts executor timeouts not explained by a reply the PSP dropped
    (``psp.no_reply``, ``psp.reply_lost``, ``psp.reply_lost_after_commit``): each dropped reply
    makes one caller time out; every other timeout is a reply that came back after the caller
    stopped waiting. Dropped status queries are subtracted too, so it is a lower bound.
    """
    summary, counters = data["summary"], data["counters"]
    recon = summary.get("reconciliation") or {}
    latency = summary.get("latency_ms") or {}
    recovery = data.get("recovery", [])
    recovered = [r["time_to_recover_s"] for r in recovery if r["time_to_recover_s"] is not None]
    psp_faults = [r for r in recovery if r["target"] == "psp" and r["peak_psp_rate_after_per_s"] is not None]
    psp = data["series"]["counts"].get("psp_requests", [])
    return {
        "success_rate": summary["success_rate"],
        "double_charges": summary["double_charges"],
        "money_at_risk_minor": summary["money_at_risk_minor"],
        "stuck": summary["stuck"],
        "dead_lettered": summary["dead_lettered"],
        "recon_auto_fixed": recon.get("auto_fixed"),
        "recon_by_hand": recon.get("by_hand"),
        "recon_unknown": recon.get("unknown"),
        "psp_attempts_per_order": summary["psp_attempts_per_order"],
        "psp_requests_per_order": summary["psp_requests_per_order"],
        "p50_latency_ms": latency.get("p50"),
        "p95_latency_ms": latency.get("p95"),
        "p99_latency_ms": latency.get("p99"),
        "time_to_recover_s": max(recovered) if recovered else None,
        "time_collapsed_s": summary.get("time_collapsed_s"),
        "wasted_work_share": summary.get("wasted_work_share"),
        "recovered": None if summary.get("recovered") is None else int(summary["recovered"]),
        "peak_psp_rate_per_s": round(max(psp, default=0) / data["series"]["bin_s"], 3),
        "peak_psp_rate_after_recovery_per_s": (max(r["peak_psp_rate_after_per_s"] for r in psp_faults)
                                               if psp_faults else None),
        **_info_kpis(data, summary, counters),
    }


def _info_kpis(data: dict, summary: dict, counters: dict) -> dict:
    orders = summary["orders"]
    client = summary.get("client") or {}
    client_latency = summary.get("client_latency_ms") or {}
    dropped = sum(counters.get(k, 0) for k in ("psp.no_reply", "psp.reply_lost", "psp.reply_lost_after_commit"))
    timeouts = counters.get("executor.timeouts", 0)
    return {
        "orders": orders,
        "failed": summary["outcomes"]["FAILED"],
        "charged_but_failed": summary["charged_but_failed"],
        "stuck_alerts": counters.get("monitor.alerts", 0),
        "customer_wait_p50_ms": client_latency.get("p50"),
        "customer_wait_p99_ms": client_latency.get("p99"),
        "customer_in_progress": client.get("in_progress", 0),
        "customer_timeouts": client.get("timeouts", 0),
        "customer_gave_up": client.get("gave_up", 0),
        "duplicate_psp_calls": max(0, summary["psp_requests"] - orders),
        "executor_timeouts": timeouts,
        "false_timeouts": max(0, timeouts - dropped),
        "retries_exhausted": counters.get("dlq.retries_exhausted", 0),
        "passed": 1 if data["verdict"] == "pass" else 0,
    }


def enrich(data: dict, world: "World") -> dict:
    """Add the goodput series, latency CDF, per-fault recovery and the KPI dict to ``data``."""
    data["series"]["counts"]["goodput"] = goodput_counts(world)
    data["series"]["counts"] = dict(sorted(data["series"]["counts"].items()))
    data["end_s"] = world.end_s
    data["load_end_s"] = world.load_end_s
    data["latency_cdf"] = latency_cdf(world)
    data["recovery"] = fault_recovery(data)
    data["kpis"] = kpis(data)
    return data
