"""Retry strategies: how long to wait before the next attempt, and whether to make one.

Formulas (docs/design.md §7.1, AWS "Exponential Backoff and Jitter"), with ``attempt`` = failures so far:

- none: never retry          - immediate: 0          - fixed: base
- incremental: min(cap, base·attempt)  - exponential: min(cap, base·2^attempt)
- full_jitter: U(0, min(cap, base·2^attempt))
- equal_jitter: t/2 + U(0, t/2) with t = min(cap, base·2^attempt)
- decorrelated_jitter: min(cap, U(base, 3·prev)), prev starting at base
"""

from __future__ import annotations

import random
from enum import Enum

from pydantic import Field, model_validator

from sim.config.base import Frozen, PositiveInt, Seconds


class RetryStrategy(str, Enum):
    NONE = "none"
    IMMEDIATE = "immediate"
    FIXED = "fixed"
    INCREMENTAL = "incremental"
    EXPONENTIAL = "exponential"
    FULL_JITTER = "full_jitter"
    EQUAL_JITTER = "equal_jitter"
    DECORRELATED_JITTER = "decorrelated_jitter"


class RetryPolicy(Frozen):
    """When and how often a caller tries again after a failed or indefinite attempt."""

    strategy: RetryStrategy = Field(RetryStrategy.FULL_JITTER, description="how the delay between attempts grows")
    max_attempts: PositiveInt = Field(3, description="total attempts, the first included")
    base_s: Seconds = Field(0.1, alias="base", description="base delay")
    cap_s: Seconds = Field(10.0, alias="cap", description="largest delay")
    deadline_s: Seconds | None = Field(
        None, alias="deadline", description="no new attempt starts later than this after the first"
    )
    honour_retry_after: bool = Field(True, description="wait at least a 429's Retry-After")
    retry_non_retryable: bool = Field(
        False, description="FLAW when true: also retries definite failures such as declines"
    )

    @model_validator(mode="before")
    @classmethod
    def _none_means_one_attempt(cls, data: object) -> object:
        """``strategy: none`` means a single attempt, whatever max_attempts says."""
        if isinstance(data, dict) and str(data.get("strategy", "")).lower() in ("none", "retrystrategy.none"):
            return {**data, "max_attempts": 1}
        if isinstance(data, dict) and data.get("strategy") is RetryStrategy.NONE:
            return {**data, "max_attempts": 1}
        return data

    @property
    def retries(self) -> int:
        return self.max_attempts - 1


def backoff_s(policy: RetryPolicy, attempt: int, prev_s: float, rng: random.Random) -> float:
    """Delay before the next try after ``attempt`` failures; ``prev_s`` is the previous delay
    (decorrelated jitter only; pass ``policy.base_s`` before the first retry)."""
    strategy = policy.strategy
    base, cap = policy.base_s, policy.cap_s
    if strategy is RetryStrategy.IMMEDIATE or strategy is RetryStrategy.NONE:
        return 0.0
    if strategy is RetryStrategy.FIXED:
        return base
    if strategy is RetryStrategy.INCREMENTAL:
        return min(cap, base * attempt)
    if strategy is RetryStrategy.DECORRELATED_JITTER:
        return min(cap, rng.uniform(base, 3.0 * max(prev_s, base)))
    ceiling = min(cap, base * (2.0 ** min(attempt, 62)))
    if strategy is RetryStrategy.EXPONENTIAL:
        return ceiling
    if strategy is RetryStrategy.FULL_JITTER:
        return rng.uniform(0.0, ceiling)
    if strategy is RetryStrategy.EQUAL_JITTER:
        half = ceiling / 2.0
        return half + rng.uniform(0.0, half)
    raise ValueError(f"unknown retry strategy {strategy!r}")


class Retrier:
    """Per-call retry state: counts failures and answers "wait how long, or give up?"."""

    __slots__ = ("policy", "rng", "started_at", "failures", "prev_s")

    def __init__(self, policy: RetryPolicy, rng: random.Random, started_at: float) -> None:
        self.policy = policy
        self.rng = rng
        self.started_at = started_at
        self.failures = 0
        self.prev_s = policy.base_s

    def next_delay_s(self, now: float, retry_after_s: float = 0.0) -> float | None:
        """Record one failure; the delay before the next attempt, or None to give up."""
        self.failures += 1
        policy = self.policy
        if self.failures >= policy.max_attempts:
            return None
        delay = backoff_s(policy, self.failures, self.prev_s, self.rng)
        if policy.honour_retry_after and retry_after_s > delay:
            delay = retry_after_s
        self.prev_s = delay
        if policy.deadline_s is not None and now + delay - self.started_at > policy.deadline_s:
            return None
        return delay
