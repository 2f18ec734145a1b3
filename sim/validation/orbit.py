"""Retry orbit: a single-server station with impatient, retrying callers against its Markov chain.

The system is the one :mod:`sim.validation.orbit_chain` describes (Poisson new requests λ, one
server with exponential service μ, at most K requests in the queue with the one in service,
exponential patience θ from arrival, abandoned requests still served, a failed caller — timed out
or rejected — gives up with probability q or retries after an exponential time of rate r). Here it
is simulated with the model's own :class:`~sim.components.stations.SlotStation` (1 server,
``max_queue`` = K − 1 waiting, ``discipline: random``): the chain is exact only under random order
of service, because under FIFO the request in service is older than average and its caller's
liveness is not a function of counts.

Each case is compared on three measures, each with its own replications:

- mean queue length E[n] (time average, in service included) and goodput (completions whose
  caller still waits, per second): each replication runs a warm-up that is deleted, then measures;
- the expected time from a full queue (K requests just arrived, every caller waiting, nobody in
  orbit) until the queue is first empty: each replication averages several independent starts.

The cases are chosen from the load and patience, not tuned: a healthy queue (ρ = 0.5, patience
ten service times), the bistable region (ρ = 0.6, patience five service times — a short queue
answers in time, a full one, ten service times long, makes every caller time out and retry, which
keeps it full), and a collapsed queue (ρ = 0.9, same patience).
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from sim.components.scheduling import call_after
from sim.components.stations import QUEUED, REJECTED, SlotStation
from sim.config.capacity import HarnessQueueConfig
from sim.rng import Streams
from sim.validation.orbit_chain import OrbitParams, OrbitSolution, solve
from sim.validation.rows import COMPONENT, Row, Size, within
from sim.validation.stats import estimate, replication_seeds


@dataclass(frozen=True)
class OrbitCase:
    params: OrbitParams
    horizon_s: float
    """Measured time per replication at scale 1 (after the warm-up)."""
    warmup_s: float
    starts: int
    """Full-queue starts per replication at scale 1 (hitting-time samples)."""
    regime: str

    @property
    def label(self) -> str:
        p = self.params
        return (f"{self.regime}: λ={p.arrival_per_s:g}/s μ={p.service_per_s:g}/s θ={p.patience_per_s:g}/s "
                f"r={p.retry_per_s:g}/s q={p.give_up:g} K={p.capacity}")


CASES = (
    OrbitCase(OrbitParams(0.5, 1.0, 0.1, 0.1, 0.2, 10), 100_000.0, 2_000.0, 200, "healthy"),
    OrbitCase(OrbitParams(0.6, 1.0, 0.2, 0.2, 0.2, 10), 200_000.0, 5_000.0, 100, "bistable"),
    OrbitCase(OrbitParams(0.9, 1.0, 0.2, 0.2, 0.2, 10), 200_000.0, 20_000.0, 10, "collapsed"),
)


class _Request:
    __slots__ = ("live", "done")

    def __init__(self) -> None:
        self.live = True
        self.done = False


class OrbitSim:
    """The orbit system on a :class:`SlotStation` with random order of service (callbacks on SimPy)."""

    def __init__(self, params: OrbitParams, seed: int) -> None:
        streams = Streams(seed)
        self.params = params
        self.env = env = simpy.Environment()
        self.station = SlotStation(env, "orbit", 1, HarnessQueueConfig(discipline="random", max_queue=params.capacity - 1),
                                   rng=streams.stream("orbit.order"))
        self._arrival = streams.stream("orbit.arrivals")
        self._service = streams.stream("orbit.service")
        self._patience = streams.stream("orbit.patience")
        self._retry = streams.stream("orbit.retry")
        self._give_up = streams.stream("orbit.give_up")
        self.goodput = 0
        """Completions whose caller was still waiting."""
        self.in_orbit = 0
        self.emptied: simpy.Event | None = None
        if params.arrival_per_s > 0.0:
            call_after(env, self._arrival.expovariate(params.arrival_per_s), self._new)

    # -- the system -----------------------------------------------------------------------------
    def _new(self, _event: object) -> None:
        call_after(self.env, self._arrival.expovariate(self.params.arrival_per_s), self._new)
        self.attempt()

    def attempt(self) -> None:
        """A request arrives (new or retried): served at once, queued, or rejected."""
        request = _Request()
        outcome = self.station.acquire(request, self._start)
        if outcome == REJECTED:
            self._fail()
            return
        if self.params.patience_per_s > 0.0:
            call_after(self.env, self._patience.expovariate(self.params.patience_per_s),
                       lambda _e: self._expire(request))
        if outcome != QUEUED:
            self._start(request)

    def _start(self, request: object) -> None:
        call_after(self.env, self._service.expovariate(self.params.service_per_s), lambda _e: self._finish(request))

    def _finish(self, request: _Request) -> None:
        request.done = True
        if request.live:
            self.goodput += 1
        self.station.release()
        if self.emptied is not None and self.station.in_service == 0 and not self.emptied.triggered:
            self.emptied.succeed()

    def _expire(self, request: _Request) -> None:
        if request.done or not request.live:
            return
        request.live = False  # the caller leaves; its request stays and will still be served
        self._fail()

    def _fail(self) -> None:
        if self._give_up.random() < self.params.give_up:
            return
        self.in_orbit += 1
        call_after(self.env, self._retry.expovariate(self.params.retry_per_s), self._retried)

    def _retried(self, _event: object) -> None:
        self.in_orbit -= 1
        self.attempt()

    # -- measurements ---------------------------------------------------------------------------
    def in_queue_area(self) -> float:
        """∫ n dt so far (in service included)."""
        stats = self.station.stats
        stats.advance(self.env.now)
        return stats.busy_area + stats.queue_area


@dataclass(frozen=True)
class StationarySample:
    mean_queue: float
    goodput_per_s: float


def run_stationary(params: OrbitParams, seed: int, warmup_s: float, horizon_s: float) -> StationarySample:
    """One replication: warm up (deleted), then the time-average queue length and the goodput."""
    sim = OrbitSim(params, seed)
    sim.env.run(until=warmup_s)
    area, good = sim.in_queue_area(), sim.goodput
    sim.env.run(until=warmup_s + horizon_s)
    return StationarySample((sim.in_queue_area() - area) / horizon_s, (sim.goodput - good) / horizon_s)


def full_to_empty_s(params: OrbitParams, seed: int) -> float:
    """One sample: K requests arrive at t = 0 (every caller waiting, nobody in orbit); the time
    until the queue is first empty."""
    sim = OrbitSim(params, seed)
    sim.emptied = sim.env.event()
    for _ in range(params.capacity):
        sim.attempt()
    sim.env.run(until=sim.emptied)
    return sim.env.now


def run_case(case: OrbitCase, size: Size, master_seed: int) -> tuple[list[StationarySample], list[float]]:
    horizon_s = case.horizon_s * size.scale
    warmup_s = case.warmup_s
    stationary = [run_stationary(case.params, seed, warmup_s, horizon_s)
                  for seed in replication_seeds(master_seed, f"orbit:{case.label}", size.replications)]
    starts = max(3, round(case.starts * size.scale))
    hitting = []
    for seed in replication_seeds(master_seed, f"orbit-hit:{case.label}", size.replications):
        samples = [full_to_empty_s(case.params, sample) for sample in replication_seeds(seed, "start", starts)]
        hitting.append(sum(samples) / len(samples))
    return stationary, hitting


def rows_for(case: OrbitCase, chain: OrbitSolution, stationary: list[StationarySample], hitting: list[float]) -> list[Row]:
    modes = chain.queue_modes()
    shape = (f"P(n) modes at n = {', '.join(map(str, modes))}"
             + (" (bistable)" if len(modes) > 1 else "")
             + f"; orbit bound M = {chain.orbit_bound}, P(m = M) = {chain.mass_at_bound:.1e}")
    label = f"{case.label} — {shape}"
    queue = estimate([s.mean_queue for s in stationary])
    goodput = estimate([s.goodput_per_s for s in stationary])
    hit = estimate(hitting)
    return [
        Row("Retry orbit: mean queue length E[n] (Markov chain)", label, f"{chain.mean_queue:.4f}", queue,
            "reference in 95 % CI", within(chain.mean_queue, queue), COMPONENT, "", chain.mean_queue),
        Row("Retry orbit: goodput (Markov chain)", label, f"{chain.goodput_per_s:.4f}", goodput,
            "reference in 95 % CI", within(chain.goodput_per_s, goodput), COMPONENT, "/s", chain.goodput_per_s),
        Row("Retry orbit: time from full to empty (Markov chain)", label, f"{chain.full_to_empty_s:.4g}", hit,
            "reference in 95 % CI", within(chain.full_to_empty_s, hit), COMPONENT, "s", chain.full_to_empty_s),
    ]


def validate(size: Size, master_seed: int, progress=None, cases: tuple[OrbitCase, ...] = CASES) -> list[Row]:
    rows: list[Row] = []
    for case in cases:
        chain = solve(case.params)
        stationary, hitting = run_case(case, size, master_seed)
        rows.extend(rows_for(case, chain, stationary, hitting))
        if progress is not None:
            progress()
    return rows
