"""The KPIs of a finished run, computed from the world's tables and streaming metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.components.reconciliation import ReconciliationReport
from sim.components.seller_wait import seller_wait
from sim.domain.orders import OrderState, as_numpy, column_chunks
from sim.observe.metrics import Histogram
from sim.oracles.liveness import lost_orders
from sim.oracles.money import captures_per_line
from sim.oracles.money import doubled as doubled_lines
from sim.runners.kpis import goodput_counts, time_collapsed_s, time_to_recover
from sim.runners.money_by_currency import money_by_currency

if TYPE_CHECKING:
    from sim.components.seller_wait import SellerWait
    from sim.world import World


def summarize(world: "World", recon: ReconciliationReport | None) -> dict:
    orders, metrics, truth = world.orders, world.metrics, world.truth
    count = len(orders)
    state = as_numpy(orders.state)  # views, no copies: nothing is added to the tables any more
    per_state = np.bincount(state, minlength=len(OrderState))
    states = {s.name: int(per_state[s]) for s in OrderState}
    e2e = Histogram()
    latency_s = as_numpy(orders.latency_s)  # float32: add_all widens it a slice at a time, as Python reads it
    e2e.add_all(latency_s[latency_s >= 0])
    del latency_s
    per_line = captures_per_line(truth.captures, orders.line_column)
    doubled = per_line[per_line > 1].astype(np.int64)
    del per_line
    lines_double = int(doubled.size)
    extra_captures = int((doubled - 1).sum())
    shared = min(count, len(truth.captures))
    charged_failed = 0
    caps, amounts, currency = as_numpy(truth.captures), as_numpy(orders.amount_minor), as_numpy(orders.currency)
    at_risk = np.zeros(len(world.population.currencies), np.int64)
    for start, stop in column_chunks(shared):  # a chunk at a time: a few MiB of masks at any size
        charged_and_failed = (caps[start:stop] > 0) & (state[start:stop] == int(OrderState.FAILED))
        charged_failed += int(charged_and_failed.sum())
        np.add.at(at_risk, currency[start:stop][charged_and_failed], amounts[start:stop][charged_and_failed].astype(np.int64))
    money_at_risk = int(at_risk.sum())
    del caps, amounts, currency, state
    psp_attempts = int(as_numpy(orders.psp_attempts).sum())
    client = metrics.histograms.get("client_latency_s", Histogram())
    twice = doubled_lines(world)
    wait = seller_wait(world) if world.payouts is not None else None
    e2e_summary = {k: _ms(v) for k, v in e2e.summary().items() if k != "count"}
    stations = [station for _name, station in sorted(world.stations.items()) if station.stats.arrivals]
    services = {station.name: station.stats.as_dict(world.env.now) for station in stations}
    wasted_s = sum(station.stats.wasted_s for station in stations)
    busy_s = sum(station.stats.service_s for station in stations)
    split = money_by_currency(world, recon, dict(enumerate(at_risk.tolist())), twice, wait)
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
        "lost_payments": len(lost_orders(world)),
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
        "double_charged_minor": twice["captured_twice_minor"],
        "held_twice": twice["held_twice"],
        "held_twice_minor": twice["held_twice_minor"],
        "capture": _capture(world),
        "refunds": _refunds(world),
        "chargebacks": _chargebacks(world),
        "payouts": _payouts(world, wait),
        **({"fx": _fx(world)} if world.settlements is not None and world.settlements.fx is not None else {}),
        **({"psp_clearing": _psp_clearing(world)} if world.ledger.clearing_open is not None else {}),
        "client": {k.split(".", 1)[1]: v for k, v in sorted(metrics.counters.items()) if k.startswith("client.")},
        "reconciliation": recon.buckets() if recon else None,
        "reconciliation_minor": recon.amounts() if recon else None,
        "late_ledger_bookings": world.ledger.late_bookings,
        "services": services,
        "wasted_work_share": round(wasted_s / busy_s, 6) if busy_s > 0 else 0.0,
        **_recovery(world),
        **({} if split is None else {"money_by_currency": split}),  # several currencies only
    }


def _psp_clearing(world: "World") -> dict:
    """PSP clearing (only when on): captures whose clearing entry the settlement closed, those still
    open, and those open past their deadline."""
    ledger, now = world.ledger, world.env.now
    return {
        "closed": ledger.clearing_closed,
        "open": len(ledger.clearing_open),
        "open_past_deadline": sum(1 for _amount, due in ledger.clearing_open.values() if due < now),
    }


def _fx(world: "World") -> dict:
    """FX (only when on): payments converted, what the PSP settled (net of the refunds, chargebacks
    and fees it netted), the FX result (gains less losses), all in the settlement currency's minor units."""
    settlements, ledger = world.settlements, world.ledger
    return {
        "settlement_currency": world.population.currencies[settlements.fx.settlement],
        "converted_payments": len(ledger.fx_booked),
        "settlements": len(settlements.batches),
        "settled_captures": sum(batch.rows for batch in settlements.batches),
        "settled_minor": sum(batch.paid_minor for batch in settlements.batches),
        "netted_refunds_minor": sum(batch.refunded_minor for batch in settlements.batches),
        "netted_chargebacks_minor": sum(batch.charged_back_minor for batch in settlements.batches),
        "netted_fees_minor": sum(batch.fees_minor for batch in settlements.batches),
        "fx_result_minor": ledger.fx_result_minor,
        "unbooked_differences": settlements.mismatched,
        "unbooked_differences_minor": settlements.mismatched_minor,
    }


def _capture(world: "World") -> dict:
    """Authorisation holds and what became of them (delayed captures; zeros otherwise)."""
    truth, counters = world.truth, world.metrics.counters
    return {
        "mode": world.model.capture.mode,
        "holds": truth.hold_count if truth.holds_apart else truth.capture_count,
        "captures": truth.capture_count,
        "partial": counters.get("capture.partial", 0),
        "voids": truth.releases["void"],
        "holds_expired": truth.releases["expiry"],
        "refused": counters.get("capture.capture_refused", 0),
        "gave_up": counters.get("capture.capture_gave_up", 0),
        "open_held_minor": sum(truth.open_held_minor(c) for c in truth.held_minor_by_currency),
    }


def _refunds(world: "World") -> dict:
    """Refunds our refund service carried, and what the banks paid back (a refund executed twice
    counts twice there)."""
    counters, truth = world.metrics.counters, world.truth
    return {
        "requested": counters.get("refunds.requested", 0),
        "refunded": counters.get("refunds.refunded", 0),
        "partial": counters.get("refunds.partial", 0),
        "failed": counters.get("refunds.failed", 0),
        "gave_up": counters.get("refunds.gave_up", 0),
        "refunded_minor": world.ledger.reversed_minor.get("refund", 0),
        "paid_back_minor": sum(truth.refunded_minor_by_currency.values()),
    }


def _chargebacks(world: "World") -> dict:
    """Disputes, their outcomes, the chargeback rate (disputes per capture) and the losses booked:
    amounts not won back plus the PSP's fees."""
    counters, truth, ledger = world.metrics.counters, world.truth, world.ledger
    disputed = counters.get("chargebacks.disputed", 0)
    lost_minor = ledger.reversed_minor.get("chargeback", 0)
    fees_minor = ledger.reversed_minor.get("chargeback_fee", 0)
    return {
        "disputed": disputed,
        "won": counters.get("chargebacks.won", 0),
        "lost": counters.get("chargebacks.lost", 0),
        "rate": round(disputed / truth.capture_count, 6) if truth.capture_count else None,
        "charged_back_minor": lost_minor,
        "fees_minor": fees_minor,
        "losses_minor": lost_minor + fees_minor,
    }


def _payouts(world: "World", wait: "SellerWait | None") -> dict | None:
    """Payout runs and payouts by outcome, the money paid out, the mean time from a payout's
    request to its transfer being known, payouts still in clearing, and the seller's wait from
    capture to money in the bank (amount-weighted mean and p95; what sellers are still owed at
    the end) (None without payouts)."""
    payouts = world.payouts
    if payouts is None:
        return None
    amounts, delays = payouts.payouts.paid()
    return {
        "runs": payouts.runs,
        "requested": len(payouts.payouts),
        "paid": len(amounts),
        "returned": payouts.payouts.count("returned"),
        "open": payouts.payouts.count("open"),
        "paid_out_minor": sum(amounts),
        "mean_delay_s": round(sum(delays) / len(delays), 6) if delays else None,
        "transfers": len(world.payout_provider.report),
        "negative_balance_skips": world.metrics.counters.get("payouts.negative_balances", 0),
        "seller_wait_mean_s": wait.mean_s,
        "seller_wait_p95_s": wait.p95_s,
        "seller_unpaid_minor": wait.unpaid_minor,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _recovery(world: "World") -> dict:
    """Worst time to recover over the fault windows (goodput and backlog, see
    ``sim.runners.kpis``) and the time spent collapsed: in the summary, so a scenario can expect them."""
    series = world.metrics.series
    goodput = goodput_counts(world)
    backlog = series.gauges.get("in_flight_orders")
    worst: float | None = None
    stuck = False
    for window in world.fault_windows:
        status, seconds = time_to_recover(goodput, series.bin_s, window.start_s, window.end_s, backlog)
        if status == "not_recovered":
            seconds = world.end_s - window.end_s
            stuck = True
        if seconds is not None:
            worst = seconds if worst is None else max(worst, seconds)
    first = min((w.start_s for w in world.fault_windows), default=None)
    return {
        "time_to_recover_s": None if worst is None else round(worst, 6),
        "time_collapsed_s": time_collapsed_s(goodput, series.bin_s, first, world.load_end_s),
        "recovered": None if worst is None else not stuck,
    }
