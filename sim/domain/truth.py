"""What really happened outside the platform: authorisation holds and captures at the issuing banks.

Only the banks write here and only the oracles read it; the platform never does. Columnar and
indexed by payment order id, so memory per order is a few bytes: the first capture's time is a
float32 offset from the order's creation (``created_at_of``; relative precision 6e-8 of the wait).
"""

from __future__ import annotations

from array import array
from typing import Callable, SupportsIndex

from sim.domain.amounts import AmountsByOrder


def _from_zero(_order_id: int) -> float:
    return 0.0


class _FirstCaptureAt:
    """``truth.first_capture_at[o]``: when order ``o`` was first captured (0.0 if never)."""

    __slots__ = ("_truth",)

    def __init__(self, truth: "GroundTruth") -> None:
        self._truth = truth

    def __len__(self) -> int:
        return len(self._truth.captures)

    def __getitem__(self, order_id: int) -> float:
        truth = self._truth
        if not truth.captures[order_id]:
            return 0.0
        return truth.created_at_of(order_id) + truth.first_capture_after_s[order_id]


class GroundTruth:
    """Successful captures per payment order, and money moved per currency.

    ``created_at_of(order_id)`` gives the order's creation time, the base of the stored capture
    times (the world passes its orders table's; a bank tested alone may keep the default, 0.0).
    """

    def __init__(self, created_at_of: Callable[[int], float] = _from_zero) -> None:
        self.created_at_of = created_at_of
        self.captures = bytearray()  # count per order id (saturates at 255)
        self.first_capture_after_s = array("f")  # first capture − order creation, seconds
        self.first_capture_at = _FirstCaptureAt(self)
        self.extra_capture_times: dict[int, list[float]] = {}
        self.captured_minor_by_currency: dict[int, int] = {}
        self.capture_count = 0
        self.holds_apart = False
        """True when captures are delayed: holds are then counted apart from captures (else every
        hold is captured at once and ``holds`` is ``captures``)."""
        self._holds = bytearray()
        self.held_minor_by_currency: dict[int, int] = {}
        self.released_minor_by_currency: dict[int, int] = {}
        self.hold_count = 0
        self.releases: dict[str, int] = {"void": 0, "expiry": 0}
        """Holds released without a capture of their whole amount, by why."""
        self.refunds = AmountsByOrder()
        """Refunds per order id: the amount of each (a refund executed twice appears twice)."""
        self.refunded_minor_by_currency: dict[int, int] = {}
        self.chargebacks = AmountsByOrder()
        """Disputes per order id: the amount given back (a won dispute adds the negative)."""
        self.charged_back_minor_by_currency: dict[int, int] = {}
        self.captured_minor_of = AmountsByOrder()
        """Delayed captures only: the amount of each capture per order (a partial capture takes less
        than the order's amount)."""

    def record_refund(self, order_id: int, amount_minor: int, currency: int) -> None:
        """The bank gave ``amount_minor`` back to the buyer for ``order_id``."""
        self.refunds.append(order_id, amount_minor)
        self.refunded_minor_by_currency[currency] = self.refunded_minor_by_currency.get(currency, 0) + amount_minor

    def record_chargeback(self, order_id: int, amount_minor: int, currency: int) -> None:
        """The bank gave ``amount_minor`` back to the buyer on a dispute (took it again when
        negative: the dispute was won)."""
        self.chargebacks.append(order_id, amount_minor)
        by_currency = self.charged_back_minor_by_currency
        by_currency[currency] = by_currency.get(currency, 0) + amount_minor

    def refunded_minor_of(self, order_id: int) -> int:
        return self.refunds.total_of(order_id)

    def captured_minor_of_order(self, order_id: int, order_amount_minor: int) -> int:
        """Everything captured for the order (``order_amount_minor`` per capture when captured at
        authorisation, where captures always take the whole amount)."""
        if self.holds_apart:
            return self.captured_minor_of.total_of(order_id)
        return self.captures_of(order_id) * order_amount_minor

    @property
    def holds(self) -> bytearray:
        """Authorisation holds per order id (saturating at 255): the captures when captured at once."""
        return self._holds if self.holds_apart else self.captures

    def holds_of(self, order_id: int) -> int:
        holds = self.holds
        return holds[order_id] if order_id < len(holds) else 0

    def record_hold(self, order_id: int, amount_minor: int, currency: int) -> None:
        """The issuer put ``amount_minor`` of the buyer's funds on hold for ``order_id``."""
        holds = self._holds
        if order_id >= len(holds):
            holds.extend(bytes(order_id + 1 - len(holds)))
        if holds[order_id] < 255:
            holds[order_id] += 1
        self.hold_count += 1
        self.held_minor_by_currency[currency] = self.held_minor_by_currency.get(currency, 0) + amount_minor

    def record_release(self, amount_minor: int, currency: int, why: str) -> None:
        """The issuer gave back ``amount_minor`` held and not captured (``why``: void or expiry)."""
        self.releases[why] += 1
        self.released_minor_by_currency[currency] = self.released_minor_by_currency.get(currency, 0) + amount_minor

    def open_held_minor(self, currency: int) -> int:
        """Held and neither captured nor released yet (0 when captured at authorisation)."""
        if not self.holds_apart:
            return 0
        return (self.held_minor_by_currency.get(currency, 0) - self.released_minor_by_currency.get(currency, 0)
                - self.captured_minor_by_currency.get(currency, 0))

    def record_capture(self, order_id: int, amount_minor: int, currency: int, now: float) -> None:
        """The bank moved ``amount_minor`` from the buyer for ``order_id`` at ``now``."""
        captures = self.captures
        missing = order_id + 1 - len(captures)
        if missing > 0:  # orders are captured about in order: the columns grow by a few slots
            captures.extend(bytes(missing))
            self.first_capture_after_s.extend(array("f", bytes(4 * missing)))
        at: SupportsIndex = order_id  # boxed once (see ``sim.domain.orders.Orders.transition``)
        count = captures[at]
        if count == 0:
            self.first_capture_after_s[at] = now - self.created_at_of(order_id)
        else:
            self.extra_capture_times.setdefault(order_id, []).append(now)
        if count < 255:
            captures[at] = count + 1
        self.capture_count += 1
        if self.holds_apart:
            self.captured_minor_of.append(order_id, amount_minor)
        by_currency = self.captured_minor_by_currency
        try:
            by_currency[currency] += amount_minor
        except KeyError:  # the first capture in this currency
            by_currency[currency] = amount_minor

    def captures_of(self, order_id: int) -> int:
        return self.captures[order_id] if order_id < len(self.captures) else 0
