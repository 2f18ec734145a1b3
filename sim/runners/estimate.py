"""``paychaos estimate``: how rare are double charges and lost payments, per million payments?

Replicates a scenario with seeds ``seed, seed+1, ...`` and pools the counts: double-charged cart
lines and lost (stuck) orders over all payment orders, each with a 95 % Wilson score interval, so a
design can be stated as "P(double charge) < x per 10^6". Payments inside one run share its fault
timeline, so they are not independent: the interval is honest only with many replications, and the
per-replication spread is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from sim.config.loader import LoadedScenario
from sim.runners.run import simulate
from sim.runners.summary import summarize

Z95 = 1.959963984540054
PER = 1_000_000


def wilson_interval(events: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sensible at 0 events, unlike Wald)."""
    if trials <= 0:
        return 0.0, 1.0
    p = events / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if events == 0 else max(0.0, centre - half)  # exact at the edges, no rounding residue
    high = 1.0 if events == trials else min(1.0, centre + half)
    return low, high


@dataclass
class Rate:
    name: str
    events: int
    trials: int
    runs_with_events: int

    @property
    def per_million(self) -> float:
        return PER * self.events / self.trials if self.trials else float("nan")

    def interval_per_million(self) -> tuple[float, float]:
        low, high = wilson_interval(self.events, self.trials)
        return PER * low, PER * high

    def to_dict(self) -> dict:
        low, high = self.interval_per_million()
        return {"events": self.events, "payments": self.trials, "per_million": round(self.per_million, 6),
                "ci95_per_million": [round(low, 6), round(high, 6)], "runs_with_events": self.runs_with_events}


@dataclass
class Estimate:
    scenario: str
    replications: int
    first_seed: int
    double_charge: Rate
    lost_payment: Rate

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "replications": self.replications, "seeds": [self.first_seed,
                self.first_seed + self.replications - 1], "double_charge": self.double_charge.to_dict(),
                "lost_payment": self.lost_payment.to_dict()}


def estimate(loaded: LoadedScenario, replications: int, seed: int | None = None, variant: str | None = None,
             on_run: Callable[[int], None] | None = None) -> Estimate:
    first = loaded.scenario.seed if seed is None else seed
    payments = doubles = lost = runs_double = runs_lost = 0
    for i in range(replications):
        world, _verdicts, recon = simulate(loaded, first + i, variant)
        summary = summarize(world, recon)
        payments += summary["orders"]
        doubles += summary["double_charges"]
        lost += summary["lost_payments"]
        runs_double += summary["double_charges"] > 0
        runs_lost += summary["lost_payments"] > 0
        if on_run is not None:
            on_run(i + 1)
    return Estimate(
        loaded.scenario.name, replications, first,
        Rate("double_charge", doubles, payments, runs_double), Rate("lost_payment", lost, payments, runs_lost),
    )
