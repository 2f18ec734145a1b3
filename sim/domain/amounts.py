"""Amounts per order (refunds, disputes, delayed captures), one Python int per order in the usual case.

Ground truth records each refund, dispute or capture of an order as a list of amounts: an order
may be refunded twice, and the oracles must see each. Most orders have exactly one, and a dict of
one-element lists spends a list object and its buffer (~100 bytes) on each. :class:`AmountsByOrder`
stores a lone amount as the plain int and switches to a list at the second; it reads as the
``dict[int, list[int]]`` it replaces (a read-only mapping: ``get``, ``items``, ``==`` a dict), in
the order orders were first recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class AmountsByOrder(Mapping[int, list[int]]):
    """Order id -> the amounts recorded for it, in recording order (a new list per read)."""

    __slots__ = ("_by_order",)

    def __init__(self) -> None:
        self._by_order: dict[int, int | list[int]] = {}

    def append(self, order_id: int, amount_minor: int) -> None:
        """Record one more amount for ``order_id``."""
        by_order = self._by_order
        held = by_order.get(order_id)
        if held is None:
            by_order[order_id] = amount_minor
        elif type(held) is list:
            held.append(amount_minor)
        else:
            by_order[order_id] = [held, amount_minor]

    def total_of(self, order_id: int) -> int:
        """The sum of ``order_id``'s amounts (0 if none)."""
        held = self._by_order.get(order_id, 0)
        return sum(held) if type(held) is list else held

    def count_of(self, order_id: int) -> int:
        """How many amounts ``order_id`` has."""
        held = self._by_order.get(order_id)
        return 0 if held is None else len(held) if type(held) is list else 1

    def __getitem__(self, order_id: int) -> list[int]:
        held = self._by_order[order_id]
        return list(held) if type(held) is list else [held]

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_order)

    def __len__(self) -> int:
        return len(self._by_order)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._by_order

    def __repr__(self) -> str:
        return f"AmountsByOrder({dict(self.items())!r})"
