"""Retry budget (a token bucket filled by successes) and a plain rate-limiting token bucket.

Retry budget, gRPC/Finagle style (docs/design.md §7.3, §13): the bucket starts full at ``max_tokens``; a
retry spends one token and is refused when less than one is left; a success earns
``tokens_per_success``, up to ``max_tokens``. Retries therefore stay below
``max_tokens + tokens_per_success · successes``: about 10 % of the load at +0.1 per success,
however many attempts the retry policy would allow.
"""

from __future__ import annotations

from typing import Final

from sim.config.policies import RetryBudgetPolicy

_MICRO: Final = 1_000_000
"""Retry-budget tokens are held as integer millionths so that ten successes at 0.1 make exactly one."""

_EPSILON: Final = 1e-9
"""Slack for the float refill of ``TokenBucket`` (0.1 s at 10/s must give a whole token)."""


class RetryBudget:
    """Runtime bucket: ask ``can_retry()`` before each retry, call ``record_success()`` on success."""

    __slots__ = ("policy", "spent", "denied", "_enabled", "_micro", "_earn", "_cap")

    def __init__(self, policy: RetryBudgetPolicy) -> None:
        self.policy = policy
        self.spent = 0
        """Retries permitted (tokens spent)."""
        self.denied = 0
        """Retries refused for want of a token."""
        self._enabled = policy.enabled
        self._cap = round(policy.max_tokens * _MICRO)
        self._earn = round(policy.tokens_per_success * _MICRO)
        self._micro = self._cap

    @property
    def tokens(self) -> float:
        return self._micro / _MICRO

    def can_retry(self) -> bool:
        """Whether one more retry is allowed; spends a token when it is."""
        if not self._enabled:
            return True
        if self._micro >= _MICRO:
            self._micro -= _MICRO
            self.spent += 1
            return True
        self.denied += 1
        return False

    def record_success(self) -> None:
        """A call succeeded: earn ``tokens_per_success``, up to the bucket size."""
        micro = self._micro + self._earn
        self._micro = micro if micro < self._cap else self._cap


class TokenBucket:
    """Rate limiter: ``rate_per_s`` tokens per second, holding at most ``burst``; starts full."""

    __slots__ = ("rate_per_s", "burst", "tokens", "updated_at", "taken", "rejected")

    def __init__(self, rate_per_s: float, burst: float, now: float = 0.0) -> None:
        if rate_per_s < 0 or burst < 1:
            raise ValueError(f"need rate_per_s >= 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = float(burst)
        self.updated_at = now
        self.taken = 0
        self.rejected = 0

    def try_take(self, now: float) -> bool:
        """Take one token at ``now`` if one is available."""
        elapsed = now - self.updated_at
        if elapsed > 0.0:
            tokens = self.tokens + elapsed * self.rate_per_s
            self.tokens = tokens if tokens < self.burst else self.burst
            self.updated_at = now
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens -= 1.0
            self.taken += 1
            return True
        self.rejected += 1
        return False
