"""Finite capacity: a service as ``c`` servers in front of a queue (docs/design.md, capacity section).

Every service of the flow that can be overloaded is a station:

- ``servers`` work at once; the rest wait in a queue, first come first served (FIFO), newest
  first (LIFO, which under overload serves the requests whose callers are still waiting) or in
  random order (a free server takes a uniformly random waiting request, drawn from the named
  stream ``rng`` the station is given: the order of service under which a queue with impatient
  callers is a Markov chain in counts, ``sim/validation/orbit.py``);
- a queue longer than ``max_queue`` rejects at once (the caller gets a 503, or a 429 with
  Retry-After where the service sends one);
- service time grows with concurrency by the universal scalability law: a request that starts while
  ``n`` requests are in service (itself included) takes ``1 + σ(n−1) + κn(n−1)`` times its base time,
  and a ``slowdown`` fault multiplies it further;
- **abandoned work is still done**: a request whose caller gave up (its deadline passed) still takes a
  server when it reaches one, unless the station drops expired requests (``drop_expired``, deadline
  propagation) or bounds the time a request may queue (``max_queue_wait``); work finished after the
  caller's deadline is counted as wasted;
- a capacity-loss fault takes servers away for a while (requests in service finish).

Two ways in, one behaviour:

- :class:`SlotStation` holds a server for as long as the caller needs it (the PSP's per-merchant
  concurrency limit is held until the answer goes out; a payment-service thread for the whole
  request): ``acquire`` starts the caller at once, queues it, or rejects it; ``release`` ends it.
- :class:`DelayStation` serves a request of known service time (a database call, a bank's decision).
  With FIFO it computes the wait at arrival with the exact multi-server FCFS recursion (the request
  starts when the earliest of the ``c`` servers frees up, and nobody who arrives later can start
  before it), so a request costs one scheduled event whether or not it queued. With LIFO or random
  order it is a :class:`SlotStation` held for the service time. ``tests/test_stations.py`` holds both paths to the
  same answers.
"""

from __future__ import annotations

import math
import random
from collections import deque
from heapq import heappop, heappush, heapreplace
from typing import Any, Callable, Final

import simpy

from sim.kernel.engine import Engine
from sim.kernel.scheduling import call_after, clock, engine_of
from sim.config.capacity import QueueConfig

STARTED: Final = 0
QUEUED: Final = 1
REJECTED: Final = 2
"""What :meth:`SlotStation.acquire` did with a request."""

_INF: Final = math.inf
_heappush: Final = heappush
_heappop: Final = heappop
_heapreplace: Final = heapreplace
"""Constants: compiled, a C static each, not a module-global lookup per call (see sim.kernel.engine)."""


class StationStats:
    """What a station did: counts and time integrals (utilisation, mean queue length)."""

    __slots__ = (
        "name", "servers", "arrivals", "waited", "rejected", "dropped", "served", "wasted", "service_s", "wasted_s",
        "busy_area", "queue_area", "last_s", "busy", "queued", "peak_queue",
    )

    def __init__(self, name: str, servers: int | float) -> None:
        self.name = name
        self.servers = servers
        self.arrivals = 0
        self.waited = 0
        """Requests that queued before a server took them (or before they left)."""
        self.rejected = 0
        """Refused at once: the queue was full."""
        self.dropped = 0
        """Left the queue without service: the caller's deadline had passed (``drop_expired``) or the
        request queued longer than ``max_queue_wait``."""
        self.served = 0
        self.wasted = 0
        """Served, but finished after the caller's deadline: work nobody waited for."""
        self.service_s = 0.0
        self.wasted_s = 0.0
        self.busy_area = 0.0
        self.queue_area = 0.0
        self.last_s = 0.0
        self.busy = 0
        self.queued = 0
        self.peak_queue = 0

    def advance(self, now: float) -> None:
        elapsed = now - self.last_s
        if elapsed > 0.0:
            self.busy_area += self.busy * elapsed
            self.queue_area += self.queued * elapsed
            self.last_s = now

    def as_dict(self, now: float) -> dict[str, Any]:
        """The stats at ``now`` (the time integrals carried there first, so later calls go on
        from ``now``)."""
        self.advance(now)
        return self.view(now)

    def view(self, now: float) -> dict[str, Any]:
        """The stats at ``now`` without changing them: the time integrals carried to ``now`` in a
        copy, with :meth:`advance`'s arithmetic (so after ``advance(now)`` the same numbers).
        Read mid-run (the report's early figures), it leaves the run's own integrals alone."""
        busy_area, queue_area = self.busy_area, self.queue_area
        elapsed = now - self.last_s
        if elapsed > 0.0:
            busy_area += self.busy * elapsed
            queue_area += self.queued * elapsed
        servers = self.servers
        return {
            "servers": servers if servers != _INF else None,
            "arrivals": self.arrivals,
            "waited": self.waited,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "served": self.served,
            "wasted": self.wasted,
            "goodput_share": round((self.served - self.wasted) / self.served, 6) if self.served else None,
            "wasted_work_share": round(self.wasted_s / self.service_s, 6) if self.service_s > 0 else 0.0,
            "utilisation": round(busy_area / (servers * now), 6) if now > 0 and servers != _INF else None,
            "mean_queue": round(queue_area / now, 6) if now > 0 else 0.0,
            "peak_queue": self.peak_queue,
        }


class _Station:
    """What both kinds of station share: configuration, fault knobs, the contention factor."""

    def __init__(self, env: simpy.Environment, name: str, servers: int | None, cfg: QueueConfig,
                 rng: random.Random | None = None) -> None:
        if cfg.discipline == "random" and rng is None:
            raise ValueError(f"station {name!r}: discipline 'random' needs a random stream (rng=...)")
        self.env = env
        self._engine: Engine | None = engine_of(env)
        """The engine, to read the time from (see ``engine_of``); None on a plain SimPy environment."""
        self.name = name
        self.cfg = cfg
        self.servers: int | float = servers if servers is not None else _INF
        self.max_queue = cfg.max_queue if cfg.max_queue is not None else _INF
        self.lifo = cfg.discipline == "lifo"
        self.rng: random.Random | None = rng if cfg.discipline == "random" else None
        """Random order of service: the stream that picks which waiting request a free server takes."""
        self.drop_expired = cfg.drop_expired
        self.max_wait_s = cfg.max_queue_wait_s if cfg.max_queue_wait_s is not None else _INF
        self._sigma = cfg.contention
        self._kappa = cfg.coherency
        self.slowed: list[tuple[float, float]] = []
        """Active slowdowns as (end, factor), by end: work in service runs ``factor`` times slower
        until ``end``, then at full speed again (:meth:`stretched_s`)."""
        self.stats = StationStats(name, self.servers)
        self.contended = self._sigma > 0.0 or self._kappa > 0.0
        """Service times grow with the requests in service (universal scalability law)."""
        self.unlimited = self.servers == _INF
        """Infinitely many servers: no queue, ever."""

    def contention(self, in_service: int) -> float:
        """Service-time multiplier for a request starting with ``in_service`` requests in service,
        itself included (universal scalability law)."""
        n = in_service
        return 1.0 + self._sigma * (n - 1) + self._kappa * n * (n - 1)

    def stretched_s(self, work_s: float, start_s: float) -> float:
        """How long ``work_s`` of service starting at ``start_s`` takes under the active slowdowns:
        each slows what is in service by its factor until its end (stacked ones multiply), after
        which the rest runs at full speed. A request in service when a slowdown ends speeds up with
        the server, as a real one does; the whole request is not charged the factor (a short
        severe slowdown would otherwise hold servers for hours after it ended). A slowdown that
        starts later is not foreseen."""
        slowed = self.slowed
        if not slowed:
            return work_s
        at, left, took = start_s, work_s, 0.0
        for index in range(len(slowed)):
            end_s = slowed[index][0]
            if end_s <= at:
                continue
            factor = 1.0
            for later in range(index, len(slowed)):
                factor *= slowed[later][1]
            span = end_s - at
            if left * factor <= span:
                return took + left * factor
            left -= span / factor
            took += span
            at = end_s
        return took + left

    def slow_down(self, windows: list[tuple[float, float]]) -> None:
        """Set the active slowdowns: (end, factor) each (a fault injector's knob)."""
        self.slowed = sorted(windows)

    @property
    def slowdown(self) -> float:
        """How many times slower work in service runs now: the active slowdowns' product."""
        product = 1.0
        for _end, factor in self.slowed:
            product *= factor
        return product


class SlotStation(_Station):
    """Servers held until released: ``acquire`` → (later) ``release``."""

    def __init__(self, env: simpy.Environment, name: str, servers: int | None, cfg: QueueConfig,
                 rng: random.Random | None = None) -> None:
        super().__init__(env, name, servers, cfg, rng)
        self.capacity = self.servers
        """Servers in operation now (a capacity-loss fault lowers it)."""
        self._jobs: deque[tuple[object, Callable[[Any], None], Callable[[Any], None] | None, float, float]] = deque()
        self._starting = False
        """Inside :meth:`_start_queued`: a release made by a job it starts (an instant answer) only
        frees the server, and the running loop hands it on (no recursion per queued request)."""

    def acquire(
        self, job: object, on_start: Callable[[Any], None], deadline_s: float = _INF,
        on_drop: Callable[[Any], None] | None = None,
    ) -> int:
        """STARTED (the caller goes on now and must :meth:`release` later), QUEUED (``on_start(job)``
        runs when a server takes it, or ``on_drop(job)`` if it leaves the queue unserved) or
        REJECTED (the queue is full)."""
        if self.try_start():
            return STARTED
        return self.enqueue(job, on_start, deadline_s, on_drop)

    def try_start(self) -> bool:
        """A request arrives: True when a server takes it at once (the caller goes on and must
        :meth:`release`); False when it must :meth:`enqueue` (arrival counted once)."""
        stats = self.stats
        stats.arrivals += 1
        busy = stats.busy
        if busy < self.capacity and not self._jobs:
            engine = self._engine
            now = engine.now if engine is not None else clock(self.env)
            elapsed = now - stats.last_s  # stats.advance(now), inlined: twice per payment per station
            if elapsed > 0.0:
                stats.busy_area += busy * elapsed
                stats.queue_area += stats.queued * elapsed
                stats.last_s = now
            stats.busy = busy + 1
            return True
        return False

    def enqueue(
        self, job: object, on_start: Callable[[Any], None], deadline_s: float = _INF,
        on_drop: Callable[[Any], None] | None = None,
    ) -> int:
        """After :meth:`try_start` said no: QUEUED, or REJECTED when the queue is full."""
        stats = self.stats
        if len(self._jobs) >= self.max_queue:
            stats.rejected += 1
            return REJECTED
        now = clock(self.env)
        stats.advance(now)
        self._jobs.append((job, on_start, on_drop, now, deadline_s))
        stats.waited += 1
        stats.queued += 1
        if stats.queued > stats.peak_queue:
            stats.peak_queue = stats.queued
        return QUEUED

    def release(self, service_s: float = 0.0, deadline_s: float = _INF) -> None:
        """A request leaves its server after ``service_s`` of work (counted as wasted when it ends
        after ``deadline_s``); the next queued request, if any, takes the server."""
        stats = self.stats
        engine = self._engine
        now = engine.now if engine is not None else clock(self.env)
        elapsed = now - stats.last_s  # stats.advance(now), inlined (see try_start)
        if elapsed > 0.0:
            stats.busy_area += stats.busy * elapsed
            stats.queue_area += stats.queued * elapsed
            stats.last_s = now
        stats.busy -= 1
        stats.served += 1
        stats.service_s += service_s
        if now > deadline_s:
            stats.wasted += 1
            stats.wasted_s += service_s
        if self._jobs and not self._starting:  # nobody queued: no call (most releases)
            self._start_queued(now)

    def _start_queued(self, now: float) -> None:
        if self._starting:
            return
        self._starting = True
        try:
            self._start_all(now)
        finally:
            self._starting = False

    def _start_all(self, now: float) -> None:
        queue, stats, rng = self._jobs, self.stats, self.rng
        while queue and stats.busy < self.capacity:
            if rng is not None:
                pick = rng.randrange(len(queue))
                job, on_start, on_drop, arrived, deadline = queue[pick]
                del queue[pick]
            else:
                job, on_start, on_drop, arrived, deadline = queue.pop() if self.lifo else queue.popleft()
            stats.queued -= 1
            if (self.drop_expired and now > deadline) or now - arrived > self.max_wait_s:
                stats.dropped += 1
                if on_drop is not None:
                    on_drop(job)
                continue
            stats.busy += 1
            on_start(job)

    # -- faults ---------------------------------------------------------------------------------
    def lose_servers(self, count: int) -> None:
        """``count`` servers stop taking work (those busy finish what they do)."""
        self.stats.advance(clock(self.env))
        self.capacity -= count

    def restore_servers(self, count: int) -> None:
        self.stats.advance(clock(self.env))
        self.capacity += count
        self._start_queued(clock(self.env))

    @property
    def queue_length(self) -> int:
        return len(self._jobs)

    @property
    def in_service(self) -> int:
        return self.stats.busy


class DelayStation(_Station):
    """Requests of known service time; ``serve`` calls back when the request is done."""

    def __init__(self, env: simpy.Environment, name: str, servers: int | None, cfg: QueueConfig,
                 rng: random.Random | None = None) -> None:
        super().__init__(env, name, servers, cfg, rng)
        fifo = cfg.discipline == "fifo"
        self._fast = fifo and not self.unlimited
        if not fifo and not self.unlimited:
            self._slots: SlotStation | None = SlotStation(env, name, servers, cfg, rng)
            self.stats = self._slots.stats
        else:
            self._slots = None
        self._free_at: list[float] = [0.0] * int(self.servers) if self._fast else []
        """FIFO: when each server is next free (a heap)."""
        self._waiting: list[float] = []
        """FIFO: when each queued request leaves the queue (a heap: start of service, drop or reject)."""
        self._lost: list[float] = []
        """FIFO: servers a capacity-loss fault took away (their free-at times)."""

    def delay_s(self, service_s: float, deadline_s: float = _INF, at_s: float | None = None) -> float:
        """FIFO (or unlimited): how long from now until a request with base time ``service_s``
        arriving now (or at ``at_s``, never earlier than an arrival already made) is done; -1 when
        rejected (queue full), -2 when it will be dropped (see :meth:`drop_wait_s`)."""
        stats = self.stats
        if not self._fast:  # unlimited: no queue, contention counts nobody
            if self._slots is not None:  # (a finite LIFO queue: the wait depends on later arrivals)
                raise RuntimeError(f"station {self.name!r}: a {self.cfg.discipline} queue has no wait at arrival; "
                                   "serve() it")
            stats.arrivals += 1
            service_s = self.stretched_s(service_s, clock(self.env) if at_s is None else at_s)
            stats.served += 1
            stats.service_s += service_s
            return service_s if at_s is None else at_s - clock(self.env) + service_s
        stats.arrivals += 1
        engine = self._engine
        time_now = engine.now if engine is not None else clock(self.env)
        now = time_now if at_s is None else at_s
        waiting = self._waiting
        while waiting and waiting[0] <= now:
            _heappop(waiting)
        free_at = self._free_at
        start = free_at[0] if free_at else _INF
        if start <= now:  # a server is free: no queue, nothing to reject or drop
            start = now
        else:
            if len(waiting) >= self.max_queue:
                stats.rejected += 1
                return -1.0
            if start - now > self.max_wait_s or (self.drop_expired and start > deadline_s):
                leave = min(now + self.max_wait_s, max(start, deadline_s if self.drop_expired else start))
                _heappush(waiting, leave)
                stats.waited += 1
                stats.dropped += 1
                self._last_drop_wait = leave - time_now
                return -2.0
            _heappush(waiting, start)
            stats.waited += 1
            if len(waiting) > stats.peak_queue:
                stats.peak_queue = len(waiting)
            stats.queue_area += start - now
        if self._sigma or self._kappa:
            in_service = 1 + sum(1 for t in free_at if t > start)
            service_s *= self.contention(in_service)
        if self.slowed:
            service_s = self.stretched_s(service_s, start)
        end = start + service_s
        _heapreplace(free_at, end)
        stats.served += 1
        stats.service_s += service_s
        if end > deadline_s:
            stats.wasted += 1
            stats.wasted_s += service_s
        stats.busy_area += service_s
        return end - time_now

    _last_drop_wait = 0.0

    def drop_wait_s(self) -> float:
        """After :meth:`delay_s` answered -2: how long the dropped request waited in the queue."""
        return self._last_drop_wait

    def serve(self, service_s: float, done: Callable[[Any], None], deadline_s: float = _INF,
              refused: Callable[[Any], None] | None = None) -> None:
        """``done(event)`` when a request of base time ``service_s`` is served; ``refused(event)``
        (at once when the queue is full, after its wait when dropped) otherwise."""
        slots = self._slots
        if slots is None:
            delay = self.delay_s(service_s, deadline_s)
            if delay >= 0.0:
                call_after(self.env, delay, done)
            elif refused is not None:
                call_after(self.env, 0.0 if delay == -1.0 else self._last_drop_wait, refused)
            return
        job = _Lifo(self, slots, service_s, done, deadline_s)
        outcome = slots.acquire(job, job.start, deadline_s, job.drop if refused is not None else None)
        job.refused = refused
        if outcome == STARTED:
            job.start(job)
        elif outcome == REJECTED and refused is not None:
            call_after(self.env, 0.0, refused)

    # -- faults ---------------------------------------------------------------------------------
    def lose_servers(self, count: int) -> None:
        if self._slots is not None:
            self._slots.lose_servers(count)
            return
        free_at = self._free_at
        for _ in range(min(count, len(free_at) - 1)):  # one server always stays
            self._lost.append(heappop(free_at))

    def restore_servers(self, count: int) -> None:
        if self._slots is not None:
            self._slots.restore_servers(count)
            return
        now = clock(self.env)
        for _ in range(min(count, len(self._lost))):
            heappush(self._free_at, max(now, self._lost.pop()))

    @property
    def queue_length(self) -> int:
        if self._slots is not None:
            return self._slots.queue_length
        now = clock(self.env)
        return sum(1 for t in self._waiting if t > now)

    @property
    def in_service(self) -> int:
        if self._slots is not None:
            return self._slots.in_service
        now = clock(self.env)
        return sum(1 for t in self._free_at if t > now)


class _Lifo:
    """A request of a LIFO delay station: holds a slot for its service time."""

    __slots__ = ("station", "slots", "service_s", "done", "deadline_s", "refused")

    def __init__(self, station: DelayStation, slots: SlotStation, service_s: float, done: Callable[[Any], None],
                 deadline_s: float) -> None:
        self.station = station
        self.slots = slots
        self.service_s = service_s
        self.done = done
        self.deadline_s = deadline_s
        self.refused: Callable[[Any], None] | None = None

    def start(self, _job: object) -> None:
        station = self.station
        work_s = self.service_s * station.contention(self.slots.in_service)
        self.service_s = station.stretched_s(work_s, clock(station.env))
        call_after(station.env, self.service_s, self.finish)

    def finish(self, event: object) -> None:
        self.slots.release(self.service_s, self.deadline_s)
        self.done(event)

    def drop(self, _job: object) -> None:
        if self.refused is not None:
            call_after(self.station.env, 0.0, self.refused)
