"""Sample orders for the report's sequence diagrams, traced during the run itself.

The report draws a few orders worth looking at: a clean success, a retried one, and a failed or
dead-lettered one. Which orders those are is known only at the end, so :class:`SampleTrace`
follows every order but keeps the events of only those that may still become a sample: orders not
yet in a final state (a dead-lettered order may be replayed), and the first two orders of each
label's kind (a spare, should a pick's kind change, e.g. a retried order that then fails). Every so
often it drops the rest (and ignores their later events), so it holds a bounded number of orders
however long the run, and the run is not repeated to draw them. A sample's events are always all
of its events; on all shipped scenarios the samples are the orders a full trace would pick.
"""

from __future__ import annotations

from typing import Iterable

from sim.domain.orders import TERMINAL_STATES, OrderState, Orders
from sim.observe.trace import Trace

LABELS = ("succeeded first time", "retried", "failed or dead-lettered")
_SUCCESS, _DEAD = int(OrderState.SUCCESS), int(OrderState.DEAD_LETTERED)
_FAILED = frozenset({int(OrderState.FAILED), _DEAD})
_FINAL = frozenset(int(s) for s in TERMINAL_STATES) - {_DEAD}
"""States an order does not leave again (a dead-lettered one may be replayed from the DLQ)."""


def pick_samples(orders: Orders, order_ids: Iterable[int]) -> dict[int, str]:
    """Among ``order_ids`` (ascending): the first clean success, the first retried order, and the
    first dead-lettered one (else the first failed); order id -> label."""
    state, attempts = orders.state, orders.psp_attempts
    clean = retried = failed = None
    for order_id in order_ids:
        s, a = state[order_id], attempts[order_id]
        if clean is None and s == _SUCCESS and a == 1:
            clean = order_id
        elif retried is None and a > 1:
            retried = order_id
        elif s in _FAILED and (failed is None or (s == _DEAD and state[failed] != _DEAD)):
            failed = order_id
    return {order_id: label for label, order_id in zip(LABELS, (clean, retried, failed)) if order_id is not None}


def _first_of_each_kind(orders: Orders, order_ids: list[int], count: int = 2) -> set[int]:
    """The first ``count`` clean successes, retried orders and failed or dead-lettered orders:
    :func:`pick_samples`'s choice now, with a spare of each kind."""
    state, attempts = orders.state, orders.psp_attempts
    clean: list[int] = []
    retried: list[int] = []
    failed: list[int] = []
    for order_id in order_ids:
        s, a = state[order_id], attempts[order_id]
        if s == _SUCCESS and a == 1 and len(clean) < count:
            clean.append(order_id)
        if a > 1 and len(retried) < count:
            retried.append(order_id)
        if s in _FAILED and len(failed) < count:
            failed.append(order_id)
    return set(clean) | set(retried) | set(failed)


class SampleTrace(Trace):
    """A trace of every order that keeps only the orders that may still be picked as a sample.

    ``bind(orders)`` before the run. Every ``prune_every`` events (at least twice the orders kept)
    the orders in a final state that cannot be picked any more are dropped for good; if more than
    ``max_kept`` orders remain (say, thousands stuck in flight), the newest of those go too.
    """

    __slots__ = ("by_order", "dropped", "orders", "prune_every", "max_kept", "_since", "_next_prune")

    def __init__(self, prune_every: int = 4096, max_kept: int = 4096) -> None:
        super().__init__(enabled=True, requests=True)  # sequence diagrams draw each request when sent
        self.by_order: dict[int, list[tuple[float, str]]] = {}
        self.dropped = bytearray()  # 1 where an order was dropped: its later events are ignored
        self.orders: Orders | None = None
        self.prune_every = prune_every
        self.max_kept = max_kept
        self._since = 0
        self._next_prune = prune_every

    def bind(self, orders: Orders) -> None:
        self.orders = orders

    def add(self, now: float, order_id: int, what: str) -> None:
        if order_id < len(self.dropped) and self.dropped[order_id]:
            return
        events = self.by_order.get(order_id)
        if events is None:
            self.by_order[order_id] = events = []
        events.append((round(now, 6), what))
        self._since += 1
        if self._since >= self._next_prune:
            self.prune()

    def of(self, order_id: int) -> list[tuple[float, str]]:
        return list(self.by_order.get(order_id, ()))

    def prune(self) -> None:
        """Drop what can no longer become a sample; keep at most ``max_kept`` orders."""
        self._since = 0
        orders = self.orders
        if orders is None:
            raise RuntimeError("SampleTrace.bind(orders) must be called before the run")
        kept = sorted(self.by_order)
        picks = _first_of_each_kind(orders, kept)
        state = orders.state
        keep = [o for o in kept if o in picks or state[o] not in _FINAL]
        if len(keep) > self.max_kept:
            others = [o for o in keep if o not in picks]
            keep = sorted(picks | set(others[: self.max_kept - len(picks)]))
        keep_set = set(keep)
        gone = [o for o in kept if o not in keep_set]
        if gone:
            if gone[-1] >= len(self.dropped):
                self.dropped.extend(bytes(gone[-1] + 1 - len(self.dropped)))
            for order_id in gone:
                self.dropped[order_id] = 1
                del self.by_order[order_id]
        self._next_prune = max(self.prune_every, 2 * len(self.by_order))

    def samples(self) -> dict[int, str]:
        """The sample orders of the finished run: order id -> label."""
        self.prune()
        return pick_samples(self.orders, sorted(self.by_order))
