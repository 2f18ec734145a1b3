"""The KPIs a run is ranked and reported by: names, labels, units and which way is better.

Definitions only (a leaf): the sweep configuration checks KPI names against them, reports label
columns with them, :mod:`sim.runners.kpis` computes the values.
"""

from __future__ import annotations

from typing import NamedTuple


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
    Kpi("recovered", "runs whose goodput and backlog came back after every fault", "higher"),
    Kpi("wasted_work_share", "share of all service time spent on requests whose caller had given up", "lower"),
    Kpi("peak_psp_rate_per_s", "peak PSP request rate", "lower", "req/s"),
    Kpi("peak_psp_rate_after_recovery_per_s", "peak PSP request rate after recovery", "lower", "req/s"),
    Kpi("held_twice", "cart lines held twice (a hold released later)", "lower"),
    Kpi("captured_twice_minor", "money taken twice", "lower", "minor units"),
    Kpi("chargeback_losses_minor", "chargeback losses (amounts and fees)", "lower", "minor units"),
    Kpi("payout_delay_s", "mean payout delay (request to transfer known)", "lower", "s"),
    Kpi("seller_wait_s", "seller's mean wait, capture to money in their bank", "lower", "s"),
    Kpi("clearing_open_past_deadline", "clearing balances open past their deadline", "lower"),
    Kpi("recon_open_minor", "money in reconciliation breaks left by hand or unknown", "lower", "minor units"),
    Kpi("late_ledger_bookings", "payments booked later than the ledger's on-time limit", "lower"),
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

HEADLINE_KPIS: tuple[str, ...] = ("success_rate", "psp_requests_per_order", "peak_psp_rate_after_recovery_per_s",
                                  "p99_latency_ms", "dead_lettered", "double_charges")
"""The KPIs a comparison's terminal ranking shows, and a sweep report's default: the few a person
reads first (every KPI is still in the CSVs)."""
KPI_DESCRIPTIONS: dict[str, str] = {k.key: k.label + (f" ({k.unit})" if k.unit else "") for k in ALL_KPIS}


KPI_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("payments and safety", ("success_rate", "double_charges", "captured_twice_minor", "held_twice",
                             "money_at_risk_minor", "stuck", "dead_lettered")),
    ("latency and recovery", ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "time_to_recover_s",
                              "time_collapsed_s", "recovered")),
    ("load", ("psp_attempts_per_order", "psp_requests_per_order", "peak_psp_rate_per_s",
              "peak_psp_rate_after_recovery_per_s", "wasted_work_share")),
    ("money after the payment", ("chargeback_losses_minor", "payout_delay_s", "seller_wait_s",
                                 "clearing_open_past_deadline", "late_ledger_bookings")),
    ("reconciliation", ("recon_auto_fixed", "recon_by_hand", "recon_unknown", "recon_open_minor")),
)
"""The ranked KPIs in the groups a report shows them in: what happened to the payments first (a
double charge is the first thing to look for), then time, load, the money after, reconciliation."""

UNIT_INTERVAL_KPIS = frozenset({"success_rate", "passed", "wasted_work_share", "recovered"})


def kpi_bounds(key: str) -> tuple[float, float | None]:
    """The physical range of a KPI (for clipping confidence intervals): a fraction lies in
    [0, 1]; every other KPI (counts, rates, durations, ratios) is at least 0."""
    return (0.0, 1.0) if key in UNIT_INTERVAL_KPIS else (0.0, None)
