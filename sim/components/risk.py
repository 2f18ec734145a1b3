"""The fraud/risk check: a dependency that can be slow, overloaded or down, with a small-amount
fallback.

The check is a queue in front of ``servers`` (a :class:`~sim.components.stations.DelayStation`):
``c`` checks run at once and the rest wait, FIFO by default. With Poisson arrivals and an
exponential latency that is exactly an M/M/c stage, which ``sim/validation/mmc.py`` checks against
Erlang C. The caller stops waiting after ``timeout``; a check it gave up on still runs to its end
(abandoned work). A full queue refuses the check at once, which the caller treats as the service
being unavailable (the fallback rule applies; a full risk service answers 503, which is retryable).
A LIFO stage has no wait computable at arrival: its checks are served event by event, the caller's
timeout racing the answer. With the ``retry.retry_non_retryable`` flaw a rejection is retried like
an unavailable check: a new check may approve what the last one rejected. :class:`QueueStats` keeps the stage's waits, times
in system and time-average number in system, for the validation.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import Any, Generator, Final

import simpy

from sim.components.stations import DelayStation
from sim.kernel.scheduling import Waitable, clock, first_of, sleep
from sim.config.distributions import make_sampler
from sim.config.model import RiskConfig
from sim.observe.metrics import Histogram, Metrics
from sim.policies.breaker import CircuitBreaker
from sim.policies.budget import RetryBudget
from sim.policies.retry import Retrier
from sim.rng import Streams

APPROVE: Final = 0
REJECT: Final = 1
UNAVAILABLE: Final = 2


class QueueStats:
    """Streaming statistics of the risk stage since ``since_s`` (reset to delete warm-up).

    ``wait`` holds the time from arrival to the start of service of each check, ``sojourn`` arrival
    to the end of service; ``area`` integrates the number in the stage (queued or in service) over
    time, for Little's law ``L = λW``. Checks are recorded when they arrive (the station knows then
    when they will start and end); the number in the stage is tracked from their end times.
    """

    __slots__ = ("metrics", "wait", "sojourn", "area", "last_s", "since_s", "arrivals", "_ends")

    def __init__(self, metrics: Metrics, now: float) -> None:
        self.metrics = metrics
        self._ends: list[float] = []
        self.area = 0.0
        self.last_s = now
        self.reset(now)

    def reset(self, now: float) -> None:
        """Forget everything observed before ``now`` (the number in system carries over)."""
        self.wait = self.metrics.histograms["risk.wait_s"] = Histogram()
        self.sojourn = self.metrics.histograms["risk.time_in_system_s"] = Histogram()
        self._advance(now)
        self.area = 0.0
        self.last_s = self.since_s = now
        self.arrivals = 0

    def _advance(self, now: float) -> None:
        """Integrate the number in the stage up to ``now``, letting finished checks leave."""
        ends, last, area = self._ends, self.last_s, self.area
        while ends and ends[0] <= now:
            end = heappop(ends)
            area += (end - last) * (len(ends) + 1)  # the check that just left was still in
            last = end
        area += (now - last) * len(ends)
        self.area, self.last_s = area, now

    def record(self, now: float, wait_s: float, sojourn_s: float) -> None:
        self._advance(now)
        self.arrivals += 1
        self.wait.add(wait_s)
        self.sojourn.add(sojourn_s)
        heappush(self._ends, now + sojourn_s)

    def mean_in_system(self, now: float) -> float:
        """Time-average number in the stage from ``since_s`` to ``now``."""
        self._advance(now)
        elapsed = now - self.since_s
        return self.area / elapsed if elapsed > 0 else 0.0


def fails_open(cfg: RiskConfig, amount_minor: int) -> bool:
    """No decision (the service down, refusing, or too slow): let this amount through anyway? Up to
    the fallback limit (correct), or any amount (the ``fail_open: any_amount`` flaw)."""
    return cfg.fail_open == "any_amount" or amount_minor <= cfg.fallback_max_amount_minor


class RiskService:
    def __init__(self, env: simpy.Environment, cfg: RiskConfig, streams: Streams, metrics: Metrics) -> None:
        self.env = env
        self.cfg = cfg
        self.metrics = metrics
        self._latency_s = make_sampler(cfg.latency, streams.stream("risk.latency"))
        self._decisions = streams.stream("risk.decisions")
        self._timeout_s = cfg.timeout_s if cfg.timeout_s is not None else math.inf
        self._reject_probability = cfg.reject_probability
        self.down = 0
        """Active risk-outage faults: the check times out."""
        self.station = DelayStation(env, "risk", cfg.servers, cfg.queue)
        self._in_turn = cfg.servers is not None and cfg.queue.discipline != "fifo"
        """LIFO with finite servers: no wait computable at arrival, the check is served event by event."""
        self._retries = cfg.retry.max_attempts > 1
        self._retry_rng = streams.stream("risk.retry") if self._retries else None
        self._retry_rejects = cfg.retry.retry_non_retryable
        """FLAW: a rejection is retried like an unavailable check (a new check may approve)."""
        self.budget = RetryBudget(cfg.retry_budget)
        self.breaker = CircuitBreaker(cfg.breaker)
        self._guarded = cfg.breaker.enabled
        self.stats: QueueStats | None = None
        """Queue statistics of the stage, kept only once :meth:`keep_stats` asked for them (the M/M/c
        validation does; a run does not pay two histograms and a heap push per check)."""
        self.unchecked: list[tuple[float, int]] = []
        """(time, amount) of each payment let through without a risk decision (the fallback rule)."""

    def keep_stats(self) -> QueueStats:
        """Start keeping the stage's statistics (a finite FIFO stage only: the M/M/c quantities)."""
        if self.cfg.servers is None or self.cfg.queue.discipline != "fifo":
            raise ValueError("queue statistics are kept for a finite FIFO risk stage only")
        self.stats = QueueStats(self.metrics, clock(self.env))
        return self.stats

    def check(self, amount_minor: int) -> Generator[Waitable, Any, int]:
        """APPROVE, REJECT, or UNAVAILABLE (down, refused or timed out — after the retries the
        design makes — and the amount is above the fallback limit). A function returning the
        generator, for the caller to ``yield from``: a single check needs no wrapping frame."""
        if not self._retries and not self._guarded:
            return self._attempt(amount_minor)
        return self._retried(amount_minor)

    def _retried(self, amount_minor: int) -> Generator[Waitable, Any, int]:
        """Checks under the retry policy, its budget and the breaker."""
        env, counters = self.env, self.metrics.counters
        retrier: Retrier | None = None
        while True:
            now = clock(env)
            if self._guarded and not self.breaker.allow(now):
                counters["risk.breaker_open"] += 1
                return self._fallback(amount_minor)
            decision = yield from self._attempt(amount_minor, decide=False)
            if self._guarded:
                self.breaker.record(clock(env), decision != UNAVAILABLE, clock(env) - now)
            if decision != UNAVAILABLE:
                self.budget.record_success()
                if decision == APPROVE or not self._retry_rejects:
                    return decision
            if retrier is None:
                retrier = Retrier(self.cfg.retry, self._retry_rng, now)
            delay = retrier.next_delay_s(clock(env)) if self._retries else None
            if delay is not None and not self.budget.can_retry():
                counters["risk.retry_budget_denied"] += 1
                delay = None
            if delay is None:
                return REJECT if decision == REJECT else self._fallback(amount_minor)
            counters["risk.retries"] += 1
            if decision == REJECT:  # FLAW: the check asked again until it approves
                counters["risk.rejects_retried"] += 1
            if delay > 0.0:
                yield sleep(env, delay)

    def _attempt(self, amount_minor: int, decide: bool = True) -> Generator[Waitable, Any, int]:
        """One check: APPROVE, REJECT, or — down, refused, or not answered in time — the fallback
        rule's answer (``decide``) or UNAVAILABLE for the caller to retry."""
        env = self.env
        timeout_s = self._timeout_s
        if self.down:
            if timeout_s != math.inf:
                yield sleep(env, timeout_s)  # without a timeout, the refused connection is seen at once
            return self._fallback(amount_minor) if decide else UNAVAILABLE
        service_s = self._latency_s()
        now = clock(env)
        if self._in_turn:
            answered = yield from self._served_in_turn(service_s, now + timeout_s, timeout_s)
            if answered is None or not answered:
                self.metrics.counters["risk.timeouts" if answered is None else "risk.refused"] += 1
                return self._fallback(amount_minor) if decide else UNAVAILABLE
            return self._decide()
        delay = self.station.delay_s(service_s, now + timeout_s)
        if delay < 0.0:  # the queue is full (or the check would be dropped): refused
            self.metrics.counters["risk.refused"] += 1
            if delay == -2.0:  # dropped: the caller notices at its timeout (or when the check leaves)
                yield sleep(env, min(timeout_s, self.station.drop_wait_s()))
            return self._fallback(amount_minor) if decide else UNAVAILABLE
        stats = self.stats
        if stats is not None:
            stats.record(now, delay - service_s, delay)
        if delay > timeout_s:
            self.metrics.counters["risk.timeouts"] += 1
            yield sleep(env, timeout_s)
            return self._fallback(amount_minor) if decide else UNAVAILABLE
        yield sleep(env, delay)
        return self._decide()

    def _decide(self) -> int:
        if self._decisions.random() < self._reject_probability:
            self.metrics.counters["risk.rejected"] += 1
            return REJECT
        return APPROVE

    def _served_in_turn(self, service_s: float, deadline_s: float,
                        timeout_s: float) -> Generator[Waitable, Any, bool | None]:
        """A LIFO stage: the check waits for a server event by event (its wait depends on who comes
        later); True when served in time, False when refused (queue full, or dropped), None when the
        caller's timeout came first (the check still runs: abandoned work)."""
        env = self.env
        answer = env.event()

        def served(_event: object) -> None:
            if not answer.triggered:
                answer.succeed(True)

        def refused(_event: object) -> None:
            if not answer.triggered:
                answer.succeed(False)

        self.station.serve(service_s, served, deadline_s, refused)
        if timeout_s == math.inf:
            return (yield answer)
        yield first_of(env, answer, timeout_s)
        return answer.value if answer.triggered else None

    def _fallback(self, amount_minor: int) -> int:
        if fails_open(self.cfg, amount_minor):
            self.metrics.counters["risk.fallback_used"] += 1
            self.unchecked.append((clock(self.env), amount_minor))
            return APPROVE
        self.metrics.counters["risk.unavailable"] += 1
        return UNAVAILABLE
