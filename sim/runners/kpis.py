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

from typing import TYPE_CHECKING, Iterator

import numpy as np

from sim.domain.orders import as_numpy, column_chunks
from sim.domain.quantiles import linear_quantiles, order_statistics

from sim.observe.recovery import (  # noqa: F401  (re-exported: the KPI names live here)
    AFTER_RECOVERY_S, BACKLOG_FACTOR, BACKLOG_SLACK, BASELINE_WINDOW_S, COLLAPSE_FRACTION, RECOVERY_FRACTION,
    RECOVERY_WINDOW_S, bin_index, goodput_counts, time_collapsed_s, time_to_recover,
)

if TYPE_CHECKING:
    from sim.world import World

CDF_POINTS = 201


def latency_cdf(world: "World") -> dict:
    """End-to-end latency (created → terminal) quantiles, ``CDF_POINTS`` evenly spaced in [0, 1]:
    ``np.quantile`` of every finished order's latency (ms), found from the float32 column a chunk
    at a time (:mod:`sim.domain.quantiles`), not from a full-length float64 copy."""
    latency_s = as_numpy(world.orders.latency_s)

    def finished() -> Iterator[np.ndarray]:
        for start, stop in column_chunks(len(latency_s)):
            chunk = latency_s[start:stop]
            yield chunk[chunk >= 0]

    count = sum(len(chunk) for chunk in finished())
    if not count:
        return {"quantiles": [], "latency_ms": []}
    q = np.linspace(0.0, 1.0, CDF_POINTS)

    def values_at(positions: np.ndarray) -> np.ndarray:
        latency = order_statistics(finished, positions).astype(np.float64)
        latency *= 1000.0
        return latency

    return {"quantiles": [round(float(x), 4) for x in q],
            "latency_ms": [round(float(x), 3) for x in linear_quantiles(count, q, values_at)]}


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
    """Every KPI of :data:`sim.config.kpis.ALL_KPIS` from a run's results (``RunResult.data``),
    flat. Recovery KPIs need :func:`enrich` first (None otherwise).

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
        **_money_kpis(data, summary),
        **_info_kpis(data, summary, counters),
    }


def _money_kpis(data: dict, summary: dict) -> dict:
    """Held twice vs captured twice, chargeback losses, payout delay, the seller's wait, clearing past deadline,
    reconciliation money left to people, late bookings."""
    amounts = summary.get("reconciliation_minor") or {}
    payouts = summary.get("payouts") or {}
    chargebacks = summary.get("chargebacks") or {}
    return {
        "held_twice": summary["held_twice"],
        "captured_twice_minor": summary["double_charged_minor"],
        "chargeback_losses_minor": chargebacks.get("losses_minor", 0),
        "payout_delay_s": payouts.get("mean_delay_s"),
        "seller_wait_s": payouts.get("seller_wait_mean_s"),
        "clearing_open_past_deadline": next((o["count"] for o in data["oracles"] if o["oracle"] == "clearing_closed"), 0),
        "recon_open_minor": (amounts.get("by_hand", 0) + amounts.get("unknown", 0)) if amounts else None,
        "late_ledger_bookings": summary.get("late_ledger_bookings", 0),
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
    split = kpis_by_currency(data["summary"])
    if split is not None:
        data["kpis_by_currency"] = split
    return data


def kpis_by_currency(summary: dict) -> dict[str, dict[str, int | None]] | None:
    """The money KPIs per currency, ``{kpi: {currency code: minor units}}``, from the summary's
    ``money_by_currency`` (None with one currency: the KPIs themselves are in it). The parts of
    a KPI add up to its value."""
    split = summary.get("money_by_currency")
    if split is None:
        return None
    result: dict[str, dict[str, int | None]] = {key: {} for key in MONEY_KPI_PARTS}
    for code, money in split.items():
        recon = money.get("reconciliation_minor")
        result["money_at_risk_minor"][code] = money["money_at_risk_minor"]
        result["captured_twice_minor"][code] = money["double_charged_minor"]
        result["chargeback_losses_minor"][code] = money["charged_back_minor"] + money["chargeback_fees_minor"]
        result["recon_open_minor"][code] = None if recon is None else recon["by_hand"] + recon["unknown"]
    return result


MONEY_KPI_PARTS = ("money_at_risk_minor", "captured_twice_minor", "chargeback_losses_minor", "recon_open_minor")
"""The KPIs in minor units, split per currency by :func:`kpis_by_currency`."""
