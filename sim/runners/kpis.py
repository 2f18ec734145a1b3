"""Flat, numeric KPIs of one run: the columns a sweep or a comparison puts in its tables.

``RunResult.data["summary"]`` is nested (outcomes, latency summaries...); sweeps, comparisons and
notebooks want one number per column. Every KPI here is derived from the run's JSON data only, so
a row can be rebuilt from a ``results.json``.
"""

from __future__ import annotations

KPI_DESCRIPTIONS: dict[str, str] = {
    "orders": "payment orders created",
    "success_rate": "share of orders that ended SUCCESS",
    "failed": "orders that ended FAILED",
    "dead_lettered": "orders in the dead-letter queue",
    "double_charges": "orders charged more than once at the bank",
    "charged_but_failed": "orders charged at the bank that we call FAILED",
    "lost_payments": "orders still in flight at the end (after the drain)",
    "stuck_alerts": "orders the in-flight monitor flagged as stuck past its threshold",
    "customer_wait_p50_ms": "median time a buyer waits for the checkout answer (client latency)",
    "customer_wait_p99_ms": "99th percentile of the buyer's wait (client latency)",
    "customer_in_progress": "buyers answered 'still in progress' (payment not finished in the request)",
    "customer_timeouts": "buyer requests that timed out",
    "customer_gave_up": "buyers who gave up after their last retry",
    "e2e_p99_latency_ms": "99th percentile of order creation → final state",
    "psp_requests_per_order": "PSP requests (charges and status queries) per order",
    "duplicate_psp_calls": "PSP requests beyond one per order",
    "executor_timeouts": "executor calls to the PSP that hit the call timeout",
    "false_timeouts": "executor timeouts where the PSP did answer, only too late",
    "retries_exhausted": "orders dead-lettered after the executor's retries ran out",
    "passed": "1 when every oracle and expectation held, else 0",
}
"""The KPI columns, in order, with what each one means."""

KPI_NAMES: tuple[str, ...] = tuple(KPI_DESCRIPTIONS)


def run_kpis(data: dict) -> dict[str, float | int | None]:
    """The flat KPIs of one run's JSON data (``RunResult.data``).

    ``false_timeouts`` counts executor timeouts not explained by a reply the PSP dropped
    (``psp.no_reply``, ``psp.reply_lost``, ``psp.reply_lost_after_commit``): each dropped reply
    makes exactly one caller time out, every other timeout is a reply that came back after the
    caller stopped waiting. Dropped status queries of the monitor or the pending poller are
    subtracted too, so the figure is a lower bound (exact when no reply is dropped).
    """
    summary, counters = data["summary"], data["counters"]
    orders = summary["orders"]
    client = summary.get("client") or {}
    client_latency = summary.get("client_latency_ms") or {}
    dropped = counters.get("psp.no_reply", 0) + counters.get("psp.reply_lost", 0) + counters.get(
        "psp.reply_lost_after_commit", 0)
    timeouts = counters.get("executor.timeouts", 0)
    return {
        "orders": orders,
        "success_rate": summary["success_rate"],
        "failed": summary["outcomes"]["FAILED"],
        "dead_lettered": summary["dead_lettered"],
        "double_charges": summary["double_charges"],
        "charged_but_failed": summary["charged_but_failed"],
        "lost_payments": summary["lost_payments"],
        "stuck_alerts": counters.get("monitor.alerts", 0),
        "customer_wait_p50_ms": client_latency.get("p50"),
        "customer_wait_p99_ms": client_latency.get("p99"),
        "customer_in_progress": client.get("in_progress", 0),
        "customer_timeouts": client.get("timeouts", 0),
        "customer_gave_up": client.get("gave_up", 0),
        "e2e_p99_latency_ms": summary["p99_latency_ms"],
        "psp_requests_per_order": summary["psp_requests_per_order"],
        "duplicate_psp_calls": max(0, summary["psp_requests"] - orders),
        "executor_timeouts": timeouts,
        "false_timeouts": max(0, timeouts - dropped),
        "retries_exhausted": counters.get("dlq.retries_exhausted", 0),
        "passed": 1 if data["verdict"] == "pass" else 0,
    }
