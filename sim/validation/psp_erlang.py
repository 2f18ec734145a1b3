"""M/M/c on the PSP's concurrency limit: the capacity model's PSP stage against Erlang C.

The world is ``models/async-kafka.yaml`` built by :func:`sim.world.build_world`, with the PSP's
``concurrency_limit: c``, an unbounded queue, exponential ``latency`` of mean 1/μ, no API work
(``api_latency: null``), no network latency, card scheme and banks answering at once, nothing
failing, pending or rate limited: a charge then holds its slot exactly its latency. Checkouts
arrive as a Poisson stream (one order each); every upstream stage is unlimited or far from busy,
and ``payment-orders`` has so many partitions that a partition's executor worker is almost never
still busy with the previous order (its delay before the PSP would otherwise depend on the PSP's
queue), so charges reach the PSP as a Poisson stream shifted by independent delays — Poisson too.

Each replication runs a warm-up, then measures the PSP queue's mean wait per arrival
(queue-time integral / arrivals, from the station's statistics) and its utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config.loader import load_model
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.validation import theory
from sim.validation.rows import FULL_MODEL, MODELS_DIR, Row, Size, within
from sim.validation.stats import estimate, replication_seeds
from sim.world import build_world

PARTITIONS = 2000
"""``payment-orders`` partitions: with λ·W orders in the PSP at a time (a few), a new order finds
its partition's worker busy with probability about λW/2000 (a fraction of a per cent)."""


@dataclass(frozen=True)
class PspCase:
    arrival_per_s: float
    service_per_s: float
    limit: int
    charges: int
    """Expected charges after warm-up per replication at scale 1."""

    @property
    def rho(self) -> float:
        return self.arrival_per_s / (self.limit * self.service_per_s)

    @property
    def label(self) -> str:
        return (f"PSP concurrency_limit c={self.limit}, λ={self.arrival_per_s:g}/s, "
                f"latency mean {1000 / self.service_per_s:g} ms (ρ={self.rho:.2f})")


CASES = (
    PspCase(3.0, 1.0, 4, 30_000),
    PspCase(8.0, 1.0, 10, 40_000),
)
"""ρ = 0.75 with 4 slots and 0.8 with 10: both queue often enough for Wq to be a real test."""


def psp_model(case: PspCase) -> SystemModel:
    """The reference async model whose PSP stage is M/M/c."""
    zero = {"dist": "constant", "value": 0.0}
    return load_model(MODELS_DIR / "async-kafka.yaml", {
        "psp.concurrency_limit": case.limit,
        "psp.queue": {"max_queue": None, "discipline": "fifo"},
        "psp.latency": {"dist": "exponential", "mean": 1.0 / case.service_per_s},
        "psp.api_latency": None,
        "psp.network_latency": zero,
        "psp.error_probability": 0.0,
        "psp.pending_probability": 0.0,
        "psp.rate_limit": None,
        "scheme.latency": zero,
        "banks.latency": zero,
        "banks.error_probability": 0.0,
        "payment_service.risk": {"reject_probability": 0.0, "servers": None, "timeout": None},
        "executor.psp_timeout": "365d",
        "kafka.topics": {"payment-orders": {"partitions": PARTITIONS}, "payment-success": {"partitions": 12}},
        "client.timeout": "365d",
        "client.retry": {"strategy": "none"},
        "client.double_click_probability": 0.0,
    }, where="validation")


@dataclass(frozen=True)
class PspSample:
    mean_wait_s: float
    utilisation: float
    arrivals: int


def run_psp(case: PspCase, seed: int, duration_s: float, warmup_s: float) -> PspSample:
    scenario = Scenario.model_validate({
        "name": "psp-erlang", "model": "async-kafka.yaml", "seed": seed,
        "duration": warmup_s + duration_s, "drain": 0,
        "workload": {"rate": case.arrival_per_s, "max_orders_per_checkout": 1, "buyers": 100, "sellers": 10},
    })
    world = build_world(psp_model(case), scenario, seed)
    stats = world.psp.slots.stats
    world.env.run(until=warmup_s)
    stats.advance(world.env.now)
    arrivals, queue_area, busy_area = stats.arrivals, stats.queue_area, stats.busy_area
    world.env.run(until=warmup_s + duration_s)
    stats.advance(world.env.now)
    count = stats.arrivals - arrivals
    return PspSample((stats.queue_area - queue_area) / count,
                     (stats.busy_area - busy_area) / (case.limit * duration_s), count)


def run_case(case: PspCase, size: Size, master_seed: int) -> list[PspSample]:
    duration_s = case.charges * size.scale / case.arrival_per_s
    relax = theory.relaxation_time_s(case.arrival_per_s, case.service_per_s, case.limit)
    warmup_s = max(0.1 * duration_s, 10.0 * relax)
    seeds = replication_seeds(master_seed, f"psp-erlang:{case.label}", size.replications)
    return [run_psp(case, seed, duration_s, warmup_s) for seed in seeds]


def rows_for(case: PspCase, samples: list[PspSample]) -> list[Row]:
    wq = theory.mmc_mean_wait_s(case.arrival_per_s, case.service_per_s, case.limit)
    wait = estimate([s.mean_wait_s for s in samples])
    busy = estimate([s.utilisation for s in samples])
    return [
        Row("PSP queue mean wait Wq (Erlang C)", case.label, f"{wq:.4f}", wait, "reference in 95 % CI",
            within(wq, wait), FULL_MODEL, "s", wq),
        Row("PSP slot utilisation ρ", case.label, f"{case.rho:.4f}", busy, "reference in 95 % CI",
            within(case.rho, busy), FULL_MODEL, "", case.rho),
    ]


def validate(size: Size, master_seed: int, progress=None, cases: tuple[PspCase, ...] = CASES) -> list[Row]:
    rows: list[Row] = []
    for case in cases:
        rows.extend(rows_for(case, run_case(case, size, master_seed)))
        if progress is not None:
            progress()
    return rows
