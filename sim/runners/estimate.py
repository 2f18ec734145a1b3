"""``paychaos estimate``: how rare are double charges and lost payments, per million payments?

Replicates a scenario with seeds ``seed, seed+1, ...`` and pools the counts: double-charged cart
lines and lost (stuck) orders over all payment orders, each with a 95 % Wilson score interval, so a
design can be stated as "P(double charge) < x per 10^6". Payments inside one run share its fault
timeline, so they are not independent: the Wilson interval is honest only with many replications.
The honest bound is the one on runs: a run holds at most ``max payments`` events, so
P(per payment) ≤ max payments / mean payments · P(a run has an event), the latter bounded by
Clopper-Pearson over runs (about 3/R with no event in R runs: the rule of three).

``method="importance"`` samples the scenario's random (``mtbf``) faults more often and weights each
run by its likelihood ratio (``sim.runners.rare``), for probabilities far below 1/R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

from scipy.stats import beta

from sim.config.loader import LoadedScenario
from sim.errors import ConfigError
from sim.runners import rare
from sim.runners.run import simulate
from sim.runners.summary import summarize
from sim.stats import Z95

PER = 1_000_000
METHODS = ("plain", "importance")


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


def clopper_pearson_upper(events: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided exact upper bound of a binomial proportion (0 events: 1 − (1 − c)^(1/n) ≈ 3/n)."""
    if trials <= 0 or events >= trials:
        return 1.0
    return float(beta.ppf(confidence, events + 1, trials - events))


@dataclass
class Rate:
    name: str
    events: int
    trials: int
    runs_with_events: int
    runs: int = 0
    max_trials_per_run: int = 0

    @property
    def per_million(self) -> float:
        return PER * self.events / self.trials if self.trials else float("nan")

    def interval_per_million(self) -> tuple[float, float]:
        low, high = wilson_interval(self.events, self.trials)
        return PER * low, PER * high

    def run_bound_per_million(self) -> float:
        """The honest 95 % upper bound per payment from runs (see the module docstring)."""
        if not self.trials or not self.runs:
            return float("nan")
        mean = self.trials / self.runs
        return PER * min(1.0, clopper_pearson_upper(self.runs_with_events, self.runs) * self.max_trials_per_run / mean)

    def to_dict(self) -> dict:
        low, high = self.interval_per_million()
        return {"events": self.events, "payments": self.trials, "per_million": round(self.per_million, 6),
                "ci95_per_million": [round(low, 6), round(high, 6)], "runs_with_events": self.runs_with_events,
                "upper95_from_runs_per_million": round(self.run_bound_per_million(), 6)}


@dataclass
class WeightedRate:
    """An importance-sampled probability per payment (``sim.runners.rare``)."""

    name: str
    runs: list[rare.WeightedRun]
    max_weight: float
    """The largest weight a run can get: bounds the probability when no run had an event."""

    @property
    def events(self) -> int:
        return sum(r.events for r in self.runs)

    @property
    def runs_with_events(self) -> int:
        return sum(r.events > 0 for r in self.runs)

    def estimate(self) -> tuple[float, float, float]:
        """P per payment with its 95 % interval; with no event, (0, 0, honest upper bound)."""
        rate, low, high = rare.weighted_rate(self.runs)
        if self.events == 0:
            payments = [r.payments for r in self.runs]
            mean = sum(payments) / len(payments) if payments else 0.0
            bound = (clopper_pearson_upper(0, len(self.runs)) * self.max_weight * max(payments) / mean
                     if mean else 1.0)
            return 0.0, 0.0, min(1.0, bound)
        return rate, low, high

    def speedup(self) -> float | None:
        return rare.plain_variance_ratio(self.runs)

    def to_dict(self) -> dict:
        rate, low, high = self.estimate()
        speedup = self.speedup()
        return {"events": self.events, "runs_with_events": self.runs_with_events,
                "per_million": round(PER * rate, 9), "ci95_per_million": [round(PER * low, 9), round(PER * high, 9)],
                "probability": rate, "ci95": [low, high],
                "speedup_over_plain": None if speedup is None else round(speedup, 3),
                "effective_runs": round(rare.effective_runs(self.runs), 3)}


@dataclass
class Estimate:
    scenario: str
    replications: int
    first_seed: int
    double_charge: Rate | WeightedRate
    lost_payment: Rate | WeightedRate
    method: str = "plain"
    tilts: tuple[rare.Tilt, ...] = ()
    episodes: int = 0

    def to_dict(self) -> dict:
        data = {"scenario": self.scenario, "replications": self.replications, "method": self.method,
                "seeds": [self.first_seed, self.first_seed + self.replications - 1],
                "double_charge": self.double_charge.to_dict(), "lost_payment": self.lost_payment.to_dict()}
        if self.method == "importance":
            data["biased_faults"] = [{"index": t.index, "kind": t.kind, "rate_per_h": t.rate_per_s * 3600,
                                      "biased_rate_per_h": t.biased_per_s * 3600} for t in self.tilts]
            data["episodes"] = self.episodes
        return data


def estimate(loaded: LoadedScenario, replications: int, seed: int | None = None, variant: str | None = None,
             on_run: Callable[[int], None] | None = None, method: str = "plain",
             bias: float | None = None) -> Estimate:
    if method == "importance":
        return estimate_importance(loaded, replications, seed, variant, on_run, bias)
    first = loaded.scenario.seed if seed is None else seed
    payments = doubles = lost = runs_double = runs_lost = most = 0
    for i in range(replications):
        world, _verdicts, recon = simulate(loaded, first + i, variant)
        summary = summarize(world, recon)
        payments += summary["orders"]
        most = max(most, summary["orders"])
        doubles += summary["double_charges"]
        lost += summary["lost_payments"]
        runs_double += summary["double_charges"] > 0
        runs_lost += summary["lost_payments"] > 0
        if on_run is not None:
            on_run(i + 1)
    return Estimate(
        loaded.scenario.name, replications, first,
        Rate("double_charge", doubles, payments, runs_double, replications, most),
        Rate("lost_payment", lost, payments, runs_lost, replications, most),
    )


def estimate_importance(loaded: LoadedScenario, replications: int, seed: int | None = None,
                        variant: str | None = None, on_run: Callable[[int], None] | None = None,
                        bias: float | None = None) -> Estimate:
    """Importance sampling of the scenario's random (``mtbf``) faults (``sim.runners.rare``)."""
    scenario = loaded.scenario
    if bias is not None and bias < 1.0:
        raise ConfigError(f"--bias must be >= 1 (failures made more frequent), got {bias:g}", hint="e.g. --bias 1000")
    tilts = rare.tilts_for(scenario, bias)
    if not tilts:
        raise ConfigError(
            "--method importance needs a random fault to oversample: a fault with mtbf and mttr starting inside "
            "the load phase", file=loaded.scenario_path, key="faults",
            hint="e.g. {kind: psp_reply_lost_after_commit, mtbf: 1000h, mttr: 50ms}; or use --method plain")
    first = scenario.seed if seed is None else seed
    max_weight = math.prod(t.max_weight for t in tilts)
    doubles: list[rare.WeightedRun] = []
    lost: list[rare.WeightedRun] = []
    episodes = 0
    for i in range(replications):
        biased, log_weight, count = rare.biased_scenario(scenario, tilts, first + i)
        episodes += count
        world, _verdicts, recon = simulate(replace(loaded, scenario=biased), first + i, variant)
        summary = summarize(world, recon)
        weight = math.exp(log_weight)
        doubles.append(rare.WeightedRun(weight, summary["orders"], summary["double_charges"]))
        lost.append(rare.WeightedRun(weight, summary["orders"], summary["lost_payments"]))
        if on_run is not None:
            on_run(i + 1)
    return Estimate(scenario.name, replications, first, WeightedRate("double_charge", doubles, max_weight),
                    WeightedRate("lost_payment", lost, max_weight), "importance", tuple(tilts), episodes)
