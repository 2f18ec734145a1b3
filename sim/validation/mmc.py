"""M/M/c: the risk stage of the reference model against Erlang C and Little's law.

The model is ``models/async-kafka.yaml`` with the risk check given ``servers: c``, an exponential
latency of mean 1/μ and no timeout, and Poisson checkouts at λ with one order each: the risk
stage is then exactly M/M/c. Clients never retry and never double-click, so nothing but the
Poisson stream reaches the stage. ``reject_probability: 1`` ends each checkout at the risk
decision: the stage sits upstream of everything else, so the downstream flow cannot change its
queue (the test suite checks that the stage's statistics are identical with it on), and the
runs are cheaper.

Each replication deletes a warm-up (the stage's statistics are reset), then measures the mean
wait in queue Wq, the mean time in the stage W, the time-average number in the stage L and the
arrival rate λ̂; the 95 % interval comes from independent replications.
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


@dataclass(frozen=True)
class MmcCase:
    arrival_per_s: float
    service_per_s: float
    servers: int
    customers: int
    """Expected arrivals after warm-up per replication at scale 1."""

    @property
    def rho(self) -> float:
        return self.arrival_per_s / (self.servers * self.service_per_s)

    @property
    def label(self) -> str:
        kind = "M/M/1" if self.servers == 1 else f"M/M/{self.servers}"
        return f"{kind} λ={self.arrival_per_s:g}/s μ={self.service_per_s:g}/s (ρ={self.rho:.2f})"


CASES = (
    MmcCase(0.5, 1.0, 1, 40_000),
    MmcCase(0.9, 1.0, 1, 150_000),
    MmcCase(3.0, 1.0, 4, 40_000),
    MmcCase(9.0, 1.0, 10, 80_000),
)
"""M/M/1 at ρ = 0.5 and 0.9, M/M/4 at 0.75, and docs/design.md §13's example (λ=9, μ=1, c=10: Wq=0.6687 s).
Heavier traffic needs more customers: the wait's autocorrelation grows like 1/(1−ρ)²."""


@dataclass(frozen=True)
class StageSample:
    """One replication's measurements of the stage after warm-up."""

    mean_wait_s: float
    mean_in_system_s: float
    mean_number: float
    arrival_per_s: float
    completed: int


def stage_model(case: MmcCase, reject_all: bool = True) -> SystemModel:
    """The reference async model with its risk check turned into an M/M/c stage."""
    return load_model(MODELS_DIR / "async-kafka.yaml", {
        "payment_service.risk": {
            "servers": case.servers,
            "latency": {"dist": "exponential", "mean": 1.0 / case.service_per_s},
            "timeout": None,
            "reject_probability": 1.0 if reject_all else 0.0,
        },
        "client.timeout": "365d",
        "client.retry": {"strategy": "none"},
        "client.double_click_probability": 0.0,
    }, where="validation")


def run_stage(case: MmcCase, seed: int, duration_s: float, warmup_s: float, reject_all: bool = True) -> StageSample:
    """One replication: build the world, run the warm-up, reset the stage's statistics, run on."""
    scenario = Scenario.model_validate({
        "name": "mmc", "model": "async-kafka.yaml", "seed": seed,
        "duration": warmup_s + duration_s, "drain": 0,
        "workload": {"rate": case.arrival_per_s, "max_orders_per_checkout": 1, "buyers": 100, "sellers": 10},
    })
    world = build_world(stage_model(case, reject_all), scenario, seed)
    stats = world.payment_service.risk.stats
    world.env.run(until=warmup_s)
    stats.reset(world.env.now)
    world.env.run(until=warmup_s + duration_s)
    now = world.env.now
    return StageSample(
        mean_wait_s=stats.wait.mean,
        mean_in_system_s=stats.sojourn.mean,
        mean_number=stats.mean_in_system(now),
        arrival_per_s=stats.arrivals / (now - stats.since_s),
        completed=stats.sojourn.count,
    )


def run_case(case: MmcCase, size: Size, master_seed: int) -> list[StageSample]:
    duration_s = case.customers * size.scale / case.arrival_per_s
    warmup_s = max(0.1 * duration_s, 10.0 * theory.relaxation_time_s(case.arrival_per_s, case.service_per_s, case.servers))
    seeds = replication_seeds(master_seed, f"mmc:{case.label}", size.replications)
    return [run_stage(case, seed, duration_s, warmup_s) for seed in seeds]


def rows_for(case: MmcCase, samples: list[StageSample]) -> list[Row]:
    lam, mu, c = case.arrival_per_s, case.service_per_s, case.servers
    wq = theory.mmc_mean_wait_s(lam, mu, c)
    big_l = theory.mmc_mean_in_system(lam, mu, c)
    wait = estimate([s.mean_wait_s for s in samples])
    number = estimate([s.mean_number for s in samples])
    little = estimate([s.arrival_per_s * s.mean_in_system_s for s in samples])
    return [
        Row("M/M/c mean wait Wq (Erlang C)", case.label, f"{wq:.4f}", wait, "reference in 95 % CI",
            within(wq, wait), FULL_MODEL, "s", wq),
        Row("M/M/c mean number in stage L", case.label, f"{big_l:.4f}", number, "reference in 95 % CI",
            within(big_l, number), FULL_MODEL, "", big_l),
        Row("Little's law λ̂·Ŵ vs time-average L̂", case.label, f"L̂ = {number.mean:.4f}", little,
            "L̂ in 95 % CI of λ̂·Ŵ", within(number.mean, little), FULL_MODEL, "", number.mean),
    ]


def validate(size: Size, master_seed: int, progress=None, cases: tuple[MmcCase, ...] = CASES) -> list[Row]:
    rows: list[Row] = []
    for case in cases:
        rows.extend(rows_for(case, run_case(case, size, master_seed)))
        if progress is not None:
            progress()
    return rows
