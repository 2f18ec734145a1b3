"""Completeness both ways: every capture, refund, chargeback and payout outside (at the bank, the
PSP or the payout provider) has its ledger event, and every ledger event its external counterpart.

It runs after reconciliation, whose fixes post what the ledger missed (a success event that never
reached the ledger is booked by reconciliation: the design's way to completeness). Allowed for,
not violations: events whose news is still on its way (a dispute notice in flight, a refund whose
answer we have not had or gave up waiting for: reconciliation's business), extra captures and
their refunds (never booked: no_double_charge and reconciliation see them), captures of orders
that are not SUCCESS (charged but failed), and orders reconciliation left in a bucket for a human.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.components.reconciliation import HAND, UNKNOWN, ReconciliationReport
from sim.components.refunds import FAILED, GAVE_UP, REFUNDED, WAITING
from sim.domain.orders import OrderState, byte_column, column_chunks
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World

_SUCCESS = int(OrderState.SUCCESS)


def ledger_complete(world: "World", recon: ReconciliationReport | None = None) -> list[Violation]:
    return _captures(world, recon) + _refunds(world) + _chargebacks(world) + _payouts(world)


def _captures(world: "World", recon: ReconciliationReport | None) -> list[Violation]:
    """SUCCESS orders the bank authorised have a booking; booked orders were authorised (but for
    orders reconciliation left to a human)."""
    orders, truth, ledger = world.orders, world.truth, world.ledger
    flagged = recon.orders_in(HAND, UNKNOWN) if recon is not None else set()
    missing: list[int] = []
    unauthorised: list[int] = []
    for start, stop in column_chunks(len(orders)):  # a chunk at a time: bounded temporaries
        held = byte_column(truth.holds, start, stop) > 0
        booked = byte_column(ledger.recorded, start, stop) > 0
        success = byte_column(orders.state, start, stop) == _SUCCESS
        missing += (np.nonzero(held & success & ~booked)[0] + start).tolist()
        unauthorised += (np.nonzero(booked & ~held)[0] + start).tolist()
    violations = [
        Violation("ledger_complete", f"order {o}: the bank took the payment, the order is SUCCESS, the ledger has no "
                  "booking of it", [o])
        for o in missing if o not in flagged
    ]
    violations += [
        Violation("ledger_complete", f"order {o}: booked in the ledger, never authorised at the bank", [o])
        for o in unauthorised if o not in flagged
    ]
    return violations


def _refunds(world: "World") -> list[Violation]:
    """Per order, the refunds the bank paid (less those of extra captures) equal those the ledger
    booked, give or take refunds whose outcome we do not know yet."""
    refunds, truth, ledger = world.refunds, world.truth, world.ledger
    if refunds is None:
        return []
    unknown: dict[int, int] = {}
    extra: dict[int, int] = {}
    declined: dict[int, int] = {}
    for refund_id, (order_id, amount) in refunds.requests.items():
        status = refunds.status[refund_id]
        if status in (WAITING, GAVE_UP):
            unknown[order_id] = unknown.get(order_id, 0) + amount
        elif status == REFUNDED and refund_id < 0:
            extra[order_id] = extra.get(order_id, 0) + amount
        elif status == FAILED:
            declined[order_id] = declined.get(order_id, 0) + amount
    violations = []
    for order_id in sorted(set(truth.refunds) | set(ledger.refunded_minor_of)):
        paid = sum(truth.refunds.get(order_id, ())) - extra.get(order_id, 0)
        booked = ledger.refunded_minor_of.get(order_id, 0)
        slack = unknown.get(order_id, 0)
        if paid > booked + slack:
            violations.append(Violation("ledger_complete", f"order {order_id}: the bank refunded {paid}, the ledger "
                                        f"booked {booked} (refunds without a ledger event)", [order_id]))
        elif booked > paid + slack:
            why = f", {declined[order_id]} of it declined by the PSP" if order_id in declined else ""
            violations.append(Violation("ledger_complete", f"order {order_id}: the ledger booked refunds of {booked}, "
                                        f"the bank refunded {paid}{why} (ledger events without a refund)", [order_id]))
    return violations


def _chargebacks(world: "World") -> list[Violation]:
    """Per order, what disputes took back at the bank equals what the ledger booked, but for
    notices still on their way."""
    chargebacks, truth, ledger = world.chargebacks, world.truth, world.ledger
    if chargebacks is None:
        return []
    violations = []
    for order_id in sorted(set(truth.chargebacks) | set(ledger.charged_back_minor_of)):
        taken = sum(truth.chargebacks.get(order_id, ())) - chargebacks.unnoticed_of.get(order_id, 0)
        booked = ledger.charged_back_minor_of.get(order_id, 0)
        if taken != booked:
            violations.append(Violation("ledger_complete", f"order {order_id}: disputes took back {taken} at the bank, "
                                        f"the ledger booked {booked}", [order_id]))
    return violations


def _payouts(world: "World") -> list[Violation]:
    """Each transfer in the provider's report is a payout the ledger has not returned to the
    seller; each payout the ledger booked as paid has a transfer."""
    payouts, provider = world.payouts, world.payout_provider
    if payouts is None or provider is None:
        return []
    sent = {transfer.payout_id for transfer in provider.report}
    violations = []
    for payout_id, payout in sorted(payouts.payouts.items()):
        if payout.outcome == "paid" and payout_id not in sent:
            violations.append(Violation("ledger_complete", f"payout {payout_id} (seller {payout.seller}): booked as "
                                        "paid, the provider made no transfer"))
        elif payout.outcome == "returned" and payout_id in sent:
            violations.append(Violation("ledger_complete", f"payout {payout_id} (seller {payout.seller}): the provider "
                                        "transferred it, the ledger returned it to the seller's balance"))
    return violations
