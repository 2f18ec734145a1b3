"""Amounts per order (refunds, disputes, delayed captures), one Python int per order in the usual case.

Ground truth records each refund, dispute or capture of an order as a list of amounts: an order
may be refunded twice, and the oracles must see each. Most orders have exactly one, and a dict of
one-element lists spends a list object and its buffer (~100 bytes) on each. :class:`AmountsByOrder`
keeps each order's first amount in an :class:`~sim.domain.intmap.IntMap` (two int64 columns, ~25
bytes an order, not a dict entry and two int objects) and the rest, rare, in a dict of lists; it reads as the
``dict[int, list[int]]`` it replaces (a read-only mapping: ``get``, ``items``, ``==`` a dict), in
the order orders were first recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sim.domain.intmap import IntMap


class AmountsByOrder(Mapping[int, list[int]]):
    """Order id -> the amounts recorded for it, in recording order (a new list per read)."""

    __slots__ = ("_first", "_more")

    def __init__(self) -> None:
        self._first = IntMap()  # order -> its first amount, in the order orders were first recorded
        self._more: dict[int, list[int]] = {}  # order -> its later amounts (an order refunded twice)

    def append(self, order_id: int, amount_minor: int) -> None:
        """Record one more amount for ``order_id``."""
        if order_id in self._first:
            self._more.setdefault(order_id, []).append(amount_minor)
        else:
            self._first[order_id] = amount_minor

    def total_of(self, order_id: int) -> int:
        """The sum of ``order_id``'s amounts (0 if none)."""
        first = self._first.get(order_id)
        if first is None:
            return 0
        more = self._more.get(order_id)
        return first + sum(more) if more else first

    def count_of(self, order_id: int) -> int:
        """How many amounts ``order_id`` has."""
        if order_id not in self._first:
            return 0
        more = self._more.get(order_id)
        return 1 + len(more) if more else 1

    def __getitem__(self, order_id: int) -> list[int]:
        first = self._first[order_id]  # KeyError: none recorded
        return [first, *self._more.get(order_id, ())]

    def __iter__(self) -> Iterator[int]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._first

    def __repr__(self) -> str:
        return f"AmountsByOrder({dict(self.items())!r})"
