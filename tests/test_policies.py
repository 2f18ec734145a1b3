"""Resilience policies: retry delays, circuit breaker, retry budget, adaptive throttle, shedding."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pydantic import ValidationError

from sim.config.policies import (
    AdaptiveThrottlePolicy, CircuitBreakerPolicy, LoadSheddingPolicy, RetryBudgetPolicy, RetryPolicy, RetryStrategy,
)
from sim.policies.breaker import CircuitBreaker
from sim.policies.budget import RetryBudget, TokenBucket
from sim.policies.retry import Retrier, backoff_s
from sim.policies.shedding import LoadShedder
from sim.policies.throttle import AdaptiveThrottle

# --------------------------------------------------------------------------- retry strategies

BASE_S, CAP_S = 0.005, 2.0  # the AWS backoff article's setting (docs/design.md §13)
SEED = 20150304


def expected_delays(strategy: RetryStrategy, seed: int, attempts: range) -> list[float]:
    """docs/design.md §7.1's formulas, drawing U(a, b) as a + (b − a)·random() from a fresh stream."""
    ref = random.Random(seed)
    delays, prev = [], BASE_S
    for attempt in attempts:
        t = min(CAP_S, BASE_S * 2**attempt)
        if strategy in (RetryStrategy.NONE, RetryStrategy.IMMEDIATE):
            d = 0.0
        elif strategy is RetryStrategy.FIXED:
            d = BASE_S
        elif strategy is RetryStrategy.INCREMENTAL:
            d = min(CAP_S, BASE_S * attempt)
        elif strategy is RetryStrategy.EXPONENTIAL:
            d = t
        elif strategy is RetryStrategy.FULL_JITTER:
            d = t * ref.random()
        elif strategy is RetryStrategy.EQUAL_JITTER:
            d = t / 2 + (t / 2) * ref.random()
        else:
            d = min(CAP_S, BASE_S + (3 * prev - BASE_S) * ref.random())
        delays.append(d)
        prev = d
    return delays


def policy_for(strategy: RetryStrategy, **kw: object) -> RetryPolicy:
    return RetryPolicy.model_validate({"strategy": strategy.value, "base": "5ms", "cap": "2s", **kw})


JITTERED = {RetryStrategy.FULL_JITTER, RetryStrategy.EQUAL_JITTER, RetryStrategy.DECORRELATED_JITTER}


@pytest.mark.parametrize("strategy", list(RetryStrategy))
def test_backoff_matches_formula_for_attempts_1_to_6(strategy: RetryStrategy) -> None:
    policy, rng = policy_for(strategy), random.Random(SEED)
    got, prev = [], policy.base_s
    for attempt in range(1, 7):
        prev = backoff_s(policy, attempt, prev, rng)
        got.append(prev)
    assert got == expected_delays(strategy, SEED, range(1, 7))
    # Deterministic strategies draw nothing, so they leave shared streams (CRN) untouched.
    ref = random.Random(SEED)
    for _ in range(6 if strategy in JITTERED else 0):
        ref.random()
    assert rng.random() == ref.random()


def test_deterministic_delays_by_hand() -> None:
    def delays(strategy: RetryStrategy) -> list[float]:
        policy = policy_for(strategy)
        return [backoff_s(policy, a, BASE_S, random.Random(0)) for a in range(1, 7)]

    assert delays(RetryStrategy.IMMEDIATE) == [0.0] * 6
    assert delays(RetryStrategy.FIXED) == [0.005] * 6
    assert delays(RetryStrategy.INCREMENTAL) == pytest.approx([0.005, 0.010, 0.015, 0.020, 0.025, 0.030])
    assert delays(RetryStrategy.EXPONENTIAL) == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.16, 0.32])


def test_cap_bounds_growth_without_overflow() -> None:
    exponential, incremental = policy_for(RetryStrategy.EXPONENTIAL), policy_for(RetryStrategy.INCREMENTAL)
    rng = random.Random(0)
    assert backoff_s(exponential, 8, BASE_S, rng) == pytest.approx(1.28)
    assert [backoff_s(exponential, a, BASE_S, rng) for a in (9, 10, 10_000)] == [CAP_S] * 3
    assert backoff_s(incremental, 399, BASE_S, rng) == pytest.approx(1.995)
    assert [backoff_s(incremental, a, BASE_S, rng) for a in (400, 10_000)] == [CAP_S] * 2


@settings(deadline=None)
@given(
    strategy=st.sampled_from(sorted(JITTERED, key=lambda s: s.value)),
    attempt=st.integers(1, 200),
    prev=st.floats(0.0, 5.0),
    seed=st.integers(0, 2**32),
)
def test_jittered_delays_stay_in_their_interval(strategy: RetryStrategy, attempt: int, prev: float, seed: int) -> None:
    d = backoff_s(policy_for(strategy), attempt, prev, random.Random(seed))
    t = min(CAP_S, BASE_S * 2.0 ** min(attempt, 62))
    low, high = {
        RetryStrategy.FULL_JITTER: (0.0, t),
        RetryStrategy.EQUAL_JITTER: (t / 2, t),
        RetryStrategy.DECORRELATED_JITTER: (min(CAP_S, BASE_S), min(CAP_S, 3 * max(prev, BASE_S))),
    }[strategy]
    assert low <= d <= high * (1 + 1e-12)  # U(a, b) may round onto b


@pytest.mark.parametrize("strategy", [s for s in RetryStrategy if s is not RetryStrategy.NONE])
def test_retrier_delays_follow_the_formula_and_stop_at_max_attempts(strategy: RetryStrategy) -> None:
    retrier = Retrier(policy_for(strategy, max_attempts=7), random.Random(SEED), started_at=0.0)
    delays = [retrier.next_delay_s(now=0.0) for _ in range(6)]
    assert delays == expected_delays(strategy, SEED, range(1, 7))
    assert retrier.next_delay_s(now=0.0) is None  # the 7th failure ends the call
    assert retrier.failures == 7


def test_retrier_max_attempts_counts_the_first_attempt() -> None:
    retrier = Retrier(policy_for(RetryStrategy.FIXED, max_attempts=3), random.Random(0), started_at=0.0)
    assert [retrier.next_delay_s(0.0), retrier.next_delay_s(0.0), retrier.next_delay_s(0.0)] == [0.005, 0.005, None]


def test_retrier_gives_up_when_the_next_attempt_would_start_after_the_deadline() -> None:
    policy = RetryPolicy.model_validate({"strategy": "fixed", "base": "1s", "max_attempts": 10, "deadline": "2.5s"})
    retrier = Retrier(policy, random.Random(0), started_at=100.0)
    assert retrier.next_delay_s(now=100.2) == 1.0  # next attempt at +1.2 s
    assert retrier.next_delay_s(now=101.5) == 1.0  # at +2.5 s: exactly on the deadline, allowed
    assert retrier.next_delay_s(now=102.6) is None  # would start at +3.6 s


def test_retrier_honours_retry_after_only_when_told_and_only_when_longer() -> None:
    honour = Retrier(policy_for(RetryStrategy.FIXED, max_attempts=5), random.Random(0), 0.0)
    assert honour.next_delay_s(0.0, retry_after_s=3.0) == 3.0
    assert honour.next_delay_s(0.0, retry_after_s=0.001) == BASE_S
    ignore = Retrier(policy_for(RetryStrategy.FIXED, max_attempts=5, honour_retry_after=False), random.Random(0), 0.0)
    assert ignore.next_delay_s(0.0, retry_after_s=3.0) == BASE_S
    # Retry-After that pushes the next attempt past the deadline means giving up.
    late = Retrier(policy_for(RetryStrategy.FIXED, max_attempts=5, deadline="10s"), random.Random(0), 0.0)
    assert late.next_delay_s(1.0, retry_after_s=30.0) is None


def test_none_never_retries() -> None:
    policy = RetryPolicy.model_validate({"strategy": "none", "max_attempts": 5})
    assert policy.max_attempts == 1 and policy.retries == 0
    retrier = Retrier(policy, random.Random(0), started_at=0.0)
    assert retrier.next_delay_s(0.0, retry_after_s=1.0) is None


def test_none_never_retries_when_built_in_python() -> None:
    # Regression: an "after" validator returning a copy is ignored by RetryPolicy(...).
    policy = RetryPolicy(strategy=RetryStrategy.NONE, max_attempts=5)
    assert policy.max_attempts == 1
    assert Retrier(policy, random.Random(0), started_at=0.0).next_delay_s(0.0, retry_after_s=1.0) is None


# --------------------------------------------------------------------------- circuit breaker


def breaker(**kw: object) -> CircuitBreaker:
    return CircuitBreaker(CircuitBreakerPolicy(enabled=True, **kw))


def test_breaker_policy_defaults_are_resilience4j_and_yaml_keys_carry_units() -> None:
    p = CircuitBreakerPolicy()
    assert (p.enabled, p.window_type, p.window_size, p.minimum_calls) == (False, "count", 100, 100)
    assert (p.failure_rate_threshold, p.slow_call_rate_threshold) == (0.5, 1.0)
    assert (p.slow_call_duration_s, p.open_duration_s, p.half_open_calls) == (60.0, 60.0, 10)
    p = CircuitBreakerPolicy.model_validate({"open_duration": "30s", "slow_call_duration": "250ms"})
    assert (p.open_duration_s, p.slow_call_duration_s) == (30.0, 0.25)
    for bad in ({"open_duration_s_typo": 1}, {"failure_rate_threshold": 0}, {"window_type": "sliding"}):
        with pytest.raises(ValidationError):
            CircuitBreakerPolicy.model_validate(bad)


def test_breaker_opens_on_failure_rate_then_probes_and_closes() -> None:
    b = breaker(window_size=4, minimum_calls=4, open_duration_s=10.0, half_open_calls=2)
    for t, ok in [(0.0, True), (1.0, False), (2.0, True)]:
        b.record(t, ok, 0.1)
    assert b.state(2.0) == "closed"  # 1/3 failed, and fewer than minimum_calls anyway
    b.record(3.0, False, 0.1)  # 2/4 = 50 % >= 50 %
    assert b.transitions == [(3.0, "open")]
    assert [b.allow(5.0), b.allow(12.999), b.state(12.999)] == [False, False, "open"]
    assert [b.allow(13.0), b.allow(13.5), b.allow(13.6)] == [True, True, False]  # two trials only
    assert b.rejected == 3
    b.record(14.0, True, 0.1)
    assert b.state(14.0) == "half_open"  # waits for both trials
    b.record(15.0, True, 0.1)
    assert b.transitions == [(3.0, "open"), (13.0, "half_open"), (15.0, "closed")]
    # Closing starts a fresh window: three more failures are below minimum_calls again.
    for t in (16.0, 17.0, 18.0):
        b.record(t, False, 0.1)
    assert b.state(18.0) == "closed"
    b.record(19.0, False, 0.1)
    assert b.transitions[-1] == (19.0, "open") and b.opened == 2


def test_breaker_failed_trial_reopens_and_half_open_is_entered_lazily() -> None:
    b = breaker(window_size=2, minimum_calls=2, open_duration_s=5.0, half_open_calls=1)
    b.record(0.0, False, 0.1)
    b.record(1.0, False, 0.1)
    assert b.state(5.99) == "open"
    assert b.state(6.5) == "half_open"  # first look at or after 6.0
    assert b.allow(7.0) is True
    b.record(8.0, False, 0.1)
    assert [b.allow(12.9), b.allow(13.0)] == [False, True]  # open again until 8 + 5
    b.record(13.2, True, 0.1)
    assert b.transitions == [(1.0, "open"), (6.5, "half_open"), (8.0, "open"), (13.0, "half_open"), (13.2, "closed")]
    assert (b.opened, b.rejected) == (2, 1)


def test_breaker_needs_minimum_calls_which_a_count_window_caps_at_its_size() -> None:
    b = breaker(window_size=10, minimum_calls=5)
    for t in range(4):
        b.record(float(t), False, 0.1)
    assert b.state(4.0) == "closed"
    b.record(4.0, False, 0.1)
    assert b.transitions == [(4.0, "open")]
    small = breaker(window_size=3, minimum_calls=100)  # Resilience4j: min(minimum_calls, window_size)
    for t in range(3):
        small.record(float(t), False, 0.1)
    assert small.transitions == [(2.0, "open")]


def test_breaker_count_window_forgets_the_oldest_call() -> None:
    b = breaker(window_size=4, minimum_calls=4, failure_rate_threshold=0.75)
    for t, ok in enumerate([False, False, True, True, True, False, False]):
        b.record(float(t), ok, 0.1)
    assert b.state(7.0) == "closed"  # window S S F F = 50 %
    b.record(7.0, False, 0.1)  # window S F F F = 75 %; all eight calls: 5/8
    assert b.transitions == [(7.0, "open")]


def test_breaker_opens_on_slow_calls_strictly_longer_than_the_threshold() -> None:
    policy = dict(window_size=4, minimum_calls=4, slow_call_duration_s=1.0, slow_call_rate_threshold=0.5)
    at_threshold = breaker(**policy)
    for t in range(8):
        at_threshold.record(float(t), True, 1.0)
    assert at_threshold.transitions == []
    slow = breaker(**policy)
    for t, duration in enumerate([2.0, 0.5, 0.5, 2.0]):
        slow.record(float(t), True, duration)
    assert slow.transitions == [(3.0, "open")]  # 2 slow of 4, no failures


def test_breaker_time_window_counts_only_the_last_whole_seconds() -> None:
    b = breaker(window_type="time", window_size=10, minimum_calls=3)
    b.record(11.5, False, 0.1)  # second 11: gone once second 21 is reached
    b.record(12.5, False, 0.1)  # second 12: the oldest second still inside at 21
    b.record(21.0, True, 0.1)  # window F S: below minimum_calls (with second 11: 2/3, open)
    b.record(21.5, True, 0.1)  # F S S = 33 %
    assert b.state(21.5) == "closed"
    b.record(21.9, False, 0.1)  # F S S F = 50 % (without second 12: 33 %)
    assert b.transitions == [(21.9, "open")]
    steady = breaker(window_type="time", window_size=3, minimum_calls=3, failure_rate_threshold=0.4)
    for t, ok in [(0.0, False), (1.0, True), (2.0, True), (3.0, True), (3.5, False)]:
        steady.record(t, ok, 0.1)  # at 3.5, seconds 1..3: S S S F = 25 % (with second 0: 40 %)
    assert steady.state(3.5) == "closed"
    steady.record(4.0, False, 0.1)  # seconds 2..4: S S F F = 50 %
    assert steady.transitions == [(4.0, "open")]


def test_breaker_time_window_expires_everything_after_a_long_gap() -> None:
    b = breaker(window_type="time", window_size=5, minimum_calls=3)
    b.record(0.0, False, 0.1)
    b.record(1.0, False, 0.1)
    b.record(1000.0, True, 0.1)  # the two failures are long gone: 0/1
    b.record(1000.5, True, 0.1)
    b.record(1001.0, False, 0.1)  # 1/3
    assert b.state(1001.0) == "closed"
    b.record(1002.0, False, 0.1)  # 2/4
    assert b.transitions == [(1002.0, "open")]


def test_breaker_with_resilience4j_defaults() -> None:
    b = breaker()
    for i in range(50):
        b.record(float(i), True, 0.1)
    for i in range(50, 99):
        b.record(float(i), False, 0.1)
    assert b.state(99.0) == "closed"  # 99 calls < minimum_calls 100
    b.record(99.0, False, 0.1)
    assert b.transitions == [(99.0, "open")]
    assert b.allow(158.9) is False and b.state(159.0) == "half_open"
    assert sum(b.allow(159.0) for _ in range(20)) == 10  # 10 trials
    for i in range(10):
        b.record(160.0, i % 2 == 0, 0.1)  # 5 of 10 trials fail: 50 % is not below the threshold
    assert b.transitions == [(99.0, "open"), (159.0, "half_open"), (160.0, "open")]


def test_disabled_breaker_permits_everything() -> None:
    b = CircuitBreaker(CircuitBreakerPolicy(minimum_calls=1, window_size=1))
    for i in range(200):
        b.record(float(i), False, 100.0)
        assert b.allow(float(i))
    assert (b.state(1e6), b.transitions, b.rejected, b.opened) == ("closed", [], 0, 0)


class ReferenceBreaker:
    """Resilience4j's breaker written the obvious way: plain lists, filtered on every call."""

    def __init__(self, p: CircuitBreakerPolicy) -> None:
        self.p, self.state, self.log, self.rejected, self.permits, self.trials = p, "closed", [], 0, 0, []
        self.window: list[tuple[int, bool, bool]] = []  # (second, failed, slow)
        self.second = -1

    def go(self, state: str, now: float) -> None:
        self.state, self.trials, self.permits, self.until = state, [], 0, now + self.p.open_duration_s
        self.log.append((now, state))
        self.window = [] if state == "closed" else self.window

    def tripped(self, calls: list[tuple[int, bool, bool]]) -> bool:
        failed, slow = sum(c[1] for c in calls) / len(calls), sum(c[2] for c in calls) / len(calls)
        return failed >= self.p.failure_rate_threshold or slow >= self.p.slow_call_rate_threshold

    def current(self, now: float) -> str:
        if self.state == "open" and now >= self.until:
            self.go("half_open", now)
        return self.state

    def allow(self, now: float) -> bool:
        state = self.current(now)
        ok = state == "closed" or (state == "half_open" and self.permits < self.p.half_open_calls)
        self.permits += state == "half_open" and ok
        self.rejected += not ok
        return ok

    def record(self, now: float, success: bool, duration_s: float) -> None:
        p, self.second = self.p, max(self.second, math.floor(now))
        call = (self.second, not success, duration_s > p.slow_call_duration_s)
        if self.state == "closed":
            self.window.append(call)
            if p.window_type == "count":
                self.window, needed = self.window[-p.window_size :], min(p.minimum_calls, p.window_size)
            else:
                self.window, needed = [c for c in self.window if c[0] > self.second - p.window_size], p.minimum_calls
            if len(self.window) >= needed and self.tripped(self.window):
                self.go("open", now)
        elif self.state == "half_open":
            self.trials.append(call)
            if len(self.trials) == p.half_open_calls:
                self.go("open" if self.tripped(self.trials) else "closed", now)


class BreakerMachine(RuleBasedStateMachine):
    """Random calls, outcomes and time steps: the breaker must agree with the reference."""

    @initialize(
        window_type=st.sampled_from(["count", "time"]),
        window=st.integers(1, 6),
        minimum=st.integers(1, 8),
        trials=st.integers(1, 4),
        failure=st.sampled_from([0.2, 0.5, 2 / 3, 1.0]),
        slow=st.sampled_from([0.5, 1.0]),
    )
    def setup(self, window_type: str, window: int, minimum: int, trials: int, failure: float, slow: float) -> None:
        policy = CircuitBreakerPolicy(
            enabled=True, window_type=window_type, window_size=window, minimum_calls=minimum,
            half_open_calls=trials, failure_rate_threshold=failure, slow_call_rate_threshold=slow,
            slow_call_duration_s=1.0, open_duration_s=10.0,
        )  # fmt: skip
        self.breaker, self.model, self.now = CircuitBreaker(policy), ReferenceBreaker(policy), 0.0

    @rule(dt=st.sampled_from([0.0, 0.25, 0.75, 1.0, 3.0, 9.75, 10.0, 40.0]))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule()
    def allow(self) -> None:
        assert self.breaker.allow(self.now) == self.model.allow(self.now)

    @rule(success=st.booleans(), duration_s=st.sampled_from([0.1, 1.0, 1.5]))
    def record(self, success: bool, duration_s: float) -> None:
        self.breaker.record(self.now, success, duration_s)
        self.model.record(self.now, success, duration_s)

    @invariant()
    def agrees(self) -> None:
        assert self.breaker.state(self.now) == self.model.current(self.now)
        assert self.breaker.transitions == self.model.log
        assert self.breaker.rejected == self.model.rejected
        assert self.breaker.opened == sum(state == "open" for _, state in self.model.log)


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(stateful_step_count=40, deadline=None)


# --------------------------------------------------------------------------- retry budget


def attempts_made(p_fail: float, budget: RetryBudget | None, requests: int = 1000, max_attempts: int = 3) -> int:
    """Attempts for ``requests`` calls failing independently with ``p_fail``, retried at once."""
    rng, attempts = random.Random(0), 0
    for _ in range(requests):
        for attempt in range(1, max_attempts + 1):
            attempts += 1
            if rng.random() >= p_fail:
                if budget is not None:
                    budget.record_success()
                break
            if attempt == max_attempts or (budget is not None and not budget.can_retry()):
                break
    return attempts


def test_retry_budget_in_a_total_outage_spends_only_the_initial_bucket() -> None:
    assert attempts_made(1.0, None) == 3000  # docs/design.md §13 without a budget: 3 attempts each
    budget = RetryBudget(RetryBudgetPolicy(enabled=True))
    assert attempts_made(1.0, budget) == 1000 + 5  # 1.005 attempts per request
    assert (budget.spent, budget.denied, budget.tokens) == (5, 998, 0.0)  # request 3 is refused its 2nd retry


def test_retry_budget_at_half_failure_holds_load_near_1_1() -> None:
    unbudgeted = attempts_made(0.5, None) / 1000
    assert unbudgeted == pytest.approx(1.75, abs=0.05)  # (1 − p³)/(1 − p)
    budget = RetryBudget(RetryBudgetPolicy(enabled=True))
    attempts = attempts_made(0.5, budget)
    assert budget.spent == attempts - 1000  # every retry spent a token
    # Retries R ≈ 5 + 0.1·S with S ≈ 500 + R/2 successes → R ≈ 57.9 → load ≈ 1.058.
    assert attempts / 1000 == pytest.approx(1.058, abs=0.01)
    assert attempts / 1000 <= 1.1 + 5 / 1000


def test_retry_budget_earns_exactly_one_token_per_ten_successes_and_caps_at_size() -> None:
    budget = RetryBudget(RetryBudgetPolicy(enabled=True, max_tokens=1.0))
    assert budget.can_retry() and not budget.can_retry()
    for _ in range(9):
        budget.record_success()
    assert not budget.can_retry()
    budget.record_success()  # 10 × 0.1 == 1 exactly (no float drift)
    assert budget.can_retry()
    for _ in range(1000):
        budget.record_success()
    assert budget.tokens == 1.0


def test_disabled_retry_budget_never_refuses() -> None:
    budget = RetryBudget(RetryBudgetPolicy())
    assert all(budget.can_retry() for _ in range(100))


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=5)
    assert [bucket.try_take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert [bucket.try_take(0.1), bucket.try_take(0.1)] == [True, False]
    assert sum(bucket.try_take(10.0) for _ in range(10)) == 5  # refill is capped at the burst
    steady = TokenBucket(rate_per_s=10.0, burst=5)
    assert sum(steady.try_take(i / 1000) for i in range(100_001)) == 5 + 10 * 100
    assert steady.rejected == 100_001 - 1005


# --------------------------------------------------------------------------- adaptive throttle


def test_throttle_with_no_accepts_rejects_with_probability_n_over_n_plus_1() -> None:
    throttle = AdaptiveThrottle(AdaptiveThrottlePolicy(enabled=True))
    rng, ref = random.Random(SEED), random.Random(SEED)
    sent = 0
    for n in range(1000):
        p = throttle.reject_probability(1.0)
        assert p == n / (n + 1)  # = 1 − 1/(n+1) after n requests and no accepts
        expected = p == 0.0 or ref.random() >= p
        assert throttle.should_send(1.0, rng) is expected
        sent += expected
        throttle.record(1.0, accepted=False)
    assert sent == 1000 - throttle.throttled
    assert sent < 20  # about Σ 1/n ≈ ln 1000: the backend is left alone


def test_throttle_sends_everything_when_everything_is_accepted() -> None:
    throttle = AdaptiveThrottle(AdaptiveThrottlePolicy(enabled=True))
    rng = random.Random(1)
    for i in range(5000):
        now = i * 0.1
        assert throttle.should_send(now, rng)
        throttle.record(now, accepted=True)
    assert throttle.throttled == 0
    assert rng.random() == random.Random(1).random()  # no draws when p = 0


def test_throttle_formula_with_partial_accepts_and_k() -> None:
    throttle = AdaptiveThrottle(AdaptiveThrottlePolicy(enabled=True, k=2.0))
    rng = random.Random(0)
    for i in range(400):
        throttle.should_send(0.0, rng)
        throttle.record(0.0, accepted=i % 4 == 0)  # 100 accepts
    assert (throttle.requests, throttle.accepts) == (400, 100)
    assert throttle.reject_probability(0.0) == (400 - 2 * 100) / 401
    for _ in range(100):  # half accepted: requests = k · accepts, nothing rejected
        throttle.record(0.0, accepted=True)
    assert throttle.reject_probability(0.0) == 0.0


def test_throttle_forgets_after_the_window() -> None:
    throttle = AdaptiveThrottle(AdaptiveThrottlePolicy.model_validate({"enabled": True, "window": "2m"}))
    rng = random.Random(0)
    for _ in range(10):
        throttle.should_send(0.0, rng)
    assert throttle.reject_probability(100.0) == 10 / 11
    assert throttle.reject_probability(125.0) == 0.0  # 120 s window, 2 s buckets


def test_disabled_throttle_sends_everything() -> None:
    throttle = AdaptiveThrottle(AdaptiveThrottlePolicy())
    assert all(throttle.should_send(0.0, random.Random(0)) for _ in range(100))


# --------------------------------------------------------------------------- load shedding


def test_load_shedder_limits_in_flight() -> None:
    shedder = LoadShedder(LoadSheddingPolicy(enabled=True, max_in_flight=2))
    assert [shedder.try_enter(0.0) for _ in range(3)] == [True, True, False]
    assert (shedder.in_flight, shedder.shed) == (2, 1)
    shedder.leave()
    assert [shedder.try_enter(1.0), shedder.try_enter(1.0)] == [True, False]
    assert (shedder.in_flight, shedder.peak_in_flight, shedder.shed, shedder.admitted) == (2, 2, 2, 3)
    shedder.leave()
    shedder.leave()
    with pytest.raises(RuntimeError):
        shedder.leave()


def test_load_shedding_refuses_a_queue_wait_and_names_the_queues_key() -> None:
    """The shedder admits a request before it queues: a queueing bound is the queue's key, and the
    shedder's former one is refused with a pointer to it (it would change nothing)."""
    with pytest.raises(ValidationError, match="queue.max_queue_wait"):
        LoadSheddingPolicy.model_validate({"enabled": True, "max_queue_wait": "500ms"})


@settings(deadline=None)
@given(st.lists(st.booleans(), max_size=200), st.integers(1, 5))
def test_load_shedder_never_exceeds_its_limit(ops: list[bool], limit: int) -> None:
    shedder, admitted = LoadShedder(LoadSheddingPolicy(enabled=True, max_in_flight=limit)), 0
    for enter in ops:
        if enter:
            ok = shedder.try_enter(0.0)
            assert ok == (admitted < limit)
            admitted += ok
        elif admitted:
            shedder.leave()
            admitted -= 1
        assert shedder.in_flight == admitted <= limit


def test_disabled_load_shedder_admits_everything() -> None:
    shedder = LoadShedder(LoadSheddingPolicy(max_in_flight=1))
    assert all(shedder.try_enter(5.0) for _ in range(10))
    assert shedder.shed == 0 and shedder.in_flight == 10
