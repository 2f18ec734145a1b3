"""End-of-run reconciliation: the PSP's settlement file against the ledger, the wallet against
the ledger. Breaks are sorted into three buckets: auto-fixed, fixable by hand, unknown; each says
the money it is about (``amount_minor``, the order's currency). The scheduled (nightly) run during
the run is :mod:`sim.components.nightly_reconciliation`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from sim.components.capture import GAVE_UP, REFUSED, STATUS_NAMES, VOIDED, WAITING, Capturer
from sim.components.ledger import Ledger
from sim.components.wallet import Wallet
from sim.domain.orders import COLUMN_CHUNK, OrderState, Orders, byte_column, column_chunks

AUTO, HAND, UNKNOWN = "auto_fixed", "by_hand", "unknown"
BUCKETS = (AUTO, HAND, UNKNOWN)
"""The buckets a break is sorted into, in the order reports list them."""
_SUCCESS = int(OrderState.SUCCESS)


@dataclass
class Break:
    kind: str
    bucket: str
    order_id: int | None = None
    detail: str = ""
    amount_minor: int = 0
    """The money the break is about (minor units of the order's currency, or of ``currency``)."""
    currency: int | None = None
    """The money's currency (index into the population's currencies) when the break has no order."""


@dataclass
class ReconciliationReport:
    breaks: list[Break] = field(default_factory=list)
    matched: int = 0
    timing: int = 0
    """Differences that settle later, not breaks: delayed captures still waiting or voided, and
    settlement rows the PSP dated another day than our clock (a clock skew across the cut-off)."""

    def buckets(self) -> dict[str, int]:
        counts = Counter(b.bucket for b in self.breaks)
        return {bucket: counts.get(bucket, 0) for bucket in BUCKETS}

    def amounts(self) -> dict[str, int]:
        """Money per bucket (minor units, summed over currencies)."""
        totals = dict.fromkeys(BUCKETS, 0)
        for b in self.breaks:
            totals[b.bucket] += b.amount_minor
        return totals

    def amounts_by_currency(self, orders: Orders) -> dict[int, dict[str, int]]:
        """:meth:`amounts` per currency (index into the population's currencies), of the breaks
        about some money: an order's in its currency, one without an order in its own."""
        totals: dict[int, dict[str, int]] = {}
        for b in self.breaks:
            if not b.amount_minor:
                continue
            currency = b.currency if b.currency is not None else orders.currency[b.order_id]
            per_bucket = totals.setdefault(currency, dict.fromkeys(BUCKETS, 0))
            per_bucket[b.bucket] += b.amount_minor
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
    per_order, unknown, unknown_times = captures_per_order(settlement, count)
    irregular_parts = []
    for start, stop in column_chunks(count):  # a chunk of orders at a time: bounded temporaries
        captured = per_order[start:stop]
        clean = (captured == 1) & (byte_column(orders.state, start, stop) == _SUCCESS)
        if auto_fix:
            clean &= (byte_column(ledger.recorded, start, stop) > 0) & (byte_column(wallet.applied, start, stop) > 0)
        report.matched += int(clean.sum())
        irregular_parts.append(np.nonzero((captured > 0) & ~clean)[0] + start)
        del clean
    irregular = np.concatenate(irregular_parts) if irregular_parts else np.zeros(0, np.int64)
    del irregular_parts
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
    for order_id in _odd_orders(orders, ledger, per_order):
        charged = per_order[order_id] > 0
        if orders.state[order_id] == OrderState.SUCCESS and not charged and capture is not None:
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
        elif orders.state[order_id] == OrderState.SUCCESS and not charged:
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
                                           f"seller {seller}: wallet {actual} ledger {expected}", abs(expected - actual),
                                           currency))
                if auto_fix:
                    wallet.balance[seller * currencies + currency] = expected
    return report


def captures_per_order(settlement: Iterable[tuple[int, int, int, int, float]], count: int,
                       chunk: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capture rows per order id ``0:count`` (a byte each; int64 if an order has 255 or more), and
    the order ids outside that range with their row counts (ascending), from the settlement file's
    order ids read ``chunk`` rows at a time."""
    chunk = chunk or COLUMN_CHUNK
    if hasattr(settlement, "order_id_chunks"):
        chunks: Iterable[np.ndarray] = settlement.order_id_chunks(chunk)
    else:
        chunks = [np.fromiter((row[1] for row in settlement), dtype=np.int64)]
    per_order = np.zeros(count, dtype=np.uint8)
    rows, outside_parts = 0, []
    for order_ids in chunks:
        outside = (order_ids < 0) | (order_ids >= count)  # rows for orders we do not have (none, normally)
        outside_parts.append(order_ids[outside])
        inside = order_ids[~outside]
        rows += len(inside)
        np.add.at(per_order, inside, 1)
    if int(per_order.sum(dtype=np.int64)) != rows:  # a byte wrapped: count again, wide (never, in practice)
        per_order = np.zeros(count, dtype=np.int64)
        for order_ids in (settlement.order_id_chunks(chunk) if hasattr(settlement, "order_id_chunks") else chunks):
            np.add.at(per_order, order_ids[(order_ids >= 0) & (order_ids < count)], 1)
    unknown, unknown_times = np.unique(np.concatenate(outside_parts) if outside_parts else np.zeros(0, np.int64),
                                       return_counts=True)
    return per_order, unknown, unknown_times


def _odd_orders(orders: Orders, ledger: Ledger, per_order: np.ndarray) -> Iterator[int]:
    """Order ids (ascending) SUCCESS without a capture, or booked more than once in the ledger, read
    a chunk of orders at a time (as each is handled only its own ledger row changes)."""
    for start, stop in column_chunks(len(per_order)):
        odd = (byte_column(orders.state, start, stop) == _SUCCESS) & (per_order[start:stop] == 0)
        odd |= byte_column(ledger.recorded, start, stop) > 1
        yield from (np.nonzero(odd)[0] + start).tolist()


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
