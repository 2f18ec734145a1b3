"""An opt-in per-order event trace (sequence diagrams, violation histories).

Off by default: the hot path checks ``trace.on`` and nothing else. It can follow every order or
only a chosen few (a deterministic re-run with the orders an oracle flagged).
"""

from __future__ import annotations


class Trace:
    __slots__ = ("on", "only", "requests", "events")

    def __init__(self, enabled: bool = False, only: frozenset[int] | None = None, requests: bool = False) -> None:
        self.on = enabled
        self.only = only
        self.requests = requests
        """Also record when each PSP request is sent (sequence diagrams), not only its reply."""
        self.events: list[tuple[float, int, str]] = []

    def add(self, now: float, order_id: int, what: str) -> None:
        if self.only is None or order_id in self.only:
            self.events.append((round(now, 6), order_id, what))

    def of(self, order_id: int) -> list[tuple[float, str]]:
        return [(t, what) for t, oid, what in self.events if oid == order_id]
