"""The PSP's settlement file: one line per capture, refund and chargeback, each with its PSP day,
order, type, amount (negative for money going back), fee, currency and settlement date, plus the
idempotency key (and, for captures, the admission time the oracles read).

Captures are millions of rows, kept as compact columns; refunds and chargebacks are a few per
cent of them, kept as columns too (:class:`Adjustments`, read back as :class:`Line` tuples).
:meth:`Settlement.column` reads the capture columns, :meth:`Settlement.lines` the whole file.

A row is deduplicated against values known to be equal (it still has every field, see
:meth:`Settlement.column`): the key is stored only where it is not the order id, the amount and
currency only where they are not the order's, the day only where it is not the cut-off formula's
for the stored capture time (a clock skew); the order id as an int16 offset from its row's drift
(:class:`sim.domain.drift.DriftColumn`); the admission time as a float32 offset back from the
capture (relative precision 6e-8); the capture time to the microsecond."""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Iterator, NamedTuple

import numpy as np

from sim.domain.drift import DriftColumn
from sim.domain.microtimes import MicrosColumn
from sim.domain.orders import as_numpy, pushed

if TYPE_CHECKING:
    from sim.components.fees import Fees
    from sim.domain.orders import Orders

DAY_S = 86400.0

COLUMNS = ("day", "order_id", "amount_minor", "currency", "captured_at")
"""The columns of a capture row (:meth:`Settlement.rows`), in order."""

CAPTURE, REFUND, CHARGEBACK = "capture", "refund", "chargeback"
"""Line types. A chargeback line takes a disputed amount back (negative, with the dispute fee); a
won dispute is a chargeback line giving it back (positive, no fee)."""


class Line(NamedTuple):
    """One line of the settlement file, as the PSP lists it."""

    day: int
    """The PSP's day (by its clock, after its daily cut-off) the line belongs to."""
    order_id: int
    type: str
    amount_minor: int
    """Signed: captures positive, refunds and chargebacks negative (a won dispute positive)."""
    fee_minor: int
    """What the PSP charges for the line (its capture fee, a dispute fee; none on refunds)."""
    currency: int
    settles_on: int
    """The PSP day at whose cut-off the settlement paying the line is made (``day + 1 + settlement_days``)."""
    at_s: float
    """When the PSP made it (our clock)."""
    key: int
    """The idempotency key (the charge's or capture's key; a refund's refund id; a dispute: the order id)."""


class Adjustments:
    """The refund and chargeback lines of a settlement file, in the order the PSP made them: a
    sequence of :class:`Line` kept as columns (about 40 bytes a line, not a tuple of nine objects).
    ``settles_on`` is not stored: it is ``day + 1 + settlement_days``, as the file computes it."""

    __slots__ = ("settlement_days", "_kinds", "_kind", "_day", "_order", "_amount", "_fee", "_currency", "_at", "_key")

    def __init__(self, settlement_days: int = 0) -> None:
        self.settlement_days = settlement_days
        self._kinds: list[str] = [REFUND, CHARGEBACK]  # line type -> its code, the position here
        self._kind = bytearray()
        self._day = array("i")  # each widens itself to 64 bits for a value beyond ±2^31
        self._order = array("i")
        self._amount = array("i")
        self._fee = array("i")
        self._currency = bytearray()
        self._at = array("d")  # exact: the time the line was made
        self._key = array("q")

    def __len__(self) -> int:
        return len(self._kind)

    def append(self, line: Line) -> None:
        """Add ``line`` (its ``settles_on`` must be the file's: it is derived, not stored)."""
        if line.settles_on != line.day + 1 + self.settlement_days:
            raise ValueError(f"{line}: settles_on is not day + 1 + {self.settlement_days}")
        kinds = self._kinds
        if line.type not in kinds:
            kinds.append(line.type)
        self._kind.append(kinds.index(line.type))
        self._day = pushed(self._day, line.day)
        self._order = pushed(self._order, line.order_id)
        self._amount = pushed(self._amount, line.amount_minor)
        self._fee = pushed(self._fee, line.fee_minor)
        self._currency.append(line.currency)
        self._at.append(line.at_s)
        self._key.append(line.key)

    def __getitem__(self, index: int) -> Line:
        day = self._day[index]
        return Line(day, self._order[index], self._kinds[self._kind[index]], self._amount[index], self._fee[index],
                    self._currency[index], day + 1 + self.settlement_days, self._at[index], self._key[index])

    def __iter__(self) -> Iterator[Line]:
        """The lines one at a time (never all of them as tuples at once)."""
        for index in range(len(self._kind)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        """Equal to the same lines, as this or as any sequence of tuples."""
        if isinstance(other, Adjustments):
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Adjustments({list(self)!r})"


def _patched(column: np.ndarray, odd: dict[int, int], start: int, stop: int) -> None:
    """Write the exceptions ``odd`` (row -> value) of rows ``start:stop`` into ``column`` (those rows)."""
    for row, value in odd.items():
        if start <= row < stop:
            column[row - start] = value


class Settlement:
    """The settlement file of one PSP. ``orders``: the merchant's order table, storage only (the
    amounts and currencies that need no copy); None stores every row's money."""

    def __init__(self, cutoff_s: float, orders: "Orders | None", settlement_days: int = 0) -> None:
        self.cutoff_s = cutoff_s
        self.orders = orders
        self.settlement_days = settlement_days
        """Days after a PSP day closes that its lines are paid (T+N)."""
        self.fees: "Fees | None" = None
        """The PSP's fee schedule (set by :meth:`charge_fees`); None: captures cost no fee."""
        self.adjustments = Adjustments(settlement_days)
        """Refund and chargeback lines, in the order the PSP made them."""
        self._order = DriftColumn()  # about in row order: int16 offsets
        self._at = MicrosColumn()
        self._odd_day: dict[int, int] = {}  # row -> day, where not floor((at − cut-off) / 1 day)
        self._odd_money: dict[int, tuple[int, int]] = {}  # row -> (amount, currency), where not the order's
        self._odd_key: dict[int, int] = {}  # row -> key, where the key is not the order id
        self._waited = array("f")  # captured_at − admitted_at, seconds

    def __len__(self) -> int:
        return len(self._order)

    def day_of(self, at_s: float, skew_s: float = 0.0) -> int:
        """The settlement day of a capture at ``at_s`` on a PSP clock ``skew_s`` off ours."""
        return math.floor((at_s + skew_s - self.cutoff_s) / DAY_S)

    def charge_fees(self, fees: "Fees") -> None:
        """Charge each capture the PSP's fee (fixed + percentage of the captured amount)."""
        self.fees = fees

    def settles_on(self, day: int) -> int:
        """The PSP day at whose cut-off the lines of ``day`` are paid."""
        return day + 1 + self.settlement_days

    def adjust(self, kind: str, day: int, order_id: int, amount_minor: int, fee_minor: int, currency: int,
               at_s: float, key: int) -> None:
        """Append a refund or chargeback line (``amount_minor`` signed as the PSP moves it: negative
        when the money goes back to the buyer)."""
        self.adjustments.append(Line(day, order_id, kind, amount_minor, fee_minor, currency, self.settles_on(day),
                                     at_s, key))

    def append(self, day: int, order_id: int, amount_minor: int, currency: int, captured_at: float, key: int,
               admitted_at: float) -> None:
        """Append one row."""
        row = len(self._order)
        self._order.append(order_id)
        at = self._at.append(captured_at)
        if day != math.floor((at - self.cutoff_s) / DAY_S):
            self._odd_day[row] = day
        orders = self.orders
        if orders is None or not 0 <= order_id < len(orders.state) \
                or orders.amount_minor[order_id] != amount_minor or orders.currency[order_id] != currency:
            self._odd_money[row] = (amount_minor, currency)
        if key != order_id:
            self._odd_key[row] = key
        self._waited.append(at - admitted_at)  # from the capture time as stored

    def order_ids(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The order ids of the capture rows ``start:stop`` (int64, new array)."""
        return self._order.to_numpy(start, stop)

    def order_ids_from(self, row: int) -> list[int]:
        """The order ids of the capture rows from ``row`` on."""
        return self._order.tolist(row)

    def shift_last(self, captured_at: float, waited_s: float) -> None:
        """Tests only: move the last row's capture time and its wait since admission."""
        self._at[-1], self._waited[-1] = captured_at, waited_s

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """One column of the capture lines as a new numpy array (end-of-run checks read columns, not
        millions of row tuples): ``day``, ``order_id``, ``amount_minor``, ``currency``, ``key``,
        ``fee_minor``, ``settles_on`` (int64), ``captured_at`` or ``admitted_at`` (float64); rows
        ``start:stop`` when given (a bounded read)."""
        if name not in COLUMNS and name not in ("key", "admitted_at", "fee_minor", "settles_on"):
            raise KeyError(name)
        start, stop, _ = slice(start, stop).indices(len(self._order))
        if name == "settles_on":
            return self.column("day", start, stop) + 1 + self.settlement_days
        if name == "fee_minor":
            amounts, fees = self.column("amount_minor", start, stop), self.fees
            if fees is None:
                return np.zeros(len(amounts), dtype=np.int64)
            return fees.fixed_minor + (amounts * fees.rate).astype(np.int64)  # Fees.psp_fee_minor, per row
        if name == "captured_at":
            return self._at.to_numpy(start, stop)
        if name == "admitted_at":
            return self._at.to_numpy(start, stop) - np.array(self._waited[start:stop], dtype=np.float64)
        if name == "day":
            days = np.floor((self._at.to_numpy(start, stop) - self.cutoff_s) / DAY_S).astype(np.int64)
            _patched(days, self._odd_day, start, stop)
            return days
        order_ids = self._order.to_numpy(start, stop)
        if name == "order_id":
            return order_ids
        if name == "key":
            _patched(order_ids, self._odd_key, start, stop)
            return order_ids
        orders, odd = self.orders, self._odd_money
        field = 0 if name == "amount_minor" else 1
        values: np.ndarray = np.zeros(len(order_ids), dtype=np.int64)
        if orders is not None:
            known = np.nonzero((order_ids >= 0) & (order_ids < len(orders)))[0]  # rows of other orders are exceptions
            column = as_numpy(orders.amount_minor) if field == 0 else as_numpy(orders.currency)
            values[known] = column[order_ids[known]]
        for row, money in odd.items():
            if start <= row < stop:
                values[row - start] = money[field]
        return values

    def rows(self) -> list[tuple[int, int, int, int, float]]:
        """Every capture row, in capture order: (day, order_id, amount_minor, currency, captured_at)."""
        return list(zip(*(self.column(name).tolist() for name in COLUMNS)))

    def lines(self) -> list[Line]:
        """The whole file: every capture, refund and chargeback line, in the order the PSP made them."""
        names = ("day", "order_id", "amount_minor", "fee_minor", "currency", "settles_on", "captured_at", "key")
        captures = [Line(day, order_id, CAPTURE, amount, fee, currency, settles_on, at, key)
                    for day, order_id, amount, fee, currency, settles_on, at, key
                    in zip(*(self.column(name).tolist() for name in names))]
        return sorted(captures + list(self.adjustments), key=lambda line: (line.at_s, line.order_id))

    def keys(self) -> list[tuple[int, float]]:
        """Per row: the idempotency key of the charge and when the PSP admitted that request."""
        return list(zip(self.column("key").tolist(), self.column("admitted_at").tolist()))
