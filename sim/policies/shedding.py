"""Server-side load shedding: refuse work beyond a concurrency limit when it arrives.

(Work that queued too long for a thread is refused by the service's queue, ``queue.max_queue_wait``:
see ``sim/components/stations.py``.)
"""

from __future__ import annotations

from sim.config.policies import LoadSheddingPolicy


class LoadShedder:
    """Runtime admission: ``try_enter`` when work arrives, ``leave`` when admitted work is done."""

    __slots__ = ("policy", "in_flight", "peak_in_flight", "admitted", "shed", "_enabled", "_max_in_flight")

    def __init__(self, policy: LoadSheddingPolicy) -> None:
        self.policy = policy
        self.in_flight = 0
        self.peak_in_flight = 0
        self.admitted = 0
        self.shed = 0
        """Requests refused."""
        self._enabled = policy.enabled
        self._max_in_flight = policy.max_in_flight

    def try_enter(self, now: float) -> bool:
        """Admit one request arriving at ``now``, or shed it."""
        if self._enabled and self.in_flight >= self._max_in_flight:
            self.shed += 1
            return False
        self.in_flight += 1
        self.admitted += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight
        return True

    def leave(self) -> None:
        """An admitted request finished."""
        if self.in_flight <= 0:
            raise RuntimeError("LoadShedder.leave() without a matching try_enter()")
        self.in_flight -= 1
