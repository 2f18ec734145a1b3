"""Rare events: ``paychaos estimate --method importance`` against an exact probability.

The case, on the full model (``models/flawed/no-status-query.yaml``: a PSP without idempotency
keys, blind retries after a timeout): every payment whose first reply the PSP sends while a
reply-loss episode is on is charged twice (the retry charges again), and no other payment is
(declines, bank and PSP errors and pending answers are switched off, the PSP timeout is far above
its latency). Reply-loss episodes are an alternating renewal process: up-times exponential of
rate λ (``mtbf``), episodes exponential of rate μ (``mttr``), starting up at 0. So a payment whose
first reply leaves at time r is double-charged with probability

    P_down(r) = λ/(λ+μ) · (1 − exp(−(λ+μ)·r)),

the two-state Markov chain's transient. Checkouts arrive as a Poisson stream of rate ρ, capped at
``max_checkouts`` n (all arrive well before the load phase ends: an episode clipped at its end
cannot matter); r exceeds the arrival time, whose transient term averages to at most ρ/(λ+μ)/n
over the n payments (Σ_k (ρ/(ρ+κ))^k = ρ/κ). The probability per payment is therefore

    π·(1 − ρ/(κ·n)) ≤ P ≤ π,   π = λ/(λ+μ), κ = λ+μ,

a bracket 0.25 % wide here, far inside the estimate's interval: π is the reference. λ is set so
that π = 10⁻⁶ and 10⁻⁹; plain Monte Carlo would need about 1/(π·n) runs to see one event.
The speed-up is the ratio of plain Monte Carlo's variance per run (estimated from the same
weighted runs) to the importance sampler's: the factor by which plain Monte Carlo needs more runs
for the same relative error.
"""

from __future__ import annotations

import math

from sim.config.loader import LoadedScenario, load_model
from sim.config.scenario import Scenario
from sim.runners.estimate import estimate_importance
from sim.validation.rows import FULL_MODEL, MODELS_DIR, Row, Size, within
from sim.stats import Z95
from sim.validation.stats import Estimate, replication_seeds

MODEL = MODELS_DIR / "flawed" / "no-status-query.yaml"
OVERRIDES = {
    "psp.error_probability": 0, "psp.pending_probability": 0, "banks.decline_limit_probability": 0,
    "banks.error_probability": 0, "banks.low_balance_fraction": 0, "executor.psp_timeout": "20s",
}
RATE_PER_S = 20.0
CHECKOUTS = 400
EPISODE_S = 0.05
"""Mean episode length (mttr): μ = 20/s."""
TARGETS = (1e-6, 1e-9)
RUNS = 400
"""Importance-sampled runs per case at full size (the test suite runs a tenth)."""


def mtbf_for(target: float) -> float:
    """The mean time between episodes that makes π = λ/(λ+μ) equal ``target``."""
    mu = 1.0 / EPISODE_S
    return (1.0 - target) / (target * mu)


def bracket(target: float) -> tuple[float, float]:
    """The exact probability per payment lies in this interval (module docstring)."""
    kappa = 1.0 / mtbf_for(target) + 1.0 / EPISODE_S
    return target * (1.0 - RATE_PER_S / (kappa * CHECKOUTS)), target


def loaded_case(target: float, seed: int) -> LoadedScenario:
    scenario = Scenario.model_validate({
        "name": "rare-double-charge", "model": MODEL.name, "seed": seed, "duration": "30s", "drain": "2m",
        "workload": {"rate": RATE_PER_S, "max_checkouts": CHECKOUTS, "max_orders_per_checkout": 1},
        "faults": [{"kind": "psp_reply_lost_after_commit", "probability": 1.0, "mtbf": mtbf_for(target),
                    "mttr": EPISODE_S}],
    })
    return LoadedScenario(scenario, load_model(MODEL, OVERRIDES), "<validation rare events>", str(MODEL), {})


def validate(size: Size, master_seed: int, progress=None) -> list[Row]:
    runs = max(20, round(RUNS * size.scale))
    first = replication_seeds(master_seed, "rare-events", 1)[0] % (2**62)
    rows = []
    for target in TARGETS:
        result = estimate_importance(loaded_case(target, first), runs)
        rate = result.double_charge
        p, low, high = rate.estimate()
        simulated = Estimate(p, low, high, runs, (high - low) / (2 * Z95))
        low_exact, exact = bracket(target)
        case = (f"no-status-query, reply-loss episodes (mtbf {mtbf_for(target) / 3600:.4g} h, mttr "
                f"{EPISODE_S * 1000:g} ms), {RATE_PER_S:g}/s × {CHECKOUTS} payments, {runs} weighted runs")
        rows.append(Row("Rare events: P(double charge) per payment, importance sampling", case,
                        f"{exact:.3g} (exact within [{low_exact:.6g}, {exact:.3g}])", simulated,
                        "reference in 95 % CI", within(exact, simulated), FULL_MODEL, reference_value=exact))
        speedup = rate.speedup() or math.nan
        rows.append(Row("Rare events: speed-up over plain Monte Carlo (runs for equal relative error)", case, "—",
                        Estimate(speedup, speedup, speedup, runs), "reported", None, FULL_MODEL))
        if progress is not None:
            progress()
    return rows
