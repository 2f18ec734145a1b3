"""Server-side load shedding: refuse work beyond a concurrency limit, or work that waited too long.

Work that has already queued longer than ``max_queue_wait`` is shed too: its caller has likely
given up, and serving it would only delay fresher requests.
"""

from __future__ import annotations

from sim.config.policies import LoadSheddingPolicy


class LoadShedder:
    """Runtime admission: ``try_enter`` when work arrives, ``leave`` when admitted work is done."""

    __slots__ = ("policy", "in_flight", "peak_in_flight", "admitted", "shed",
                 "_enabled", "_max_in_flight", "_max_wait_s")  # fmt: skip

    def __init__(self, policy: LoadSheddingPolicy) -> None:
        self.policy = policy
        self.in_flight = 0
        self.peak_in_flight = 0
        self.admitted = 0
        self.shed = 0
        """Requests refused."""
        self._enabled = policy.enabled
        self._max_in_flight = policy.max_in_flight
        self._max_wait_s = policy.max_queue_wait_s

    def try_enter(self, now: float, queued_since: float | None = None) -> bool:
        """Admit one request at ``now`` (queued since ``queued_since``, if it waited), or shed it."""
        if self._enabled and (
            self.in_flight >= self._max_in_flight
            or (self._max_wait_s is not None and queued_since is not None and now - queued_since > self._max_wait_s)
        ):
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
