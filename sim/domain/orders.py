"""The payment service's database: checkouts (payment events) and payment orders, columnar.

Ids are sequential integers and every column is an ``array``/``bytearray``, so a finished order
costs about fifteen bytes and no Python object. Columns start narrow and widen themselves the first
time a value does not fit (``seller``, ``amount_minor``, ``buyer``, ``card_token``), so readers
must fetch a column from its table each time rather than keep a reference to it.

What an order shares with its checkout is stored once: an order's creation time is its
checkout's (an order created at another time is kept as an exception), and its cart line is its
checkout's first line plus its place in the checkout (the ``line`` is ground truth — the buyer's
cart line an order was created for — read only by the oracles to see client-level duplicates).
``finished_at`` is stored as a float32 offset from creation: exact to a relative 6e-8 of the
order's latency (a 10 s latency to within a microsecond).

An order does not store its checkout: checkouts hand out contiguous, growing ranges of order ids
(``Checkouts.first_order``), so ``orders.checkout_of(o)`` bisects that column (C ``bisect``,
O(log n)); numpy readers use :meth:`Orders.checkout_column` (``np.searchsorted``). An order added
to another checkout than bisection finds is kept as an exception. Checkout creation times are kept
to the microsecond (:class:`sim.domain.microtimes.MicrosColumn`); an order created within half a
microsecond of its checkout shares its time.
"""

from __future__ import annotations

from array import array
import math
from bisect import bisect_right
from enum import IntEnum
from typing import Any, Callable, Final, Iterable, SupportsIndex

import numpy as np

from sim.domain.microtimes import CHUNK, CHUNK_BITS, MicrosColumn, to_micros

class OrderState(IntEnum):
    NOT_STARTED = 0
    EXECUTING = 1
    PENDING = 2
    UNKNOWN = 3
    SUCCESS = 4
    FAILED = 5
    DEAD_LETTERED = 6


TERMINAL_STATES = frozenset({OrderState.SUCCESS, OrderState.FAILED, OrderState.DEAD_LETTERED})
_TERMINAL: Final = bytes(1 if s in TERMINAL_STATES else 0 for s in range(len(OrderState)))

_SUCCESS: Final = int(OrderState.SUCCESS)
_FAILED_STATE: Final = int(OrderState.FAILED)

WALLET_UPDATED: Final = 1
LEDGER_UPDATED: Final = 2
BOTH_UPDATED: Final = WALLET_UPDATED | LEDGER_UPDATED
HANDED_ON: Final = 4
"""Outbox column: the order's record reached the payment-orders topic (the broker acked it)."""

_WIDER = {"H": "i", "i": "q", "b": "h", "h": "i"}


def widened(column: array, value: int) -> array:
    """``column`` copied into the next wider typecode until ``value`` fits, ``value`` appended
    (the upgrade path of a narrow column; ``OverflowError`` beyond 64 bits)."""
    code: str = column.typecode
    while True:
        code = _WIDER.get(code, "")
        if not code:
            raise OverflowError(f"{value} does not fit a 64-bit column")
        wider = array(code, column)
        try:
            wider.append(value)
        except OverflowError:
            continue
        return wider


def pushed(column: array, value: int) -> array:
    """``column`` with ``value`` appended: itself, or a wider copy when the value does not fit."""
    try:
        column.append(value)
    except OverflowError:
        return widened(column, value)
    return column


def as_numpy(column: array | bytearray) -> np.ndarray:
    """A read-only numpy view of a column (its own dtype: the typecode)."""
    if isinstance(column, bytearray):
        return np.frombuffer(column, dtype=np.uint8) if len(column) else np.zeros(0, np.uint8)
    return np.frombuffer(column, dtype=column.typecode) if len(column) else np.zeros(0, column.typecode)


def byte_column(values: bytearray, start: int, stop: int) -> np.ndarray:
    """A copy of entries ``start:stop`` of a per-order byte column (uint8), zeros past its end: an
    end-of-run check's chunk of a column that may be shorter than the orders table."""
    column: np.ndarray = np.zeros(max(0, stop - start), dtype=np.uint8)
    size = max(0, min(stop, len(values)) - start)
    if size:
        column[:size] = np.frombuffer(values, dtype=np.uint8, count=size, offset=start)
    return column


class _DerivedColumn:
    """``view[o]``: a column the compact table derives per order instead of storing it, read by
    ``read(o)`` (and written, where that makes sense, by ``write(o, value)``)."""

    __slots__ = ("_orders", "_read", "_write")

    def __init__(self, orders: "Orders", read: Callable[[int], Any],
                 write: Callable[[int, Any], None] | None = None) -> None:
        self._orders = orders
        self._read = read
        self._write = write

    def __len__(self) -> int:
        return len(self._orders)

    def __getitem__(self, order_id: int) -> Any:
        return self._read(order_id)

    def __setitem__(self, order_id: int, value: Any) -> None:
        if self._write is None:
            raise TypeError("a derived, read-only column")
        self._write(order_id, value)


COLUMN_CHUNK = 1 << 18
"""Orders an end-of-run reader takes at a time: its temporaries stay a few MiB at any run size."""


def column_chunks(count: int, size: int = COLUMN_CHUNK) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``size`` orders covering ``count`` orders."""
    return [(start, min(count, start + size)) for start in range(0, count, size)]


class Checkouts:
    """Payment events: one per accepted checkout, holding a contiguous range of order ids."""

    def __init__(self) -> None:
        self.by_key = array("h")
        """Client idempotency key -> its checkout id − key − its chunk's base (``_key_base``), or
        _NO_CHECKOUT: keys come about in checkout order, so ``checkout − key`` drifts slowly and fits
        an int16 offset from its chunk's first (2 bytes a key, not 4); one that does not fit is kept
        in ``_odd_keys``. Read it with :meth:`find`."""
        self._key_base = array("q")  # per chunk of 4096 keys: ``checkout − key`` of its first, or _UNSET
        self._odd_keys: dict[int, int] = {}  # key -> checkout, where the offset does not fit
        self.buyer = array("H")  # widens itself past 65535 buyers
        self.card_token = array("H")  # from the PSP's hosted page: never a card number
        self.first_order = array("i")
        self.order_count = bytearray()
        self.created_at = MicrosColumn()  # to the microsecond
        self.done = bytearray()  # is_payment_done
        self._orders: Orders | None = None  # set by the orders table built on these checkouts
        self._last_added_s = math.nan
        self._last_created_s = math.nan
        """The ``now`` the last checkout was added at, and its creation time as stored (rounded to
        the microsecond): what its orders, added right after it, read without a column lookup."""

    def __len__(self) -> int:
        return len(self.order_count)

    def find(self, key: int) -> int:
        """The checkout created for idempotency key ``key``, or -1 (the unique constraint)."""
        by_key = self.by_key
        if 0 <= key < len(by_key):
            offset = by_key[key]
            if offset != _NO_CHECKOUT:
                return key + self._key_base[key >> _KEY_CHUNK_BITS] + offset
        odd = self._odd_keys
        return odd.get(key, -1) if odd else -1

    def add(self, key: int, buyer: int, card_token: int, first_order: int, order_count: int, now: float) -> int:
        """A new checkout whose orders get ids from ``first_order`` on (not below the previous
        checkout's: an order's checkout is found by bisection on ``first_order``)."""
        checkout_id = len(self.order_count)
        if checkout_id and first_order < self.first_order[-1]:
            raise ValueError(f"checkout {checkout_id}: first order {first_order} is below the previous "
                             f"checkout's ({self.first_order[-1]}); order ids must grow with checkouts")
        orders = self._orders
        if orders is not None and first_order < len(orders.state):
            orders.pin_checkouts(first_order)  # existing orders keep their checkout
        by_key = self.by_key
        if key >= len(by_key):  # grown a block at a time: keys mostly come in order
            by_key.extend(array("h", [_NO_CHECKOUT]) * (key + 1 - len(by_key) + _KEY_GROWTH))
            bases = self._key_base
            chunks = (len(by_key) >> _KEY_CHUNK_BITS) + 1
            if chunks > len(bases):
                bases.extend(array("q", [_UNSET]) * (chunks - len(bases)))
        offset = None
        if key >= 0:
            bases = self._key_base
            chunk = key >> _KEY_CHUNK_BITS
            base = bases[chunk]
            if base == _UNSET:
                base = bases[chunk] = checkout_id - key
            offset = checkout_id - key - base
        if offset is not None and -_MAX_KEY_OFFSET <= offset <= _MAX_KEY_OFFSET:
            by_key[key] = offset
            if self._odd_keys:
                self._odd_keys.pop(key, None)
        else:
            if key >= 0:
                by_key[key] = _NO_CHECKOUT
            self._odd_keys[key] = checkout_id
        try:
            self.buyer.append(buyer)
        except OverflowError:
            self.buyer = widened(self.buyer, buyer)
        try:
            self.card_token.append(card_token)
        except OverflowError:
            self.card_token = widened(self.card_token, card_token)
        self.first_order.append(first_order)
        self.order_count.append(order_count)
        self._last_added_s, self._last_created_s = now, self.created_at.append(now)  # as stored
        self.done.append(0)
        return checkout_id

    def orders_of(self, checkout_id: int) -> range:
        first = self.first_order[checkout_id]
        return range(first, first + self.order_count[checkout_id])


_KEY_GROWTH: Final = 1024
"""Slots the key index grows by beyond the key that needs it."""
_KEY_CHUNK_BITS: Final = 12
"""The key index keeps one base per 4096 keys."""
_NO_CHECKOUT: Final = -32768
"""Key index slot: no checkout for this key (or one kept in ``_odd_keys``)."""
_MAX_KEY_OFFSET: Final = 32767
_UNSET: Final = -(1 << 62)
"""Base of a chunk of keys none of which has a checkout yet."""

_NO_ORDER: Final = -(1 << 62)
"""A slot of the ring of recent orders that holds none (an int, not None: compiled, the ring's
slots are compared as C integers, not as objects with the order id boxed)."""

RECENT: Final = 4096
"""Orders whose checkout and creation time are also kept in a small ring (see ``Orders``)."""
_RECENT_MASK: Final = RECENT - 1


class Orders:
    """Payment orders (one per seller of a checkout) of the checkouts in ``checkouts``."""

    def __init__(self, checkouts: Checkouts) -> None:
        self.checkouts = checkouts
        checkouts._orders = self
        self._odd_checkout: dict[int, int] = {}  # order -> checkout, where bisection would not find it
        self.seller = array("H")  # widens itself past 65535 sellers
        self.amount_minor = array("i")  # widens itself to 64 bits for an amount beyond ±2^31
        self.currency = bytearray()
        self.state = bytearray()
        self.flags = bytearray()
        self.latency_s = array("f")
        """Seconds from creation to the first terminal state (float32), -1.0 before."""
        self.psp_attempts = bytearray()  # saturates at 255
        self._line_base = array("h")
        """Per checkout: the cart line of its first order − that order's id (its line base), as an
        int16 offset from its chunk of 4096 checkouts' first (``_line_chunk_base``): read it with
        :meth:`_line_base_of`. A base whose offset does not fit is stored as the chunk's, and its
        orders' lines kept in ``_odd_lines``."""
        self._line_chunk_base = array("q")
        self._odd_lines: dict[int, int] = {}  # order -> line, where the checkout's rule does not hold
        self._odd_created: dict[int, float] = {}  # order -> created_at, where not its checkout's
        self._recent_order = [_NO_ORDER] * RECENT
        self._recent_checkout = [0] * RECENT
        self._recent_created = [0.0] * RECENT
        """The checkout and creation time of the last ``RECENT`` orders (slot ``o % RECENT``, which
        holds order ``_recent_order[slot]``): an order is looked up ~4 times while in flight, which
        this answers without a bisection — constant memory, not per order."""
        self.created_at = _DerivedColumn(self, self.created_at_of)
        """``orders.created_at[o]``: the order's creation time."""
        self.finished_at = _DerivedColumn(self, self.finished_at_of, self.set_finished_at)
        """``orders.finished_at[o]``: when the order first reached a terminal state, -1.0 before."""
        self.line = _DerivedColumn(self, self.line_of)
        """``orders.line[o]``: the buyer's cart line the order was created for (ground truth)."""
        self.checkout = _DerivedColumn(self, self.checkout_of)
        """``orders.checkout[o]``: the checkout order ``o`` belongs to."""
        self.in_flight: dict[int, None] = {}
        """Non-terminal orders in creation order (the monitor scans the oldest first)."""
        self.illegal_transitions: list[tuple[int, float, int, int]] = []
        """(order, time, from, to) for every transition out of a definite outcome (SUCCESS, or
        FAILED: a decline is final): oracle 5 reads it."""

    def __len__(self) -> int:
        return len(self.state)

    def add(self, checkout: int, seller: int, amount_minor: int, currency: int, line: int, now: float) -> int:
        """One order of checkout ``checkout`` (see :meth:`add_all`)."""
        return self.add_all(checkout, ((seller, amount_minor, currency, line),), now).start

    def add_all(self, checkout: int, lines: Iterable[tuple[int, int, int, int]], now: float) -> range:
        """Orders of checkout ``checkout`` created at ``now``, one per (seller, amount_minor,
        currency, line), with consecutive ids (returned). A cart's orders are added in one call:
        what they share (is bisection's checkout theirs, their creation time, their line base) is
        worked out once, not per order."""
        first = order_id = len(self.state)
        checkouts = self.checkouts
        firsts = checkouts.first_order
        last = checkout == len(firsts) - 1
        # from this id on, bisection finds ``checkout`` (the usual case: the last checkout's orders)
        found_from = firsts[checkout] if last else math.inf
        if last and now == checkouts._last_added_s:
            created, odd_created = checkouts._last_created_s, False  # added with its checkout
        else:
            created = checkouts.created_at[checkout]
            odd_created = created != to_micros(now)
            if odd_created:
                created = now
        bases = self._line_base
        base = self._line_base_of(checkout) if checkout < len(bases) else None
        for seller, amount_minor, currency, line in lines:
            if order_id < found_from and bisect_right(firsts, order_id) - 1 != checkout:
                self._odd_checkout[order_id] = checkout
            try:
                self.seller.append(seller)
            except OverflowError:
                self.seller = widened(self.seller, seller)
            try:
                self.amount_minor.append(amount_minor)
            except OverflowError:
                self.amount_minor = widened(self.amount_minor, amount_minor)
            self.currency.append(currency)
            if base is None:  # the checkout's first order: its line sets the base
                while checkout > len(bases):  # checkouts without orders (not made by the payment service)
                    self._append_line_base(self._line_base_of(len(bases) - 1) if len(bases) else 0)
                base = self._append_line_base(line - order_id)
            if base + order_id != line:
                self._odd_lines[order_id] = line
            if odd_created:
                self._odd_created[order_id] = created
            slot = order_id & _RECENT_MASK
            self._recent_order[slot] = order_id
            self._recent_checkout[slot] = checkout
            self._recent_created[slot] = created
            self.state.append(0)  # OrderState.NOT_STARTED
            self.flags.append(0)
            self.latency_s.append(-1.0)
            self.psp_attempts.append(0)
            self.in_flight[order_id] = None
            order_id += 1
        return range(first, order_id)

    def _line_base_of(self, checkout: int) -> int:
        return self._line_chunk_base[checkout >> CHUNK_BITS] + self._line_base[checkout]

    def _append_line_base(self, base: int) -> int:
        """Append the next checkout's line base; return it as stored (its chunk's first when its
        offset does not fit: its orders' lines are then exceptions)."""
        bases, chunk_bases = self._line_base, self._line_chunk_base
        if not len(bases) & (CHUNK - 1):  # the first of a chunk
            chunk_bases.append(base if -2**62 <= base < 2**62 else 0)
        offset = base - chunk_bases[-1]
        if not -32768 <= offset <= 32767:
            offset = 0
        bases.append(offset)
        return chunk_bases[-1] + offset

    def created_at_of(self, order_id: int) -> float:
        """When the order was created (its checkout's creation, unless added at another time)."""
        slot = order_id & _RECENT_MASK
        if self._recent_order[slot] == order_id:  # nearly every lookup: a recent order
            return self._recent_created[slot]
        odd = self._odd_created
        if odd:
            at = odd.get(order_id)
            if at is not None:
                return at
        return self.checkouts.created_at[self.checkout_of(order_id)]

    def finished_at_of(self, order_id: int) -> float:
        """When the order first reached a terminal state, -1.0 before."""
        offset = self.latency_s[order_id]
        if offset < 0:
            return -1.0
        slot = order_id & _RECENT_MASK
        if self._recent_order[slot] == order_id:  # created_at_of's ring, inlined: a frame less per payment
            return self._recent_created[slot] + offset
        return self.created_at_of(order_id) + offset

    def set_finished_at(self, order_id: int, at_s: float) -> None:
        """Overwrite the finish time (-1.0: not finished, e.g. a write lost to a failover)."""
        self.latency_s[order_id] = -1.0 if at_s < 0 else at_s - self.created_at_of(order_id)

    def checkout_of(self, order_id: int) -> int:
        """The checkout of order ``order_id``: the last one whose orders start at or before it
        (C bisection, O(log n)), unless recorded otherwise."""
        slot = order_id & _RECENT_MASK
        if self._recent_order[slot] == order_id:  # nearly every lookup: a recent order
            return self._recent_checkout[slot]
        odd = self._odd_checkout
        if odd:
            checkout = odd.get(order_id)
            if checkout is not None:
                return checkout
        if 0 <= order_id < len(self.state):
            return bisect_right(self.checkouts.first_order, order_id) - 1
        if -len(self.state) <= order_id < 0:
            return self.checkout_of(order_id + len(self.state))
        raise IndexError(f"no order {order_id}")

    def pin_checkouts(self, from_order: int) -> None:
        """Record the current checkout of orders ``from_order`` on (a checkout about to be added
        claims ids that already have orders)."""
        odd = self._odd_checkout
        for order_id in range(max(from_order, 0), len(self.state)):
            if order_id not in odd:
                odd[order_id] = self.checkout_of(order_id)

    def checkout_column(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Every order's checkout (int64, new array); orders ``start:stop`` only when given (end-of-run
        readers take the table a chunk at a time: see :func:`column_chunks`)."""
        start, stop, _ = slice(start, stop).indices(len(self))
        firsts = as_numpy(self.checkouts.first_order)
        ids = np.arange(start, max(start, stop), dtype=firsts.dtype)  # the column's own width: a 12.7M-order day holds
        checkouts: np.ndarray = np.searchsorted(firsts, ids, side="right").astype(np.int64, copy=False)  # fewer temporaries
        del ids
        checkouts -= 1
        for order_id, checkout in self._odd_checkout.items():
            if start <= order_id < stop:
                checkouts[order_id - start] = checkout
        return checkouts

    def line_of(self, order_id: int) -> int:
        odd = self._odd_lines
        if odd:
            line = odd.get(order_id)
            if line is not None:
                return line
        return self._line_base_of(self.checkout_of(order_id)) + order_id

    def created_at_column(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Every order's creation time (float64, new array); orders ``start:stop`` when given."""
        start, stop, _ = slice(start, stop).indices(len(self))
        checkouts = self.checkout_column(start, stop)
        low = int(checkouts.min()) if len(checkouts) else 0
        high = int(checkouts.max()) + 1 if len(checkouts) else 0
        checkouts -= low
        created = self.checkouts.created_at.to_numpy(low, high)[checkouts]  # only this chunk's checkouts
        del checkouts
        for order_id, at in self._odd_created.items():
            if start <= order_id < stop:
                created[order_id - start] = at
        return created

    def finished_at_column(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Every order's finish time, -1.0 where not finished (float64, new array); orders
        ``start:stop`` when given."""
        start, stop, _ = slice(start, stop).indices(len(self))
        latency = as_numpy(self.latency_s)[start:max(start, stop)]
        finished = self.created_at_column(start, stop)
        finished += latency  # float32 widened to float64 element by element, as ``astype`` would
        finished[~(latency >= 0)] = -1.0  # not finished (and, as before, NaN)
        return finished

    def line_column(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Every order's cart line (int64, new array); orders ``start:stop`` when given."""
        start, stop, _ = slice(start, stop).indices(len(self))
        checkouts = self.checkout_column(start, stop)
        if not len(checkouts):
            return np.zeros(0, np.int64)
        low, high = int(checkouts.min()), int(checkouts.max()) + 1  # only this chunk's checkouts' bases
        first = low >> CHUNK_BITS
        chunk_bases = np.frombuffer(self._line_chunk_base, dtype=np.int64)[first:((high - 1) >> CHUNK_BITS) + 1]
        skip = first << CHUNK_BITS
        bases: np.ndarray = np.repeat(chunk_bases, CHUNK)[low - skip:high - skip]
        bases += as_numpy(self._line_base)[low:high]
        checkouts -= low
        lines = bases[checkouts]
        del bases
        del checkouts
        lines += np.arange(start, max(start, stop), dtype=np.int64)
        for order_id, line in self._odd_lines.items():
            if start <= order_id < stop:
                lines[order_id - start] = line
        return lines

    def amount_column(self) -> np.ndarray:
        """Every order's amount in minor units (int64, new array)."""
        return as_numpy(self.amount_minor).astype(np.int64)

    def is_terminal(self, order_id: int) -> bool:
        return bool(_TERMINAL[self.state[order_id]])

    def transition(self, order_id: int, new_state: int, now: float) -> None:
        """Set the state; a move out of SUCCESS or FAILED is recorded (it must never happen)."""
        # The index boxed once: compiled, a column (``bytearray``, ``array``) is read and written by
        # generic item calls, each of which boxed an ``int`` index into a new object.
        at: SupportsIndex = order_id
        old = self.state[at]
        if old == new_state:
            return
        if old == _SUCCESS or old == _FAILED_STATE:
            self.illegal_transitions.append((order_id, now, old, new_state))
        self.state[at] = new_state
        if _TERMINAL[new_state]:
            latency_s = self.latency_s
            if latency_s[at] < 0:
                slot = order_id & _RECENT_MASK  # created_at_of's ring, inlined: a frame less per payment
                latency_s[at] = now - (self._recent_created[slot] if self._recent_order[slot] == order_id
                                             else self.created_at_of(order_id))
            self.in_flight.pop(order_id, None)
        elif order_id not in self.in_flight:
            self.in_flight[order_id] = None

    def count_attempt(self, order_id: int) -> None:
        attempts = self.psp_attempts[order_id]
        if attempts < 255:
            self.psp_attempts[order_id] = attempts + 1
