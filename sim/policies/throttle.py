"""Client-side adaptive throttling (Google SRE book, "Handling Overload").

Over a sliding time window the client counts ``requests`` (every request the application asked
to send, including those it then rejected locally) and ``accepts`` (requests the backend
accepted). A new request is rejected locally with probability

    max(0, (requests − k · accepts) / (requests + 1))

so with everything accepted nothing is rejected, and with nothing accepted the n-th request in
the window is rejected with probability 1 − 1/n. The window is a ring of ``_BUCKETS`` buckets,
so counts leave it in steps of ``window / _BUCKETS``.
"""

from __future__ import annotations

import math
import random

from sim.config.policies import AdaptiveThrottlePolicy

_BUCKETS = 60


class AdaptiveThrottle:
    """Runtime throttle: ``should_send`` before a request, ``record`` once the backend answered."""

    __slots__ = ("policy", "requests", "accepts", "throttled",
                 "_enabled", "_k", "_width", "_b_requests", "_b_accepts", "_head")  # fmt: skip

    def __init__(self, policy: AdaptiveThrottlePolicy) -> None:
        self.policy = policy
        self.requests = 0
        """Requests in the window."""
        self.accepts = 0
        """Accepted requests in the window."""
        self.throttled = 0
        """Requests rejected locally, in total."""
        self._enabled = policy.enabled
        self._k = policy.k
        self._width = policy.window_s / _BUCKETS
        self._b_requests = [0] * _BUCKETS
        self._b_accepts = [0] * _BUCKETS
        self._head = -(2**62)

    def reject_probability(self, now: float) -> float:
        """The probability that a request made at ``now`` is rejected locally."""
        self._advance(now)
        p = (self.requests - self._k * self.accepts) / (self.requests + 1)
        return p if p > 0.0 else 0.0

    def should_send(self, now: float, rng: random.Random) -> bool:
        """Count a request and decide whether to send it; draws from ``rng`` only when p > 0."""
        if not self._enabled:
            return True
        p = self.reject_probability(now)
        self.requests += 1
        self._b_requests[self._head % _BUCKETS] += 1
        if p > 0.0 and rng.random() < p:
            self.throttled += 1
            return False
        return True

    def record(self, now: float, accepted: bool) -> None:
        """Report the backend's answer to a request that was sent."""
        if accepted and self._enabled:
            self._advance(now)
            self.accepts += 1
            self._b_accepts[self._head % _BUCKETS] += 1

    def _advance(self, now: float) -> None:
        bucket = math.floor(now / self._width)
        head = self._head
        if bucket <= head:
            return
        if bucket - head >= _BUCKETS:
            self._b_requests = [0] * _BUCKETS
            self._b_accepts = [0] * _BUCKETS
            self.requests = self.accepts = 0
        else:
            b_requests, b_accepts = self._b_requests, self._b_accepts
            for b in range(head + 1, bucket + 1):
                i = b % _BUCKETS
                self.requests -= b_requests[i]
                self.accepts -= b_accepts[i]
                b_requests[i] = b_accepts[i] = 0
        self._head = bucket
