"""The fraud/risk check: a dependency that can be slow or down, with a small-amount fallback.

With ``servers: c`` the check is a queue: ``c`` checks run at once (a ``simpy.Resource`` held for
the service time) and the rest wait in FIFO order. With Poisson arrivals and an exponential
latency that is exactly an M/M/c stage, which ``sim/validation/mmc.py`` checks against Erlang C.
The queue's statistics (wait, time in system, time-average number in system) are kept in
:class:`QueueStats`; with ``servers: null`` (the default) there is no queue and nothing is kept.
"""

from __future__ import annotations

from typing import Generator

import simpy

from sim.kernel.scheduling import sleep, timeout_calling
from sim.config.distributions import make_sampler
from sim.config.model import RiskConfig
from sim.observe.metrics import Histogram, Metrics
from sim.rng import Streams

APPROVE, REJECT, UNAVAILABLE = 0, 1, 2


class QueueStats:
    """Streaming statistics of a queueing stage since ``since_s`` (reset to delete warm-up).

    ``wait`` holds the time from arrival to the start of service of each started check,
    ``sojourn`` arrival to the end of service of each completed one; ``area`` integrates the
    number in the stage (queued or in service) over time, for Little's law ``L = λW``.
    """

    __slots__ = ("metrics", "wait", "sojourn", "in_system", "area", "last_s", "since_s", "arrivals")

    def __init__(self, metrics: Metrics, now: float) -> None:
        self.metrics = metrics
        self.in_system = 0
        self.reset(now)

    def reset(self, now: float) -> None:
        """Forget everything observed before ``now`` (the number in system carries over)."""
        self.wait = self.metrics.histograms["risk.wait_s"] = Histogram()
        self.sojourn = self.metrics.histograms["risk.time_in_system_s"] = Histogram()
        self.area = 0.0
        self.last_s = self.since_s = now
        self.arrivals = 0

    def change(self, now: float, delta: int) -> None:
        self.area += self.in_system * (now - self.last_s)
        self.last_s = now
        self.in_system += delta

    def mean_in_system(self, now: float) -> float:
        """Time-average number in the stage from ``since_s`` to ``now``."""
        elapsed = now - self.since_s
        return (self.area + self.in_system * (now - self.last_s)) / elapsed if elapsed > 0 else 0.0


class RiskService:
    def __init__(self, env: simpy.Environment, cfg: RiskConfig, streams: Streams, metrics: Metrics) -> None:
        self.env = env
        self.cfg = cfg
        self.metrics = metrics
        self._latency_s = make_sampler(cfg.latency, streams.stream("risk.latency"))
        self._decisions = streams.stream("risk.decisions")
        self._timeout_s = cfg.timeout_s
        self._reject_probability = cfg.reject_probability
        self.down = 0
        """Active risk-outage faults: the check times out."""
        self.servers = simpy.Resource(env, capacity=cfg.servers) if cfg.servers else None
        self.stats = QueueStats(metrics, env.now) if self.servers is not None else None
        """Queue statistics when ``servers`` is set, else None."""

    def check(self, amount_minor: int) -> Generator[simpy.Event, None, int]:
        """APPROVE, REJECT, or UNAVAILABLE (down and the amount is above the fallback limit)."""
        env = self.env
        timeout_s = self._timeout_s
        if self.down:
            if timeout_s is not None:
                yield env.timeout(timeout_s)  # without a timeout, the refused connection is seen at once
            if amount_minor <= self.cfg.fallback_max_amount_minor:
                self.metrics.counters["risk.fallback_used"] += 1
                return APPROVE
            self.metrics.counters["risk.unavailable"] += 1
            return UNAVAILABLE
        if self.servers is not None:
            yield from self._queued(timeout_s)
        elif timeout_s is None:
            yield sleep(env, self._latency_s())
        else:
            latency_s = self._latency_s()
            yield sleep(env, latency_s if latency_s < timeout_s else timeout_s)
        if self._decisions.random() < self._reject_probability:
            self.metrics.counters["risk.rejected"] += 1
            return REJECT
        return APPROVE

    def _queued(self, timeout_s: float | None) -> Generator[simpy.Event, None, None]:
        """Wait for one of ``servers`` and hold it for the service time. The caller stops
        waiting after ``timeout_s`` (as in the unqueued path); a check already in service runs
        to its end and keeps its server busy until then."""
        env, stats, servers = self.env, self.stats, self.servers
        arrived = env.now
        stats.arrivals += 1
        stats.change(arrived, +1)
        request = servers.request()
        if timeout_s is None:
            yield request
        else:
            outcome = yield request | env.timeout(timeout_s)
            if request not in outcome:  # gave up while queued: leaves the queue
                if request.triggered:  # granted at the very instant of the timeout
                    servers.release(request)
                else:
                    request.cancel()
                stats.change(env.now, -1)
                self.metrics.counters["risk.timeouts"] += 1
                return
        started = env.now
        stats.wait.add(started - arrived)
        service_s = self._latency_s()
        finish = timeout_calling(env, service_s, lambda _event: self._release(request, arrived))
        if timeout_s is not None and started + service_s - arrived > timeout_s:
            self.metrics.counters["risk.timeouts"] += 1
            yield env.timeout(arrived + timeout_s - started)
        else:
            yield finish

    def _release(self, request: simpy.resources.resource.Request, arrived: float) -> None:
        now = self.env.now
        self.servers.release(request)
        self.stats.change(now, -1)
        self.stats.sojourn.add(now - arrived)
