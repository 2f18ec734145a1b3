"""Importance sampling of rare fault episodes for ``paychaos estimate --method importance``.

Why this method. In a payment system a double charge or a lost payment needs a fault: a correct
design meets one only when rare episodes coincide (a reply-loss glitch twice a year, a crash
during a failover). Given the faults, the rest of a run is not rare. So the rarity lives in the
fault process, and the fault process is one the scenario states exactly: a fault with ``mtbf``
and ``mttr`` is an alternating renewal process, exponential up-times of rate λ = 1/mtbf and
exponential repairs (``sim.faults.runner``). Importance sampling draws the up-times at a larger
rate λ' (failures happen more often: *failure biasing*, Goyal, Shahabuddin, Heidelberger, Nicola
and Glynn, IEEE Trans. Computers 1992), leaves the repairs and everything else as they are, and
weights each run by the likelihood ratio of what it drew,

    L = (λ/λ')^N · exp(−(λ − λ') · U),

N the failures and U the total up-time inside the load phase (the last, censored up-time
included: its survival ratio is exp(−(λ − λ')·c)). E'[L·D] = E[D] for any count D of a run, so
Σ L·D / Σ L·n estimates the probability per payment without bias (a ratio, with a delta-method
interval). Multilevel splitting was the other candidate; it needs a run cloned in the middle
(SimPy processes are generators, which cannot be copied) or replayed with streams switched at
the split, a change to every component's randomness; tilting the fault process needs no change
to the simulator: the episodes are drawn here and handed to it as ordinary ``at``/``for`` faults.

Limits. The tilt helps when the rarity is in the episodes, not in a coincidence inside a long
run: with λ' = 1/W (one episode per load window W by default) the weights stay near e·λW, and
the relative error does not grow as λ shrinks (bounded relative error); raising λ' far past
1/W makes L degenerate (its variance grows as exp(λ'W)).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sim.config.scenario import Scenario
from sim.rng import Streams
from sim.stats import Z95

STREAM = "estimate.importance.episodes"
"""The named stream the tilted episodes are drawn from (separate from every stream of a run)."""


@dataclass(frozen=True)
class Tilt:
    """One random (``mtbf``) fault of the scenario and the failure rate it is sampled at."""

    index: int
    """Position in the scenario's ``faults``."""
    kind: str
    rate_per_s: float
    """λ = 1 / mtbf, the scenario's own failure rate."""
    biased_per_s: float
    """λ' ≥ λ, the rate episodes are drawn at."""
    window_s: float
    """W: from the fault's ``at`` to the end of the load phase (where episodes may start)."""

    @property
    def max_weight(self) -> float:
        """The largest likelihood ratio a run can get from this fault: no failure in the whole
        window (N = 0, U = W)."""
        return math.exp((self.biased_per_s - self.rate_per_s) * self.window_s)


def tilts_for(scenario: Scenario, bias: float | None = None) -> list[Tilt]:
    """The scenario's random faults and their biased rates: λ' = bias·λ, or by default
    λ' = max(λ, 1/W) (one expected episode per load window; faults already that frequent are
    left as they are)."""
    tilts = []
    for index, fault in enumerate(scenario.faults):
        if fault.mtbf_s is None:
            continue
        window_s = scenario.duration_s - fault.at_s
        if window_s <= 0.0:
            continue
        rate = 1.0 / fault.mtbf_s
        biased = rate * bias if bias is not None else max(rate, 1.0 / window_s)
        tilts.append(Tilt(index, fault.kind, rate, biased, window_s))
    return tilts


def episodes(tilt: Tilt, at_s: float, mttr_s: float, load_end_s: float,
             rng: random.Random) -> tuple[list[tuple[float, float]], float]:
    """Draw one fault's episodes as ``sim.faults.runner`` does for an mtbf fault (up-time, then
    repair, clipped at the end of the load phase), but with up-times of rate λ'; return the
    episodes and log L."""
    rate, biased = tilt.rate_per_s, tilt.biased_per_s
    log_weight = 0.0
    found: list[tuple[float, float]] = []
    t = at_s
    while True:
        up = rng.expovariate(biased)
        if t + up >= load_end_s:
            log_weight -= (rate - biased) * (load_end_s - t)  # censored: survival ratio
            return found, log_weight
        log_weight += math.log(rate / biased) - (rate - biased) * up
        t += up
        end = min(load_end_s, t + rng.expovariate(1.0 / mttr_s))
        found.append((t, end))
        t = end


def biased_scenario(scenario: Scenario, tilts: list[Tilt], seed: int) -> tuple[Scenario, float, int]:
    """The scenario with each tilted fault's episodes drawn at λ' and written out as explicit
    ``at``/``for`` faults; returns it, log L and the number of episodes. The first episode takes
    the fault's place (so every other fault keeps its index, hence its random stream), the others
    go to the end; a fault without an episode stays in place starting at the end of the load
    phase (it never fires)."""
    rng = Streams(seed).stream(STREAM)
    faults = list(scenario.faults)
    extra = []
    log_weight = 0.0
    count = 0
    load_end_s = scenario.duration_s
    for tilt in tilts:
        fault = faults[tilt.index]
        assert fault.mttr_s is not None  # mtbf and mttr go together (validated)
        found, log_w = episodes(tilt, fault.at_s, fault.mttr_s, load_end_s, rng)
        log_weight += log_w
        count += len(found)
        copies = [fault.model_copy(update={"at_s": start, "for_s": end - start, "mtbf_s": None, "mttr_s": None})
                  for start, end in found]
        if not copies:
            copies = [fault.model_copy(update={"at_s": load_end_s, "for_s": None, "mtbf_s": None, "mttr_s": None})]
        faults[tilt.index] = copies[0]
        extra.extend(copies[1:])
    return scenario.model_copy(update={"faults": faults + extra}), log_weight, count


@dataclass(frozen=True)
class WeightedRun:
    """What one importance-sampled run contributes."""

    weight: float
    payments: int
    events: int


def weighted_rate(runs: list[WeightedRun], z: float = Z95) -> tuple[float, float, float]:
    """Σ L·D / Σ L·n over the runs, with a 95 % delta-method interval (low clipped at 0)."""
    count = len(runs)
    ys = [r.weight * r.events for r in runs]
    xs = [r.weight * r.payments for r in runs]
    y_bar, x_bar = math.fsum(ys) / count, math.fsum(xs) / count
    if x_bar <= 0.0:
        return float("nan"), 0.0, 1.0
    rate = y_bar / x_bar
    if count < 2:
        return rate, 0.0, 1.0
    residuals = [y - rate * x for y, x in zip(ys, xs)]
    variance = math.fsum(e * e for e in residuals) / (count - 1)
    half = z * math.sqrt(variance / count) / x_bar
    return rate, max(0.0, rate - half), rate + half


def effective_runs(runs: list[WeightedRun]) -> float:
    """Kish's effective sample size (Σ L)² / Σ L²: near the number of runs when the weights are
    even, near 1 when one run carries them all (too strong a bias: the interval is not to be trusted)."""
    total = math.fsum(r.weight for r in runs)
    squares = math.fsum(r.weight * r.weight for r in runs)
    return total * total / squares if squares > 0.0 else 0.0


def plain_variance_ratio(runs: list[WeightedRun]) -> float | None:
    """How many times more runs plain Monte Carlo needs for the relative error these runs give:
    Var(D) under the true law (E[D²] − E[D]², both estimated as E'[L·D²], E'[L·D]) over the
    variance of L·D under the biased law. None without events."""
    count = len(runs)
    if count < 2:
        return None
    ys = [r.weight * r.events for r in runs]
    mean = math.fsum(ys) / count
    if mean <= 0.0:
        return None
    plain = math.fsum(r.weight * r.events * r.events for r in runs) / count - mean * mean
    biased = math.fsum((y - mean) ** 2 for y in ys) / (count - 1)
    return plain / biased if biased > 0.0 else math.inf
