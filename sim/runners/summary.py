"""The KPIs of a finished run, computed from the world's tables and streaming metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.components.reconciliation import ReconciliationReport
from sim.domain.orders import OrderState
from sim.observe.metrics import Histogram

if TYPE_CHECKING:
    from sim.world import World


def summarize(world: "World", recon: ReconciliationReport | None) -> dict:
    orders, metrics, truth = world.orders, world.metrics, world.truth
    count = len(orders)
    states = {state.name: 0 for state in OrderState}
    for value in orders.state:
        states[OrderState(value).name] += 1
    e2e = Histogram()
    created, finished = orders.created_at, orders.finished_at
    for order_id in range(count):
        if finished[order_id] >= 0:
            e2e.add(finished[order_id] - created[order_id])
    extra_captures = 0
    lines_double = 0
    by_line: dict[int, int] = {}
    for order_id in range(len(truth.captures)):
        captures = truth.captures[order_id]
        if captures:
            line = orders.line[order_id]
            by_line[line] = by_line.get(line, 0) + captures
    money_at_risk = 0
    for line_captures in by_line.values():
        if line_captures > 1:
            lines_double += 1
            extra_captures += line_captures - 1
    charged_failed = 0
    for order_id in range(min(count, len(truth.captures))):
        if truth.captures[order_id] and orders.state[order_id] == OrderState.FAILED:
            charged_failed += 1
            money_at_risk += orders.amount_minor[order_id]
    psp_attempts = sum(orders.psp_attempts)
    client = metrics.histograms.get("client_latency_s", Histogram())
    e2e_summary = {k: _ms(v) for k, v in e2e.summary().items() if k != "count"}
    return {
        "checkouts": world.clients.checkouts,
        "checkouts_accepted": len(world.checkouts),
        "orders": count,
        "outcomes": states,
        "success_rate": round(states["SUCCESS"] / count, 6) if count else None,
        "double_charges": lines_double,
        "extra_captures": extra_captures,
        "charged_but_failed": charged_failed,
        "money_at_risk_minor": money_at_risk,
        "lost_payments": len(orders.in_flight),
        "stuck": len(orders.in_flight),
        "dead_lettered": states["DEAD_LETTERED"],
        "ledger_balanced": not world.ledger.unbalanced and all(
            sum(v for (_a, c), v in world.ledger.balances.items() if c == cur) == 0
            for cur in {c for (_a, c) in world.ledger.balances}
        ),
        "latency_ms": e2e_summary,
        "p50_latency_ms": e2e_summary["p50"],
        "p99_latency_ms": e2e_summary["p99"],
        "client_latency_ms": {k: _ms(v) for k, v in client.summary().items() if k != "count"},
        "psp_attempts_per_order": round(psp_attempts / count, 6) if count else None,
        "psp_requests": metrics.counters.get("psp.requests", 0),
        "psp_requests_per_order": round(metrics.counters.get("psp.requests", 0) / count, 6) if count else None,
        "captures": truth.capture_count,
        "client": {k.split(".", 1)[1]: v for k, v in sorted(metrics.counters.items()) if k.startswith("client.")},
        "reconciliation": recon.buckets() if recon else None,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)
