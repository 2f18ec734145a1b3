"""The parameters of the resilience policies (retries, circuit breaker, retry budget, load
shedding, adaptive throttling), as the model configures them; :mod:`sim.policies` holds the
runtime objects that follow them."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Literal

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


class _CallerRetryPolicy(RetryPolicy):
    """A retry policy for a caller that never meets what some of the policy's flags are about: those
    flags keep their defaults, and a file that changes one is refused (it would change nothing)."""

    fixed: ClassVar[dict[str, str]] = {}
    """Flag → why this caller never meets what it is about."""

    @model_validator(mode="before")
    @classmethod
    def _from_any_retry_policy(cls, data: object) -> object:
        """A plain :class:`RetryPolicy` given in code is checked as this caller's policy."""
        if isinstance(data, RetryPolicy) and not isinstance(data, cls):
            return data.model_dump(by_alias=True)
        return data

    @model_validator(mode="after")
    def _flags_keep_their_defaults(self) -> "_CallerRetryPolicy":
        for name, why in self.fixed.items():
            if getattr(self, name) != RetryPolicy.model_fields[name].default:
                raise ValueError(f"{name} cannot be changed for this caller: {why}, so it would change nothing "
                                 f"(leave {name} out)")
        return self


_NO_RETRY_AFTER = "it is never answered 429 with a Retry-After (its dependency answers errors or 503s)"
_NO_DEFINITE = "it meets no definite failure (every failure it retries is transient)"


class NoRetryAfterRetryPolicy(_CallerRetryPolicy):
    """The retries of a caller whose dependency never sends a Retry-After (the risk check, the PSP's
    bank retries): ``honour_retry_after`` is refused."""

    fixed: ClassVar[dict[str, str]] = {"honour_retry_after": _NO_RETRY_AFTER}


class TransientRetryPolicy(_CallerRetryPolicy):
    """The retries of a caller that meets only transient failures and never a Retry-After (the Kafka
    producer, the wallet's optimistic concurrency, the payment service's executor calls, captures,
    refunds and payouts): ``honour_retry_after`` and ``retry_non_retryable`` are refused."""

    fixed: ClassVar[dict[str, str]] = {"honour_retry_after": _NO_RETRY_AFTER, "retry_non_retryable": _NO_DEFINITE}


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
    """How much concurrent work a service admits before it refuses more. (Work that queued too long
    is refused by the service's queue: ``queue.max_queue_wait``.)"""

    enabled: bool = Field(False, description="shed load beyond the limit below")
    max_in_flight: PositiveInt = Field(100, description="requests served at once; more are refused")

    @model_validator(mode="before")
    @classmethod
    def _queue_wait_is_the_queues(cls, data: object) -> object:
        """The shedder admits a request when it arrives, before it queues: the time it queued is the
        queue's to bound (the key it had once would change nothing here)."""
        if isinstance(data, dict) and "max_queue_wait" in data:
            raise ValueError("max_queue_wait is not a load-shedding key: the shedder admits a request before it "
                             "queues; bound the queueing time with the service's queue.max_queue_wait")
        return data


class AdaptiveThrottlePolicy(Frozen):
    """Reject requests at the client when the backend has been rejecting them recently."""

    enabled: bool = Field(False, description="throttle requests at the client")
    k: float = Field(2.0, gt=0.0, description="accepts multiplier; lower throttles sooner (SRE book: 2)")
    window_s: Seconds = Field(120.0, gt=0.0, alias="window", description="how far back requests and accepts count")
