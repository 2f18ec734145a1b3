"""Timeouts of one fixed length (the client's request timeout, the executor's PSP timeout) served
by one pending SimPy event instead of one Timeout per call.

Deadlines arrive in time order (now + the same length), so they queue FIFO. One timer waits for
the oldest deadline that may still matter; when it fires it drops every call that already
finished, expires the live ones that are due, and sleeps until the next live deadline. Calls
that finish in time (nearly all) cost a deque entry, no event. A deadline expires at exactly the
time ``now + delay_s`` a Timeout created at the call's start would have fired.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable, Generic, TypeVar

import simpy

from sim.kernel.scheduling import call_after, clock

T = TypeVar("T")


class Deadlines(Generic[T]):
    """``arm(item)`` now → ``expire(item)`` at now + ``delay_s`` unless ``pending(item)`` is
    False by then (checked at that instant, or earlier when the timer passes by)."""

    __slots__ = ("env", "delay_s", "_pending", "_expire", "_due", "_armed")

    def __init__(
        self, env: simpy.Environment, delay_s: float, pending: Callable[[T], bool], expire: Callable[[T], None],
    ) -> None:
        self.env = env
        self.delay_s = delay_s
        self._pending = pending
        self._expire = expire
        self._due: deque[tuple[float, T]] = deque()
        self._armed = False

    def __len__(self) -> int:
        """Deadlines queued (finished calls are dropped lazily)."""
        return len(self._due)

    def arm(self, item: T, now: float | None = None) -> None:
        """``now``: the current time, when the caller has it at hand (``env.now`` is a property:
        a Python call)."""
        if now is None:
            now = clock(self.env)
        self._due.append((now + self.delay_s, item))
        if not self._armed:
            self._armed = True
            call_after(self.env, self.delay_s, self._fire)

    def _fire(self, _event: object) -> None:
        now = clock(self.env)
        queue, pending, expire = self._due, self._pending, self._expire
        while queue:
            deadline, item = queue[0]
            if not pending(item):
                queue.popleft()
                continue
            if deadline > now:
                call_after(self.env, _exact_delay(now, deadline), self._fire)
                return
            queue.popleft()
            expire(item)
        self._armed = False


def _exact_delay(now: float, deadline: float) -> float:
    """A delay with ``now + delay == deadline`` in floating point (the timer fires exactly then)."""
    delay = deadline - now
    while now + delay < deadline:
        delay = math.nextafter(delay, math.inf)
    while now + delay > deadline:
        delay = math.nextafter(delay, -math.inf)
    return delay
