"""The payment service's database: latency per read and write, a connection pool, failover pauses.

The pool is a :class:`~sim.components.stations.DelayStation` (``connections`` servers): with FIFO,
a call's wait is computed at once by the exact multi-server recursion, so a call costs one
scheduled event whether or not it waited. During a failover (``unavailable_until``) calls wait for
the new primary, then queue for a connection in the order they were made.
"""

from __future__ import annotations

from typing import Callable, Final

import simpy

from sim.components.stations import DelayStation
from sim.kernel.scheduling import Wait, call_after, clock, sleep
from sim.config.distributions import make_sampler
from sim.config.model import DatabaseConfig
from sim.domain.orders import Checkouts, Orders, OrderState
from sim.rng import Streams

_REVERTIBLE: Final = frozenset({OrderState.SUCCESS, OrderState.FAILED})


class Database:
    """Latency of the database in front of the order tables (``sim.domain.orders``)."""

    def __init__(self, env: simpy.Environment, cfg: DatabaseConfig, streams: Streams, name: str = "database") -> None:
        self.env = env
        self.cfg = cfg
        self._write_s = make_sampler(cfg.write_latency, streams.stream("db.write"))
        self._read_s = make_sampler(cfg.read_latency, streams.stream("db.read"))
        self._unavailable_until = 0.0
        self._failed_over = False
        """Whether a failover ever set :attr:`unavailable_until` (until then no call reads the clock)."""
        self.lost_writes = 0
        """Order status writes lost to failovers (asynchronous replication)."""
        self.pool = DelayStation(env, name, cfg.connections, cfg.queue)
        """The connection pool (its stats: waits, utilisation)."""
        self._delay = self.pool.delay_s

    @property
    def unavailable_until(self) -> float:
        """During a failover, calls wait until the new primary is up."""
        return self._unavailable_until

    @unavailable_until.setter
    def unavailable_until(self, until_s: float) -> None:
        self._unavailable_until = until_s
        self._failed_over = True

    def write(self) -> Wait:
        env = self.env
        if self._failed_over and self._unavailable_until > clock(env):
            return sleep(env, self._delay_s(self._write_s()))
        return sleep(env, self._delay(self._write_s()))  # no failover: a call less per write

    def read(self) -> Wait:
        env = self.env
        if self._failed_over and self._unavailable_until > clock(env):
            return sleep(env, self._delay_s(self._read_s()))
        return sleep(env, self._delay(self._read_s()))  # no failover: a call less per read

    def write_then(self, callback: Callable[[object], None]) -> None:
        """A write whose completion only ``callback`` handles (nobody waits in a process)."""
        env = self.env
        if self._failed_over and self._unavailable_until > clock(env):
            call_after(env, self._delay_s(self._write_s()), callback)
        else:
            call_after(env, self._delay(self._write_s()), callback)  # no failover: a call less per write

    def _delay_s(self, service_s: float) -> float:
        """Until a call taking ``service_s`` on a connection ends, after any failover pause and
        pool queue."""
        until = self._unavailable_until
        if until > clock(self.env):
            return self._delay(service_s, at_s=until)
        return self._delay(service_s)

    def lose_recent_writes(self, orders: Orders, checkouts: Checkouts, since_s: float, now: float) -> list[int]:
        """Failover with asynchronous replication: the new primary never received the writes made
        after ``since_s``. Orders whose final status (SUCCESS or FAILED) was written then fall back
        to EXECUTING, with their flags: the PSP's answer is forgotten — an order the PSP charged
        looks unpaid until the in-flight monitor asks the PSP or reconciliation finds the capture.
        (Order rows created in that window are kept: a simplification.) Returns the orders hit."""
        lost = []
        state, finished = orders.state, orders.finished_at
        for order_id in range(len(orders)):
            if finished[order_id] >= since_s and state[order_id] in _REVERTIBLE:
                state[order_id] = OrderState.EXECUTING  # not a transition: the write never existed
                finished[order_id] = -1.0
                orders.flags[order_id] = 0
                checkouts.done[orders.checkout[order_id]] = 0
                orders.in_flight[order_id] = None
                lost.append(order_id)
        self.lost_writes += len(lost)
        return lost
