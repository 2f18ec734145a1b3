"""Reconciliation of the money that goes back: the PSP's refund and chargeback lines against the
ledger's bookings, per order and by amount (the rule the end-of-run and the scheduled runs share).

Refunds (the PSP's refund lines, less those refunding extra captures, which the ledger never
booked, against the refunds the ledger booked):

- equal: matched;
- a refund of ours still waiting for the PSP's answer: a **timing** difference;
- the PSP refunded more: refunds of ours whose outcome we gave up learning and that the PSP's file
  shows made are **auto-fixed** (marked refunded, booked in the ledger and the wallet); any rest,
  refunded under an id we never issued or after we took the refund for failed, is **unknown**
  (money left that nobody booked: a refund retried under a new id, a bug);
- the ledger booked more: **by hand** (a refund booked that the PSP never made: ask for it again,
  or reverse the booking).

Chargebacks (the PSP's dispute lines, net of won disputes, against what the ledger booked):

- equal: matched;
- the difference is a notice still on its way: **timing**;
- the PSP took back more than the ledger booked and notices on their way explain: the dispute
  the PSP made and nobody booked is **auto-fixed** from the PSP's file (booked through the ledger
  with the dispute fees of its lines not booked either, taken back from the seller's wallet);
- the ledger booked more than the PSP took back: **by hand** (a dispute booked that the PSP never
  made, or a won dispute not booked back: a person looks at the case).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from sim.components.psp_settlement import CAPTURE, REFUND, Line
from sim.components.reconciliation import AUTO, HAND, UNKNOWN, Break, ReconciliationReport
from sim.components.refunds import FAILED, GAVE_UP, REFUNDED, WAITING
from sim.domain.distinct import distinct
from sim.domain.intmap import IntMap

if TYPE_CHECKING:
    from sim.components.chargebacks import Chargebacks
    from sim.components.ledger import Ledger
    from sim.components.refunds import Refunds
    from sim.components.wallet import Wallet

MATCHED, TIMING = "matched", "timing"
MONEY_BACK_BREAKS: dict[str, tuple[str, str]] = {
    "refund_not_booked": (AUTO, HAND),
    "refund_not_requested": (UNKNOWN, UNKNOWN),
    "refund_booked_not_made": (HAND, HAND),
    "chargeback_not_booked": (AUTO, HAND),
    "chargeback_booked_not_made": (HAND, HAND),
}
"""The breaks of the money that goes back: kind -> (its bucket with auto-fix on, with it off)."""


def bucket_of(kind: str, auto_fix: bool) -> str:
    """The bucket of a refund or chargeback break of ``kind``."""
    return MONEY_BACK_BREAKS[kind][0 if auto_fix else 1]


class MoneyBack:
    """Per order, what the PSP's lines gave back (refunds; chargebacks net of won disputes) and the
    keys of its refund lines, accumulated line by line."""

    def __init__(self) -> None:
        self.refunded = IntMap()
        self.charged_back = IntMap()
        self.dispute_fees = IntMap()
        """Per order, the fees of its chargeback lines."""
        self._refund_key = IntMap()
        """Per refunded order with one refund key, that key (most orders)."""
        self._refund_keys: dict[int, set[int]] = {}
        """Per refunded order with more than one refund key, its keys."""

    def add(self, line: Line) -> None:
        """Count one refund or chargeback line (refunds of extra captures, keys below 0, aside)."""
        order_id = line.order_id
        if line.type == REFUND:
            if line.key < 0:
                return
            self.refunded[order_id] = (self.refunded.get(order_id) or 0) - line.amount_minor
            many = self._refund_keys.get(order_id)
            if many is not None:
                many.add(line.key)
                return
            held = self._refund_key.get(order_id)
            if held is None:
                self._refund_key.put(order_id, line.key)
            elif held != line.key:
                self._refund_key.discard(order_id)
                self._refund_keys[order_id] = {held, line.key}
        else:
            self.charged_back[order_id] = (self.charged_back.get(order_id) or 0) - line.amount_minor
            if line.fee_minor:
                self.dispute_fees[order_id] = (self.dispute_fees.get(order_id) or 0) + line.fee_minor

    def refund_keys_of(self, order_id: int) -> set[int]:
        """The keys of ``order_id``'s refund lines (a new set; empty if none)."""
        many = self._refund_keys.get(order_id)
        if many is not None:
            return set(many)
        held = self._refund_key.get(order_id)
        return set() if held is None else {held}


class RefundsByOrder:
    """Order -> [(refund id, amount)] of the refunds our API accepted for it, in request order
    (extra captures' refunds, ids below 0, aside): three sorted int64 columns, not a dict of lists."""

    def __init__(self, refunds: "Refunds | None") -> None:
        ids, orders, amounts = refunds.requests.columns() if refunds is not None else (np.zeros(0, np.int64),) * 3
        ours = ids >= 0
        ids, orders, amounts = ids[ours], orders[ours], amounts[ours]
        by_order = np.argsort(orders, kind="stable")
        self._ids, self._orders, self._amounts = ids[by_order], orders[by_order], amounts[by_order]

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, order_id: int, default: "list[tuple[int, int]] | None" = None) -> list[tuple[int, int]]:
        low = int(np.searchsorted(self._orders, order_id, side="left"))
        high = int(np.searchsorted(self._orders, order_id, side="right"))
        if low == high:
            return [] if default is None else default
        return list(zip(self._ids[low:high].tolist(), self._amounts[low:high].tolist()))


def refunds_by_order(refunds: "Refunds | None") -> RefundsByOrder:
    """Order -> (refund id, amount) of the refunds our API accepted for it (extra captures' aside)."""
    return RefundsByOrder(refunds)


def _orders_of(*maps: IntMap) -> Iterator[int]:
    """The order ids of any of ``maps``, ascending, once each (read a slice at a time)."""
    ids = distinct(np.concatenate([np.zeros(0, np.int64)] + [
        np.fromiter(m.keys(), dtype=np.int64, count=len(m)) for m in maps]))
    for start in range(0, len(ids), _IDS_AT_ONCE):
        yield from ids[start:start + _IDS_AT_ONCE].tolist()


_IDS_AT_ONCE = 1 << 16


def match_refunds(order_id: int, at_psp: int, keys: set[int], ours: list[tuple[int, int]], ledger: "Ledger",
                  wallet: "Wallet", refunds: "Refunds | None", auto_fix: bool, offset: int = 0,
                  apply: bool = True) -> "str | list[Break]":
    """MATCHED, TIMING or the breaks of one order's refunds: ``at_psp`` refunded by the PSP's lines
    under ``keys``, ``ours`` the refunds our API accepted for the order, ``offset`` a difference
    already reported (not reported again); ``apply`` False: say what would be fixed, fix nothing."""
    booked = ledger.refunded_minor_of.get(order_id, 0)
    gap = at_psp - booked - offset
    if gap == 0:
        return MATCHED
    if refunds is not None and any(refunds.status[refund_id] == WAITING for refund_id, _amount in ours):
        return TIMING
    if gap < 0:
        return [Break("refund_booked_not_made", HAND, order_id, f"the ledger booked refunds of {booked}, the PSP "
                      f"refunded {at_psp}: ask the PSP again or reverse the booking", -gap)]
    breaks = []
    fixable = [] if refunds is None else [(refund_id, amount) for refund_id, amount in ours
                                          if refunds.status[refund_id] == GAVE_UP and refund_id in keys]
    fixed = 0
    for refund_id, amount in fixable:
        if fixed + amount > gap:
            break
        fixed += amount
        if auto_fix and apply:
            refunds.status[refund_id] = REFUNDED
            ledger.post_reversal(order_id, amount, "refund")
            wallet.take_back(order_id, amount)
    if fixed:
        breaks.append(Break("refund_not_booked", bucket_of("refund_not_booked", auto_fix), order_id,
                            f"the PSP made refunds of {fixed} we gave up on: booked", fixed))
    if gap > fixed:
        failed = any(refunds.status[refund_id] == FAILED for refund_id, _amount in ours) if refunds else False
        why = " (one of ours failed: a retry under a new id?)" if failed else ""
        breaks.append(Break("refund_not_requested", UNKNOWN, order_id, f"the PSP refunded {at_psp}, the ledger "
                            f"booked {booked}: {gap - fixed} refunded that no refund of ours explains{why}", gap - fixed))
    return breaks


def match_chargebacks(order_id: int, at_psp: int, ledger: "Ledger", chargebacks: "Chargebacks | None",
                      offset: int = 0, fees_at_psp: int = 0, wallet: "Wallet | None" = None, auto_fix: bool = False,
                      apply: bool = True) -> "str | list[Break]":
    """MATCHED, TIMING or the break of one order's chargebacks: ``at_psp`` taken back by the PSP's
    lines (net of won disputes) with ``fees_at_psp`` in dispute fees; ``offset``, ``auto_fix`` and
    ``apply`` as for refunds. A dispute nobody booked is booked (``auto_fix``), amount and fees."""
    booked = ledger.charged_back_minor_of.get(order_id, 0)
    gap = at_psp - booked - offset
    if gap == 0:
        return MATCHED
    in_flight = chargebacks.unnoticed_of.get(order_id, 0) if chargebacks is not None else 0
    if chargebacks is not None and gap == in_flight:
        return TIMING
    rest = gap - in_flight
    if rest < 0:
        return [Break("chargeback_booked_not_made", HAND, order_id, f"the ledger booked disputes of {booked}, the PSP "
                      f"took back {at_psp}: a person looks at the case", -rest)]
    fees_in_flight = chargebacks.unnoticed_fees_of.get(order_id, 0) if chargebacks is not None else 0
    fee = max(0, fees_at_psp - ledger.chargeback_fees_of.get(order_id, 0) - fees_in_flight)
    if auto_fix and apply and wallet is not None:
        ledger.post_chargeback(order_id, rest, fee)
        wallet.take_back(order_id, rest)
    fixed = auto_fix and wallet is not None
    return [Break("chargeback_not_booked", bucket_of("chargeback_not_booked", fixed), order_id,
                  f"the PSP took back {at_psp} in disputes, the ledger booked {booked}: {rest} and a fee of {fee} "
                  + ("booked from the PSP's report" if fixed else "to book from the PSP's report"), rest)]


def reconcile_money_back(lines: "Iterable[Line]", ledger: "Ledger", wallet: "Wallet", refunds: "Refunds | None",
                         chargebacks: "Chargebacks | None", auto_fix: bool, report: ReconciliationReport) -> None:
    """The end-of-run check: every refund and chargeback line of the PSPs' files (``lines``; capture
    lines are skipped) against the ledger, per order, adding breaks and timing differences to ``report``."""
    given_back = MoneyBack()
    for line in lines:
        if line.type != CAPTURE:
            given_back.add(line)
    ours = refunds_by_order(refunds)
    for order_id in _orders_of(given_back.refunded, ledger.refunded_minor_of):
        _count(report, match_refunds(order_id, given_back.refunded.get(order_id, 0),
                                     given_back.refund_keys_of(order_id), ours.get(order_id, []),
                                     ledger, wallet, refunds, auto_fix))
    for order_id in _orders_of(given_back.charged_back, ledger.charged_back_minor_of):
        _count(report, match_chargebacks(order_id, given_back.charged_back.get(order_id, 0), ledger, chargebacks,
                                         fees_at_psp=given_back.dispute_fees.get(order_id, 0), wallet=wallet,
                                         auto_fix=auto_fix))


def _count(report: ReconciliationReport, found: "str | list[Break]") -> None:
    if found == TIMING:
        report.timing += 1
    elif found != MATCHED:
        report.breaks.extend(found)
