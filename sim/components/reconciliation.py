"""End-of-run reconciliation: the PSP's settlement file against the ledger, the wallet against
the ledger. Breaks are sorted into three buckets: auto-fixed, fixable by hand, unknown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sim.components.ledger import Ledger
from sim.components.wallet import Wallet
from sim.domain.orders import OrderState, Orders

AUTO, HAND, UNKNOWN = "auto_fixed", "by_hand", "unknown"


@dataclass
class Break:
    kind: str
    bucket: str
    order_id: int | None = None
    detail: str = ""


@dataclass
class ReconciliationReport:
    breaks: list[Break] = field(default_factory=list)
    matched: int = 0

    def buckets(self) -> dict[str, int]:
        counts = Counter(b.bucket for b in self.breaks)
        return {bucket: counts.get(bucket, 0) for bucket in (AUTO, HAND, UNKNOWN)}

    def kinds(self) -> dict[str, int]:
        return dict(sorted(Counter(b.kind for b in self.breaks).items()))

    def orders_in(self, *buckets: str) -> set[int]:
        return {b.order_id for b in self.breaks if b.bucket in buckets and b.order_id is not None}


def reconcile(
    settlement: list[tuple[int, int, int, int, float]], orders: Orders, ledger: Ledger, wallet: Wallet,
    sellers: int, currencies: int, now: float, auto_fix: bool,
) -> ReconciliationReport:
    """Compare and (if ``auto_fix``) correct; returns every break found."""
    report = ReconciliationReport()
    captures: Counter[int] = Counter(order_id for _day, order_id, _a, _c, _t in settlement)
    for order_id, count in sorted(captures.items()):
        if order_id >= len(orders):
            report.breaks.append(Break("capture_without_order", UNKNOWN, order_id, "the PSP charged an order we do not have"))
            continue
        if count > 1:
            report.breaks.append(Break("captured_more_than_once", HAND, order_id, f"{count} captures: refund {count - 1}"))
        state = orders.state[order_id]
        if state == OrderState.SUCCESS:
            report.matched += 1
        elif state == OrderState.FAILED:
            report.breaks.append(Break("charged_but_failed", HAND, order_id, "refund the buyer or fulfil the order"))
            continue
        else:
            report.breaks.append(Break("charged_but_not_final", AUTO, order_id, f"status corrected from {OrderState(state).name}"))
            if auto_fix:
                orders.transition(order_id, OrderState.SUCCESS, now)
        if orders.state[order_id] == OrderState.SUCCESS and auto_fix:
            _complete_bookkeeping(order_id, orders, ledger, wallet, report)
    for order_id in range(len(orders)):
        if orders.state[order_id] == OrderState.SUCCESS and order_id not in captures:
            report.breaks.append(Break("success_without_capture", UNKNOWN, order_id, "we say paid, the PSP settled nothing"))
        if ledger.times_recorded(order_id) > 1:
            report.breaks.append(Break("ledger_duplicate", AUTO, order_id, "reversal entry posted"))
            if auto_fix:
                ledger.reverse_duplicates(order_id)
    for seller in range(sellers):
        for currency in range(currencies):
            expected = ledger.seller_payable(seller, currency)
            actual = wallet.seller_balance(seller, currency)
            if expected != actual:
                report.breaks.append(Break("wallet_differs_from_ledger", AUTO, None, f"seller {seller}: wallet {actual} ledger {expected}"))
                if auto_fix:
                    wallet.balance[seller * currencies + currency] = expected
    return report


def _complete_bookkeeping(order_id: int, orders: Orders, ledger: Ledger, wallet: Wallet, report: ReconciliationReport) -> None:
    if ledger.times_recorded(order_id) == 0:
        report.breaks.append(Break("missing_ledger_entry", AUTO, order_id, "ledger transaction posted"))
        ledger.post_transaction(order_id)
    if wallet.times_applied(order_id) == 0:
        report.breaks.append(Break("missing_wallet_credit", AUTO, order_id, "seller credited"))
        wallet.apply_credit(order_id)
