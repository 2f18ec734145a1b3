"""Sync vs async under a PSP latency spike: the talk's claim, measured (docs/design.md §5).

``models/async-kafka.yaml`` and ``models/sync-http.yaml`` play the same traffic (same seed: the
same checkouts at the same instants) with a ``psp_latency`` fault adding 5 s to every PSP call
for 5 minutes — longer than the executor's 3 s PSP timeout. Per replication and design:

- customer-facing timeouts (``client.timeouts``) and buyers who gave up after their retries (the
  latter reported only: whether a sync buyer's retry waits again or gets "in progress" at once
  depends on details of the client and the payment service, so it is no robust claim);
- orders dead-lettered during the incident (outcome unknown after the executor's retries; a
  later webhook may still settle them);
- payments lost: orders that end the run (after a fault-free drain) neither SUCCESS nor a
  definite FAILED — dead-lettered or stuck in a non-terminal state;
- the order success rate and PSP requests per order.

The difference (sync − async) is compared replication by replication (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config.loader import load_model
from sim.config.scenario import Scenario
from sim.domain.orders import OrderState
from sim.validation.rows import FULL_MODEL, MODELS_DIR, Row, Size
from sim.validation.stats import estimate, replication_seeds
from sim.world import build_world

DESIGNS = ("async-kafka", "sync-http")
SPIKE_ADDED = "5s"


@dataclass(frozen=True)
class Plan:
    """Traffic and spike timing of one sync-vs-async comparison."""

    rate_per_s: float
    duration_s: float
    spike_at_s: float
    spike_for_s: float
    drain_s: float


def plan_for(size: Size) -> Plan:
    if size.scale >= 1.0:
        return Plan(10.0, 1200.0, 300.0, 300.0, 1800.0)
    return Plan(10.0, 300.0, 60.0, 180.0, 600.0)


@dataclass(frozen=True)
class Outcome:
    client_timeouts: int
    gave_up: int
    dead_lettered_during: int
    lost: int
    success_rate: float
    psp_requests_per_order: float


METRICS = (
    ("client_timeouts", "customer-facing timeouts", "fewer with async"),
    ("gave_up", "buyers who gave up", "reported"),
    ("dead_lettered_during", "orders dead-lettered during the incident", "fewer with async"),
    ("lost", "payments lost (dead-lettered or stuck at the end)", "fewer with async"),
    ("success_rate", "order success rate", "reported"),
    ("psp_requests_per_order", "PSP requests per order", "reported"),
)


def run_design(design: str, seed: int, plan: Plan) -> Outcome:
    model = load_model(MODELS_DIR / f"{design}.yaml")
    scenario = Scenario.model_validate({
        "name": "sync-vs-async", "model": f"{design}.yaml", "seed": seed,
        "duration": plan.duration_s, "drain": plan.drain_s, "workload": {"rate": plan.rate_per_s},
        "faults": [{"kind": "psp_latency", "at": plan.spike_at_s, "for": plan.spike_for_s, "added": SPIKE_ADDED}],
    })
    world = build_world(model, scenario, seed)
    world.env.run(until=world.end_s)
    counters, orders = world.metrics.counters, world.orders
    count = len(orders)
    dead = sum(1 for s in orders.state if s == OrderState.DEAD_LETTERED)
    success = sum(1 for s in orders.state if s == OrderState.SUCCESS)
    return Outcome(
        client_timeouts=counters["client.timeouts"],
        gave_up=counters["client.gave_up"],
        dead_lettered_during=sum(v for k, v in counters.items() if k.startswith("dlq.")),
        lost=dead + len(orders.in_flight),
        success_rate=success / count,
        psp_requests_per_order=counters["psp.requests"] / count,
    )


def run_pairs(size: Size, master_seed: int, replications: int | None = None) -> dict[str, list[Outcome]]:
    plan = plan_for(size)
    seeds = replication_seeds(master_seed, "sync-vs-async", replications or size.replications)
    return {design: [run_design(design, seed, plan) for seed in seeds] for design in DESIGNS}


def rows_for(results: dict[str, list[Outcome]], plan: Plan) -> list[Row]:
    case = f"{plan.rate_per_s:g} checkouts/s, PSP +{SPIKE_ADDED} for {plan.spike_for_s / 60:g} min"
    rows: list[Row] = []
    for attr, label, claim in METRICS:
        for design in DESIGNS:
            rows.append(Row(f"Sync vs async: {label}", f"{case}: {design}", "—",
                            estimate([float(getattr(o, attr)) for o in results[design]]), "reported", None, FULL_MODEL))
        diff = estimate([float(getattr(s, attr) - getattr(a, attr))
                         for a, s in zip(results["async-kafka"], results["sync-http"])])
        claimed = claim != "reported"
        rows.append(Row(f"Sync vs async: {label}", f"{case}: sync − async", "> 0" if claimed else "—", diff,
                        "whole 95 % CI above 0" if claimed else "reported",
                        diff.low > 0 if claimed else None, FULL_MODEL))
    return rows


def validate(size: Size, master_seed: int, progress=None) -> list[Row]:
    rows = rows_for(run_pairs(size, master_seed), plan_for(size))
    if progress is not None:
        progress()
    return rows
