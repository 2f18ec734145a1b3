"""The payment service's database: latency per read and write, a connection pool, failover pauses.

The pool is exact FIFO queueing without extra events: a call takes the connection that frees up
first and starts at the later of now and that time (the multi-server FCFS recursion), so a call
costs one Timeout whether or not it waited.
"""

from __future__ import annotations

import heapq
from typing import Callable

import simpy

from sim.kernel.scheduling import Wait, call_after, sleep
from sim.config.distributions import make_sampler
from sim.config.model import DatabaseConfig
from sim.domain.orders import Checkouts, Orders, OrderState
from sim.rng import Streams

_REVERTIBLE = frozenset({OrderState.SUCCESS, OrderState.FAILED})


class Database:
    """Latency of the database in front of the order tables (``sim.domain.orders``)."""

    def __init__(self, env: simpy.Environment, cfg: DatabaseConfig, streams: Streams) -> None:
        self.env = env
        self.cfg = cfg
        self._write_s = make_sampler(cfg.write_latency, streams.stream("db.write"))
        self._read_s = make_sampler(cfg.read_latency, streams.stream("db.read"))
        self._unavailable_until = 0.0
        self.lost_writes = 0
        """Order status writes lost to failovers (asynchronous replication)."""
        self._free_at: list[float] | None = [0.0] * cfg.connections if cfg.connections else None
        """When each pooled connection is next free (a heap); None = unbounded."""
        self.queued_calls = 0
        self.queue_wait_s = 0.0
        self._direct = self._free_at is None
        """No pool and no failover so far: a call takes its service time, nothing else (about four
        calls per payment: this path reads neither the clock nor calls :meth:`_delay_s`)."""

    @property
    def unavailable_until(self) -> float:
        """During a failover, calls wait until the new primary is up."""
        return self._unavailable_until

    @unavailable_until.setter
    def unavailable_until(self, until_s: float) -> None:
        self._unavailable_until = until_s
        self._direct = False  # calls check the pause from now on

    def write(self) -> Wait:
        service_s = self._write_s()
        return sleep(self.env, service_s if self._direct else self._delay_s(service_s))

    def read(self) -> Wait:
        service_s = self._read_s()
        return sleep(self.env, service_s if self._direct else self._delay_s(service_s))

    def write_then(self, callback: Callable[[object], None]) -> None:
        """A write whose completion only ``callback`` handles (nobody waits in a process)."""
        service_s = self._write_s()
        call_after(self.env, service_s if self._direct else self._delay_s(service_s), callback)

    def _delay_s(self, service_s: float) -> float:
        """Until a call taking ``service_s`` on a connection ends, after any failover pause and
        pool queue."""
        now = self.env.now
        wait = self._unavailable_until - now  # the failover pause
        delay = wait if wait > 0 else 0.0
        pool = self._free_at
        if pool is not None:
            start = max(now + delay, pool[0])
            if start > now + delay:
                self.queued_calls += 1
                self.queue_wait_s += start - now - delay
            heapq.heapreplace(pool, start + service_s)
            return start - now + service_s
        return delay + service_s

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
