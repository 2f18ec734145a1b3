"""The engine's event heaps when compiled: entries with fixed fields, ordered by a compiled
comparison.

SimPy's heap holds ``(time, priority, event id, event)`` tuples and ``heapq`` orders them by tuple
comparison: each one two generic comparisons of boxed values (equal? then less?), and every entry
boxes a float and an int. Compiled, :class:`Entry` keeps the time unboxed and the priority and event
id in one int (:func:`order_of`), and :func:`push` and :func:`pop` (``heapq``'s algorithms) compare
them as C numbers: ~1.5k instructions an event less. Run as pure Python they would cost more than
``heapq``'s C code, so the engine uses them only when compiled (:data:`COMPILED`) and SimPy's tuples
and ``heapq`` otherwise; both pop events in the same order (time, then priority, then event id).
"""

from __future__ import annotations

from types import FunctionType
from typing import Any, Final

_ID_BITS: Final = 44
"""Event ids below 2**44 (~1.8e13 events; a day at 100 checkouts/s schedules ~2e8) keep a priority
and an event id in one int of at most 46 bits (a C integer compiled)."""


def order_of(priority: int, eid: int) -> int:
    """The priority (SimPy's -1 stop, 0 urgent, 1 normal) and event id as one int, ordered as the
    pair."""
    return ((priority + 1) << _ID_BITS) | eid


class Entry:
    """One scheduled event: when, its :func:`order_of`, the event."""

    __slots__ = ("at", "order", "event")

    def __init__(self, at: float, order: int, event: Any) -> None:
        self.at = at
        self.order = order
        self.event = event


def before(a: Entry, b: Entry) -> bool:
    """``a`` runs before ``b`` (SimPy's order)."""
    return a.at < b.at or (a.at == b.at and a.order < b.order)


def push(heap: list[Entry], entry: Entry) -> None:
    """``heapq.heappush``."""
    heap.append(entry)
    _rise(heap, len(heap) - 1, entry)


def _rise(heap: list[Entry], pos: int, entry: Entry) -> None:
    """Put ``entry`` in the hole at ``pos``, moving it up past the parents it runs before."""
    while pos > 0:
        parent_pos = (pos - 1) >> 1
        parent = heap[parent_pos]
        if not before(entry, parent):
            break
        heap[pos] = parent
        pos = parent_pos
    heap[pos] = entry


def pop(heap: list[Entry]) -> Entry:
    """``heapq.heappop`` (IndexError when empty): the hole goes down to a leaf, then the last entry
    comes up into it (fewer comparisons than sifting it down from the top)."""
    last = heap.pop()
    if not heap:
        return last
    top = heap[0]
    end = len(heap)
    pos = 0
    child = 1
    while child < end:
        right = child + 1
        if right < end and not before(heap[child], heap[right]):
            child = right
        heap[pos] = heap[child]
        pos = child
        child = 2 * pos + 1
    _rise(heap, pos, last)
    return top


def _probe() -> None:
    """A function of this module: a Python function when it runs as Python, a C one compiled."""


COMPILED: Final = not isinstance(_probe, FunctionType)
"""This module (and with it the whole kernel: :mod:`sim.native` loads all or none) runs compiled."""
