"""Circuit breaker with Resilience4j semantics: closed → open → half-open → closed or open.

CLOSED: every call is permitted; outcomes fill a sliding window (the last ``window_size`` calls,
or the calls of the last ``window_size`` whole seconds). Once the window holds at least
``minimum_calls`` calls (for a count window: at most ``window_size``), a failure rate or a
slow-call rate at or above its threshold opens the breaker.
OPEN: no call is permitted until ``open_duration`` has passed; the move to HALF_OPEN happens
lazily, at the first ``allow``/``state`` call at or after that time.
HALF_OPEN: exactly ``half_open_calls`` trial calls are permitted; once all of them have reported,
the breaker closes (fresh window) if both rates are below their thresholds, else opens again.

Every permitted call must be reported with ``record``; a result arriving while OPEN (a call
permitted earlier) is ignored, one arriving while HALF_OPEN counts as a trial, as in Resilience4j.
A disabled breaker permits everything and records nothing.
"""

from __future__ import annotations

import math
from typing import Literal

from sim.config.policies import CircuitBreakerPolicy

BreakerState = Literal["closed", "open", "half_open"]
CLOSED: BreakerState = "closed"
OPEN: BreakerState = "open"
HALF_OPEN: BreakerState = "half_open"


class _CountWindow:
    """Outcomes of the last ``size`` calls in a ring: bit 0 failed, bit 1 slow."""

    __slots__ = ("size", "outcomes", "pos", "calls", "failures", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.outcomes = bytearray(size)
        self.pos = 0
        self.calls = self.failures = self.slow = 0

    def add(self, now: float, failed: bool, slow: bool) -> None:
        pos = self.pos
        if self.calls == self.size:
            old = self.outcomes[pos]
            self.failures -= old & 1
            self.slow -= old >> 1
        else:
            self.calls += 1
        self.outcomes[pos] = failed | (slow << 1)
        self.failures += failed
        self.slow += slow
        self.pos = pos + 1 if pos + 1 < self.size else 0

    def reset(self) -> None:
        # Slots fill again from 0 before any is evicted, so stale bytes are never read.
        self.pos = self.calls = self.failures = self.slow = 0


class _TimeWindow:
    """Outcomes of the last ``size`` whole seconds, one bucket per second (as Resilience4j)."""

    __slots__ = ("size", "b_calls", "b_failures", "b_slow", "head", "calls", "failures", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.reset()

    def add(self, now: float, failed: bool, slow: bool) -> None:
        second = math.floor(now)
        if second > self.head:
            self._advance(second)
        i = self.head % self.size  # a late result (earlier second) joins the newest bucket
        self.b_calls[i] += 1
        self.b_failures[i] += failed
        self.b_slow[i] += slow
        self.calls += 1
        self.failures += failed
        self.slow += slow

    def _advance(self, second: int) -> None:
        size = self.size
        if second - self.head >= size:
            self.b_calls = [0] * size
            self.b_failures = [0] * size
            self.b_slow = [0] * size
            self.calls = self.failures = self.slow = 0
        else:
            for s in range(self.head + 1, second + 1):
                i = s % size
                self.calls -= self.b_calls[i]
                self.failures -= self.b_failures[i]
                self.slow -= self.b_slow[i]
                self.b_calls[i] = self.b_failures[i] = self.b_slow[i] = 0
        self.head = second

    def reset(self) -> None:
        size = self.size
        self.b_calls = [0] * size
        self.b_failures = [0] * size
        self.b_slow = [0] * size
        self.head = -(2**62)
        self.calls = self.failures = self.slow = 0


class CircuitBreaker:
    """One breaker's runtime state. ``allow`` before a call, ``record`` after it."""

    __slots__ = (
        "policy", "transitions", "rejected", "opened",
        "_enabled", "_state", "_window", "_min_calls", "_failure_threshold", "_slow_threshold",
        "_slow_s", "_open_s", "_open_until", "_trials", "_trial_permits", "_trial_calls",
        "_trial_failures", "_trial_slow",
    )  # fmt: skip

    def __init__(self, policy: CircuitBreakerPolicy) -> None:
        self.policy = policy
        self.transitions: list[tuple[float, str]] = []
        """(time, new state) for every transition; the breaker starts closed."""
        self.rejected = 0
        """Calls refused by ``allow``."""
        self.opened = 0
        """Transitions into OPEN (from closed or half-open)."""
        self._enabled = policy.enabled
        self._state: BreakerState = CLOSED
        if policy.window_type == "count":
            self._window: _CountWindow | _TimeWindow = _CountWindow(policy.window_size)
            self._min_calls = min(policy.minimum_calls, policy.window_size)
        else:
            self._window = _TimeWindow(policy.window_size)
            self._min_calls = policy.minimum_calls
        self._failure_threshold = policy.failure_rate_threshold
        self._slow_threshold = policy.slow_call_rate_threshold
        self._slow_s = policy.slow_call_duration_s
        self._open_s = policy.open_duration_s
        self._open_until = math.inf
        self._trials = policy.half_open_calls
        self._trial_permits = self._trial_calls = self._trial_failures = self._trial_slow = 0

    def allow(self, now: float) -> bool:
        """Whether a call may start now; a refusal is counted in ``rejected``."""
        state = self._state
        if state is CLOSED:  # a disabled breaker never leaves CLOSED
            return True
        if state is OPEN:
            if now < self._open_until:
                self.rejected += 1
                return False
            self._enter(HALF_OPEN, now)
        if self._trial_permits < self._trials:
            self._trial_permits += 1
            return True
        self.rejected += 1
        return False

    def record(self, now: float, success: bool, duration_s: float) -> None:
        """Report the outcome of a permitted call that took ``duration_s``."""
        if not self._enabled:
            return
        failed = not success
        slow = duration_s > self._slow_s
        state = self._state
        if state is CLOSED:
            window = self._window
            window.add(now, failed, slow)
            calls = window.calls
            if calls >= self._min_calls and (
                window.failures / calls >= self._failure_threshold
                or window.slow / calls >= self._slow_threshold
            ):
                self._enter(OPEN, now)
        elif state is HALF_OPEN:
            self._trial_calls += 1
            self._trial_failures += failed
            self._trial_slow += slow
            calls = self._trial_calls
            if calls >= self._trials:
                tripped = (
                    self._trial_failures / calls >= self._failure_threshold
                    or self._trial_slow / calls >= self._slow_threshold
                )
                self._enter(OPEN if tripped else CLOSED, now)

    def state(self, now: float) -> BreakerState:
        """The state at ``now`` (moves OPEN → HALF_OPEN once the open duration has passed)."""
        if self._state is OPEN and now >= self._open_until:
            self._enter(HALF_OPEN, now)
        return self._state

    def _enter(self, state: BreakerState, now: float) -> None:
        self._state = state
        self.transitions.append((now, state))
        if state is OPEN:
            self.opened += 1
            self._open_until = now + self._open_s
        elif state is HALF_OPEN:
            self._trial_permits = self._trial_calls = self._trial_failures = self._trial_slow = 0
        else:
            self._window.reset()
            self._open_until = math.inf
