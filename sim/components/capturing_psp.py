"""Which PSP captured a payment: its refund and chargeback lines belong in that PSP's settlement
file (netted from that PSP's settlement, matched by reconciliation, which reads every PSP's file).

With a secondary PSP (dual-PSP routing), a payment the executor failed over is captured there;
anything else at the primary. The secondary's capture rows are read as they come (it captures a
small share: fail-overs), so the question costs a set lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.components.psp import OnReply, Psp
    from sim.components.psp_operations import PspOperations


class CapturingPsp:
    """``of(order)``: the secondary PSP when its settlement file has a capture of the order, else
    the primary."""

    def __init__(self, primary: "Psp", secondary: "Psp | None" = None) -> None:
        self.primary = primary
        self.secondary = secondary
        self._read = 0
        """Capture rows of the secondary's file read so far."""
        self._at_secondary: set[int] = set()
        """Orders the secondary PSP captured."""

    def of(self, order_id: int) -> "Psp":
        secondary = self.secondary
        if secondary is None:
            return self.primary
        settlement = secondary.settlement
        if len(settlement) > self._read:
            self._at_secondary.update(settlement.order_ids_from(self._read))
            self._read = len(settlement)
        return secondary if order_id in self._at_secondary else self.primary


class RefundsAtCapturingPsp:
    """The refund API of the PSP that captured each payment: a refund of a payment the secondary
    captured (a fail-over) is asked of the secondary, with its own idempotency store, latency,
    faults and counters (``secondary_psp.refund_requests``); any other of the primary. A refund
    sent to a PSP that never captured the payment would find nothing to give back."""

    def __init__(self, capturing: CapturingPsp, primary: "PspOperations", secondary: "PspOperations") -> None:
        self.capturing = capturing
        self.primary = primary
        self.secondary = secondary

    def refund(self, order_id: int, card_token: int, amount_minor: int, currency: int, key: int | None,
               on_reply: "OnReply") -> None:
        api = self.secondary if self.capturing.of(order_id) is self.capturing.secondary else self.primary
        api.refund(order_id, card_token, amount_minor, currency, key, on_reply)
