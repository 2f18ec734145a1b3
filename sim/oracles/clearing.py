"""PSP clearing: every capture's clearing entry (captured, not yet paid by the PSP's settlement)
is closed by its deadline: its settlement date plus ``ledger.psp_clearing_deadline`` (the check
Stripe describes for its ledger: clearing accounts net to zero within a deadline). The same check
whether the entry was opened by an automatic capture's booking or by a delayed capture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def psp_clearing_closed(world: "World") -> list[Violation]:
    ledger, now = world.ledger, world.env.now
    if ledger.clearing_open is None:
        return []
    return [
        Violation("psp_clearing_closed", f"order {order_id}: {amount} still in PSP clearing at {now:.3f}s, due closed "
                  f"by {due:.3f}s (no settlement booked against it in time)", [order_id], due)
        for order_id, (amount, due) in sorted(ledger.clearing_open.items()) if due < now
    ]
