"""The payment service's database: latency per read and write, and failover pauses."""

from __future__ import annotations

import simpy

from sim.config.distributions import make_sampler
from sim.config.model import DatabaseConfig
from sim.rng import Streams


class Database:
    """Latency of the database in front of the order tables (``sim.domain.orders``)."""

    def __init__(self, env: simpy.Environment, cfg: DatabaseConfig, streams: Streams) -> None:
        self.env = env
        self.cfg = cfg
        self._write_s = make_sampler(cfg.write_latency, streams.stream("db.write"))
        self._read_s = make_sampler(cfg.read_latency, streams.stream("db.read"))
        self.unavailable_until = 0.0
        """During a failover, calls wait until the new primary is up."""

    def _pause_s(self) -> float:
        wait = self.unavailable_until - self.env.now
        return wait if wait > 0 else 0.0

    def write(self) -> simpy.Timeout:
        return self.env.timeout(self._write_s() + self._pause_s())

    def read(self) -> simpy.Timeout:
        return self.env.timeout(self._read_s() + self._pause_s())
