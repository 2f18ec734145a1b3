"""The PSP's settlement file: one row per capture (day, order, amount, currency, capture time, plus
the idempotency key and admission time the oracles read), kept as compact columns.

A row is deduplicated against values known to be equal (it still has every field, see
:meth:`Settlement.column`): the key is stored only where it is not the order id, the amount and
currency only where they are not the order's, the day only where it is not the cut-off formula's
for the stored capture time (a clock skew); the admission time as a float32 offset back from the
capture (relative precision 6e-8); the capture time to the microsecond; the order id as an int16
offset from its chunk of 4096 rows' base, the chunk's median, set when the chunk is full (rows come
about in order id order; a late capture whose offset does not fit is kept as an exception)."""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING

import numpy as np

from sim.domain.microtimes import CHUNK, MicrosColumn
from sim.domain.orders import as_numpy

if TYPE_CHECKING:
    from sim.domain.orders import Orders

DAY_S = 86400.0

COLUMNS = ("day", "order_id", "amount_minor", "currency", "captured_at")
"""The columns of a row of the file, in order."""
_ODD = -32768
"""Order offset of a row whose order id is kept in ``_odd_order``."""
_MAX_OFFSET = 32767


class Settlement:
    """The settlement file of one PSP. ``orders``: the merchant's order table, storage only (the
    amounts and currencies that need no copy); None stores every row's money."""

    def __init__(self, cutoff_s: float, orders: "Orders | None") -> None:
        self.cutoff_s = cutoff_s
        self.orders = orders
        self._order_base = array("q")  # per full chunk of rows: the median of its order ids
        self._order = array("h")  # per row of a full chunk: order id − its chunk's base, or _ODD
        self._odd_order: dict[int, int] = {}  # row -> order id, where the offset does not fit
        self._open_orders = array("q")  # the order ids of the last chunk, until it is full
        self._at = MicrosColumn()
        self._odd_day: dict[int, int] = {}  # row -> day, where not floor((at − cut-off) / 1 day)
        self._odd_money: dict[int, tuple[int, int]] = {}  # row -> (amount, currency), where not the order's
        self._odd_key: dict[int, int] = {}  # row -> key, where the key is not the order id
        self._waited = array("f")  # captured_at − admitted_at, seconds

    def __len__(self) -> int:
        return len(self._order) + len(self._open_orders)

    def day_of(self, at_s: float, skew_s: float = 0.0) -> int:
        """The settlement day of a capture at ``at_s`` on a PSP clock ``skew_s`` off ours."""
        return math.floor((at_s + skew_s - self.cutoff_s) / DAY_S)

    def append(self, day: int, order_id: int, amount_minor: int, currency: int, captured_at: float, key: int,
               admitted_at: float) -> None:
        """Append one row."""
        row = len(self._order) + len(self._open_orders)
        opened = self._open_orders
        opened.append(order_id)
        if len(opened) == CHUNK:
            self._close_chunk()
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

    def shift_last(self, captured_at: float, waited_s: float) -> None:
        """Tests only: move the last row's capture time and its wait since admission."""
        self._at[-1], self._waited[-1] = captured_at, waited_s

    def column(self, name: str) -> np.ndarray:
        """One column as a new numpy array (end-of-run checks read columns, not millions of row
        tuples): ``day``, ``order_id``, ``amount_minor``, ``currency``, ``key`` (int64),
        ``captured_at`` or ``admitted_at`` (float64)."""
        if name not in COLUMNS and name not in ("key", "admitted_at"):
            raise KeyError(name)
        order_ids = self._order_ids()
        if name == "order_id":
            return order_ids
        if name == "key":
            for row, key in self._odd_key.items():
                order_ids[row] = key
            return order_ids
        if name == "captured_at":
            return self._at.to_numpy()
        if name == "admitted_at":
            return self._at.to_numpy() - np.array(self._waited, dtype=np.float64)
        if name == "day":
            days = np.floor((self._at.to_numpy() - self.cutoff_s) / DAY_S).astype(np.int64)
            for row, day in self._odd_day.items():
                days[row] = day
            return days
        orders, odd = self.orders, self._odd_money
        field = 0 if name == "amount_minor" else 1
        values = np.zeros(len(order_ids), dtype=np.int64)
        if orders is not None:
            known = np.nonzero((order_ids >= 0) & (order_ids < len(orders)))[0]  # rows of other orders are exceptions
            column = orders.amount_column() if field == 0 else as_numpy(orders.currency).astype(np.int64)
            values[known] = column[order_ids[known]]
        for row, money in odd.items():
            values[row] = money[field]
        return values

    def _close_chunk(self) -> None:
        """Store the full last chunk as int16 offsets from its median (exceptions apart)."""
        first_row = len(self._order)
        ids = np.frombuffer(self._open_orders, dtype=np.int64)
        base = int(np.sort(ids)[len(ids) // 2])
        offsets = ids - base
        far = np.abs(offsets) > _MAX_OFFSET
        offsets[far] = _ODD
        self._order.frombytes(offsets.astype(np.int16).tobytes())
        for index in np.nonzero(far)[0].tolist():
            self._odd_order[first_row + index] = int(ids[index])
        self._order_base.append(base)
        self._open_orders = array("q")

    def _order_ids(self) -> np.ndarray:
        """Every row's order id (int64, a new array)."""
        full = len(self._order)
        order_ids = np.empty(full + len(self._open_orders), dtype=np.int64)
        if full:
            order_ids[:full] = np.repeat(np.frombuffer(self._order_base, dtype=np.int64), CHUNK)
            order_ids[:full] += as_numpy(self._order)
        for row, order_id in self._odd_order.items():
            order_ids[row] = order_id
        order_ids[full:] = np.frombuffer(self._open_orders, dtype=np.int64) if self._open_orders else 0
        return order_ids

    def rows(self) -> list[tuple[int, int, int, int, float]]:
        """Every row, in capture order: (day, order_id, amount_minor, currency, captured_at)."""
        return list(zip(*(self.column(name).tolist() for name in COLUMNS)))

    def keys(self) -> list[tuple[int, float]]:
        """Per row: the idempotency key of the charge and when the PSP admitted that request."""
        return list(zip(self.column("key").tolist(), self.column("admitted_at").tolist()))
