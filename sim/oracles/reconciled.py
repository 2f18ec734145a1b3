"""Charged ⇔ succeeded after reconciliation (docs/design.md §9.11): once reconciliation has run, every
order the bank authorised (captured, or held when captures are delayed) is SUCCESS and every SUCCESS
order was authorised, except breaks
reconciliation put in a bucket for a human (by hand, unknown). A design without reconciliation
has no buckets: every mismatch is a violation. No order is FAILED while the PSP still awaits its
bank for it: the bank may yet capture it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.components.psp import ReplyCode
from sim.components.reconciliation import HAND, UNKNOWN, ReconciliationReport
from sim.domain.orders import OrderState, byte_column, column_chunks
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def charged_iff_succeeded(world: "World", recon: ReconciliationReport | None) -> list[Violation]:
    orders, truth = world.orders, world.truth
    flagged = recon.orders_in(HAND, UNKNOWN) if recon is not None else set()
    violations = []
    differ: list[int] = []
    for start, stop in column_chunks(len(orders)):  # a chunk at a time: bounded temporaries
        captured = byte_column(truth.holds, start, stop) > 0  # the captures when captured at authorisation
        succeeded = byte_column(orders.state, start, stop) == int(OrderState.SUCCESS)
        differ += (np.nonzero(captured != succeeded)[0] + start).tolist()
    for order_id in differ:
        charged = truth.holds_of(order_id) > 0
        succeeded = orders.state[order_id] == OrderState.SUCCESS
        if charged == succeeded or order_id in flagged:
            continue
        state = OrderState(orders.state[order_id]).name
        if charged:
            if truth.captures_of(order_id):
                at = truth.first_capture_at[order_id]
                message = (f"order {order_id} was captured at {at:.3f}s but is {state}, "
                           "and no reconciliation bucket holds it")
            else:
                at = None
                message = f"order {order_id} was authorised (a hold) but is {state}, and no reconciliation bucket holds it"
        else:
            message = f"order {order_id} is SUCCESS but the bank never captured it, and no reconciliation bucket holds it"
            at = None
        violations.append(Violation("charged_iff_succeeded", message, [order_id], at))
    return violations + _failed_while_undecided(world)


def _failed_while_undecided(world: "World") -> list[Violation]:
    """FAILED orders the PSP still holds PENDING (its bank has not answered): nobody may call them
    failed yet, the bank may still capture them."""
    orders, executor = world.orders, world.executor
    failed = [o for start, stop in column_chunks(len(orders))
              for o in (np.nonzero(byte_column(orders.state, start, stop) == int(OrderState.FAILED))[0] + start).tolist()]
    violations = []
    for order_id in failed:
        on_secondary = world.secondary_psp is not None and order_id in executor.on_secondary
        psp = world.secondary_psp if on_secondary else world.psp
        if psp.stored_code(executor.key_for(order_id)) == ReplyCode.PENDING:
            violations.append(Violation(
                "charged_iff_succeeded",
                f"order {order_id} is FAILED while the PSP still awaits its bank (it may yet be captured)",
                [order_id],
            ))
    return violations
