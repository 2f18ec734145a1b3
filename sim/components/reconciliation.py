"""End-of-run reconciliation: the PSP's settlement file against the ledger, the wallet against
the ledger. Breaks are sorted into three buckets: auto-fixed, fixable by hand, unknown; each says
the money it is about (``amount_minor``, the order's currency). The scheduled (nightly) run during
the run is :mod:`sim.components.nightly_reconciliation`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from sim.components.capture import GAVE_UP, REFUSED, STATUS_NAMES, VOIDED, WAITING, Capturer
from sim.components.ledger import Ledger
from sim.components.wallet import Wallet
from sim.domain.orders import OrderState, Orders

AUTO, HAND, UNKNOWN = "auto_fixed", "by_hand", "unknown"
_SUCCESS = int(OrderState.SUCCESS)


@dataclass
class Break:
    kind: str
    bucket: str
    order_id: int | None = None
    detail: str = ""
    amount_minor: int = 0
    """The money the break is about (minor units of the order's currency; summed over currencies in reports)."""


@dataclass
class ReconciliationReport:
    breaks: list[Break] = field(default_factory=list)
    matched: int = 0
    timing: int = 0
    """Differences that settle later, not breaks: delayed captures still waiting or voided, and
    settlement rows the PSP dated another day than our clock (a clock skew across the cut-off)."""

    def buckets(self) -> dict[str, int]:
        counts = Counter(b.bucket for b in self.breaks)
        return {bucket: counts.get(bucket, 0) for bucket in (AUTO, HAND, UNKNOWN)}

    def amounts(self) -> dict[str, int]:
        """Money per bucket (minor units, summed over currencies)."""
        totals = {bucket: 0 for bucket in (AUTO, HAND, UNKNOWN)}
        for b in self.breaks:
            totals[b.bucket] += b.amount_minor
        return totals

    def kinds(self) -> dict[str, int]:
        return dict(sorted(Counter(b.kind for b in self.breaks).items()))

    def orders_in(self, *buckets: str) -> set[int]:
        return {b.order_id for b in self.breaks if b.bucket in buckets and b.order_id is not None}


def reconcile(
    settlement: Iterable[tuple[int, int, int, int, float]], orders: Orders, ledger: Ledger, wallet: Wallet,
    sellers: int, currencies: int, now: float, auto_fix: bool, capture: "Capturer | None" = None,
    pending: str = "leave", refunded_extra: "Callable[[int, int], bool] | None" = None,
) -> ReconciliationReport:
    """Compare and (if ``auto_fix``) correct; returns every break found. With delayed captures
    (``capture``, our capture service), a SUCCESS order not captured yet is a timing difference, not
    a break, while it waits for shipment or was voided; a capture the PSP refused is a break.

    Columnar: orders that match on every count (one capture, SUCCESS, booked in the ledger and
    the wallet) are only counted; the per-order rules run for the others, in order id order.
    ``pending="fail"`` is the flaw of treating an order still PENDING as failed (captured or not).
    ``refunded_extra(order, times)``: whether the extra captures were refunded during the run
    (then the break is auto-fixed, not left to a human)."""
    report = ReconciliationReport()
    count = len(orders)
    order_ids = settlement.order_ids() if hasattr(settlement, "order_ids") else np.fromiter(
        (row[1] for row in settlement), dtype=np.int64)
    outside = (order_ids < 0) | (order_ids >= count)  # rows for orders we do not have (none, normally)
    per_order = np.bincount(order_ids[~outside], minlength=count)  # captures per order: no sort
    state = _column(orders.state, count)
    clean = (per_order == 1) & (state == _SUCCESS)
    if auto_fix:
        clean &= (_column(ledger.recorded, count) > 0) & (_column(wallet.applied, count) > 0)
    report.matched += int(clean.sum())
    charged = per_order > 0
    irregular = np.nonzero(charged & ~clean)[0]
    unknown, unknown_times = np.unique(order_ids[outside], return_counts=True)
    for order_id, times in zip(irregular.tolist() + unknown.tolist(), per_order[irregular].tolist() + unknown_times.tolist()):
        if not 0 <= order_id < count:
            report.breaks.append(Break("capture_without_order", UNKNOWN, order_id, "the PSP charged an order we do not have"))
            continue
        amount = orders.amount_minor[order_id]
        if times > 1:
            if refunded_extra is not None and refunded_extra(order_id, times):
                report.breaks.append(Break("captured_more_than_once", AUTO, order_id,
                                           f"{times} captures: {times - 1} refunded during the run", (times - 1) * amount))
            else:
                report.breaks.append(Break("captured_more_than_once", HAND, order_id, f"{times} captures: refund {times - 1}",
                                           (times - 1) * amount))
        state_now = orders.state[order_id]
        if state_now == OrderState.SUCCESS:
            report.matched += 1
        elif state_now == OrderState.PENDING and pending == "fail":
            _fail_pending(order_id, orders, now, report)  # FLAW: the capture is ignored
            continue
        elif state_now == OrderState.FAILED:
            report.breaks.append(Break("charged_but_failed", HAND, order_id, "refund the buyer or fulfil the order", amount))
            continue
        else:
            report.breaks.append(Break("charged_but_not_final", AUTO, order_id,
                                       f"status corrected from {OrderState(state_now).name}", amount))
            if auto_fix:
                orders.transition(order_id, OrderState.SUCCESS, now)
        if orders.state[order_id] == OrderState.SUCCESS and auto_fix:
            _complete_bookkeeping(order_id, orders, ledger, wallet, report)
    odd = ((_column(orders.state, count) == _SUCCESS) & ~charged) | (_column(ledger.recorded, count) > 1)
    for order_id in np.nonzero(odd)[0].tolist():
        if orders.state[order_id] == OrderState.SUCCESS and not charged[order_id] and capture is not None:
            status = capture.status_of(order_id)
            if status in (WAITING, VOIDED):
                report.timing += 1
            elif status in (REFUSED, GAVE_UP):
                report.breaks.append(Break("capture_failed", HAND, order_id,
                                           f"capture {STATUS_NAMES[status]}: the goods left, the money was not taken",
                                           orders.amount_minor[order_id]))
            else:
                report.breaks.append(Break("success_without_capture", UNKNOWN, order_id, "we say paid, the PSP settled nothing",
                                           orders.amount_minor[order_id]))
        elif orders.state[order_id] == OrderState.SUCCESS and not charged[order_id]:
            report.breaks.append(Break("success_without_capture", UNKNOWN, order_id, "we say paid, the PSP settled nothing",
                                       orders.amount_minor[order_id]))
        if ledger.times_recorded(order_id) > 1:
            report.breaks.append(Break("ledger_duplicate", AUTO, order_id, "reversal entry posted",
                                       (ledger.times_recorded(order_id) - 1) * orders.amount_minor[order_id]))
            if auto_fix:
                ledger.reverse_duplicates(order_id)
    if pending == "fail":
        for order_id in [o for o in orders.in_flight if orders.state[o] == OrderState.PENDING]:
            _fail_pending(order_id, orders, now, report)
    for seller in range(sellers):
        for currency in range(currencies):
            expected = ledger.seller_payable(seller, currency)
            actual = wallet.seller_balance(seller, currency)
            if expected != actual:
                report.breaks.append(Break("wallet_differs_from_ledger", AUTO, None,
                                           f"seller {seller}: wallet {actual} ledger {expected}", abs(expected - actual)))
                if auto_fix:
                    wallet.balance[seller * currencies + currency] = expected
    return report


def _column(values: bytearray, count: int) -> np.ndarray:
    """A copy of a per-order byte column, cut or padded with zeros to ``count`` orders."""
    column = np.zeros(count, dtype=np.uint8)
    size = min(count, len(values))
    column[:size] = np.frombuffer(bytes(values[:size]), dtype=np.uint8)
    return column


def _fail_pending(order_id: int, orders: Orders, now: float, report: ReconciliationReport) -> None:
    """FLAW (``reconciliation.pending: fail``): a PENDING order is taken for failed."""
    report.breaks.append(Break("pending_treated_as_failed", AUTO, order_id, "status set to FAILED", orders.amount_minor[order_id]))
    orders.transition(order_id, OrderState.FAILED, now)


def _complete_bookkeeping(order_id: int, orders: Orders, ledger: Ledger, wallet: Wallet, report: ReconciliationReport) -> None:
    if ledger.times_recorded(order_id) == 0:
        report.breaks.append(Break("missing_ledger_entry", AUTO, order_id, "ledger transaction posted", orders.amount_minor[order_id]))
        ledger.post_transaction(order_id)
    if wallet.times_applied(order_id) == 0:
        report.breaks.append(Break("missing_wallet_credit", AUTO, order_id, "seller credited", orders.amount_minor[order_id]))
        wallet.apply_credit(order_id)
