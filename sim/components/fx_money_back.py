"""The rate the ledger booked each refund and chargeback of a converted payment at, kept until the
PSP settles the line, so the settlement's FX difference is booked against the ledger's own entry.

A refund or dispute is booked when we learn of it (the refund's confirmation, the PSP's notice),
converted at the rate of that moment; the PSP nets its line from a settlement days later, at the
settlement's rate. Each booking is kept per (line type, order) as (signed amount as the PSP lists
it, fee, rate) and taken by the first settled line of the same amount and fee. A line settled
before the ledger booked it (a refund's answer still on its way at the cut-off, a refund booked by
reconciliation later) is kept the other way round, so the booking takes it and the ledger books the
difference then. Only converted payments' refunds and chargebacks are kept: a few per cent of
payments, each dropped when matched.
"""

from __future__ import annotations

Entry = tuple[int, int, float]
"""(amount as the PSP lists it: negative when money goes back, fee, rate)."""


class FxMoneyBack:
    """Refund and chargeback lines of converted payments waiting for their other half: booked by
    the ledger and not settled yet, or settled and not booked yet."""

    def __init__(self) -> None:
        self._booked: dict[tuple[str, int], list[Entry]] = {}
        """(type, order) -> bookings not settled yet, each with the rate the ledger booked it at."""
        self._settled: dict[tuple[str, int], list[Entry]] = {}
        """(type, order) -> lines settled before the ledger booked them, each with the rate paid."""

    def __len__(self) -> int:
        return sum(map(len, self._booked.values())) + sum(map(len, self._settled.values()))

    def booked(self, kind: str, order_id: int, amount_minor: int, fee_minor: int, rate: float) -> float | None:
        """The ledger booked a line at ``rate``: the rate it was settled at if it was settled
        already (the difference is due now), else None (kept for its settlement)."""
        return _meet(self._settled, self._booked, kind, order_id, amount_minor, fee_minor, rate)

    def settled(self, kind: str, order_id: int, amount_minor: int, fee_minor: int, rate: float) -> float | None:
        """The PSP settled a line at ``rate``: the rate the ledger booked it at, or None if it has
        not booked it yet (kept for the booking)."""
        return _meet(self._booked, self._settled, kind, order_id, amount_minor, fee_minor, rate)


def _meet(other: dict[tuple[str, int], list[Entry]], mine: dict[tuple[str, int], list[Entry]], kind: str,
          order_id: int, amount_minor: int, fee_minor: int, rate: float) -> float | None:
    """Take the first entry of ``other`` with this amount and fee and return its rate; none: keep
    this one in ``mine`` and return None."""
    key = (kind, order_id)
    waiting = other.get(key)
    if waiting:
        for index, (amount, fee, its_rate) in enumerate(waiting):
            if amount == amount_minor and fee == fee_minor:
                del waiting[index]
                if not waiting:
                    del other[key]
                return its_rate
    mine.setdefault(key, []).append((amount_minor, fee_minor, rate))
    return None
