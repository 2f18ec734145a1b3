"""The fraud/risk check: a dependency that can be slow or down, with a small-amount fallback."""

from __future__ import annotations

from typing import Generator

import simpy

from sim.config.distributions import make_sampler
from sim.config.model import RiskConfig
from sim.observe.metrics import Metrics
from sim.rng import Streams

APPROVE, REJECT, UNAVAILABLE = 0, 1, 2


class RiskService:
    def __init__(self, env: simpy.Environment, cfg: RiskConfig, streams: Streams, metrics: Metrics) -> None:
        self.env = env
        self.cfg = cfg
        self.metrics = metrics
        self._latency_s = make_sampler(cfg.latency, streams.stream("risk.latency"))
        self._decisions = streams.stream("risk.decisions")
        self.down = 0
        """Active risk-outage faults: the check times out."""

    def check(self, amount_minor: int) -> Generator[simpy.Event, None, int]:
        """APPROVE, REJECT, or UNAVAILABLE (down and the amount is above the fallback limit)."""
        env = self.env
        if self.down:
            yield env.timeout(self.cfg.timeout_s)
            if amount_minor <= self.cfg.fallback_max_amount_minor:
                self.metrics.counters["risk.fallback_used"] += 1
                return APPROVE
            self.metrics.counters["risk.unavailable"] += 1
            return UNAVAILABLE
        yield env.timeout(min(self._latency_s(), self.cfg.timeout_s))
        if self._decisions.random() < self.cfg.reject_probability:
            self.metrics.counters["risk.rejected"] += 1
            return REJECT
        return APPROVE
