"""The parameters of the resilience policies (retries, circuit breaker, retry budget, load
shedding, adaptive throttling), as the model configures them; :mod:`sim.policies` holds the
runtime objects that follow them."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import Field, model_validator

from sim.config.base import Frozen, PositiveInt, Probability, Seconds


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


class CircuitBreakerPolicy(Frozen):
    """When a caller stops calling a failing dependency, and how it probes for recovery."""

    enabled: bool = Field(False, description="use a circuit breaker on this call")
    window_type: Literal["count", "time"] = Field(
        "count", description="sliding window over the last N calls (count) or the last N seconds (time)"
    )
    window_size: PositiveInt = Field(100, description="calls in a count window, whole seconds in a time window")
    minimum_calls: PositiveInt = Field(100, description="calls the window must hold before rates are judged")
    failure_rate_threshold: Probability = Field(
        0.5, gt=0.0, description="open when the failure rate in the window reaches this"
    )
    slow_call_duration_s: Seconds = Field(
        60.0, alias="slow_call_duration", description="a call taking longer than this is slow"
    )
    slow_call_rate_threshold: Probability = Field(
        1.0, gt=0.0, description="open when the share of slow calls in the window reaches this"
    )
    open_duration_s: Seconds = Field(
        60.0, alias="open_duration", description="how long the breaker stays open before trial calls"
    )
    half_open_calls: PositiveInt = Field(10, description="trial calls permitted while half-open")


class RetryBudgetPolicy(Frozen):
    """A cap on retries as a share of successful traffic, shared by all calls of one caller."""

    enabled: bool = Field(False, description="limit retries with a token bucket")
    tokens_per_success: float = Field(0.1, ge=0.0, description="tokens a successful call earns")
    max_tokens: float = Field(5.0, ge=0.0, description="bucket size; the bucket starts full")


class LoadSheddingPolicy(Frozen):
    """How much concurrent work a service admits before it refuses more."""

    enabled: bool = Field(False, description="shed load beyond the limits below")
    max_in_flight: PositiveInt = Field(100, description="requests served at once; more are refused")
    max_queue_wait_s: Seconds | None = Field(
        None, alias="max_queue_wait", description="refuse a request that has queued longer than this; none = no limit"
    )


class AdaptiveThrottlePolicy(Frozen):
    """Reject requests at the client when the backend has been rejecting them recently."""

    enabled: bool = Field(False, description="throttle requests at the client")
    k: float = Field(2.0, gt=0.0, description="accepts multiplier; lower throttles sooner (SRE book: 2)")
    window_s: Seconds = Field(120.0, gt=0.0, alias="window", description="how far back requests and accepts count")
