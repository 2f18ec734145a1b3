"""R replications of a scenario, seeds derived from its seed, KPIs with 95 % confidence intervals.

Replication 0 uses the scenario's own seed (so one replication is exactly ``paychaos run``);
replication i > 0 uses ``derive_seed(seed, "replication.i")``. The seed list depends only on the
scenario seed, so every variant of a comparison gets the same seeds: common random numbers.

Confidence intervals are Student-t intervals for the mean, ``mean ± t(0.975, n-1)·s/√n``.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from sim.config.loader import LoadedScenario
from sim.domain.orders import OrderState
from sim.rng import derive_seed
from sim.config.kpis import KPIS
from sim.runners.kpis import enrich
from sim.runners.run import run_scenario, simulate

# two-sided 95 % Student-t quantiles t(0.975, df), df = 1..30, then a few larger df
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)
_T975_LARGE = ((40, 2.021), (60, 2.000), (120, 1.980))
Z975 = 1.959964

Progress = Callable[[int], None]


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (table; conservative
    between tabulated values)."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two observations")
    if df <= len(_T975):
        return _T975[df - 1]
    for limit, value in reversed(_T975_LARGE):
        if df >= limit:
            return value
    return _T975[-1]


def mean_ci(values: Iterable[float | None]) -> dict:
    """Mean and 95 % CI of ``values`` (None ignored): {mean, low, high, half_width, n}."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    n = int(data.size)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "half_width": None, "n": 0}
    mean = float(data.mean())
    if n == 1:
        return {"mean": _r(mean), "low": None, "high": None, "half_width": None, "n": 1}
    half = t975(n - 1) * float(data.std(ddof=1)) / math.sqrt(n)
    return {"mean": _r(mean), "low": _r(mean - half), "high": _r(mean + half), "half_width": _r(half), "n": n}


def _r(x: float) -> float:
    return round(x, 6)


def replication_seeds(seed: int, replications: int) -> list[int]:
    return [seed] + [derive_seed(seed, f"replication.{i}") for i in range(1, replications)]


def pick_sample_orders(world) -> dict[int, str]:
    """A few orders worth drawing: a clean success, a retried one, and a failed or dead-lettered
    one (the first of each, so the choice is deterministic)."""
    orders = world.orders
    wanted = {"succeeded first time": None, "retried": None, "failed or dead-lettered": None}
    failed = (OrderState.DEAD_LETTERED, OrderState.FAILED)
    for order_id in range(len(orders)):
        state, attempts = orders.state[order_id], orders.psp_attempts[order_id]
        if wanted["succeeded first time"] is None and state == OrderState.SUCCESS and attempts == 1:
            wanted["succeeded first time"] = order_id
        elif wanted["retried"] is None and attempts > 1:
            wanted["retried"] = order_id
        elif state in failed and (wanted["failed or dead-lettered"] is None or (
                state == OrderState.DEAD_LETTERED and orders.state[wanted["failed or dead-lettered"]] != state)):
            wanted["failed or dead-lettered"] = order_id  # the first dead-lettered one if any, else failed
    return {order_id: label for label, order_id in wanted.items() if order_id is not None}


def run_one(loaded: LoadedScenario, seed: int, variant: str | None = None, samples: bool = False) -> dict:
    """One run's JSON-ready results with KPIs; with ``samples``, traced sample orders too
    (a deterministic traced re-run of the same seed)."""
    result = run_scenario(loaded, seed=seed, variant=variant)
    data = enrich(result.data, result.world)
    if samples:
        picked = pick_sample_orders(result.world)
        if picked:
            traced, _, _ = simulate(loaded, seed, variant, trace_orders=frozenset(picked))
            orders = result.world.orders
            data["sample_orders"] = [
                {"order": order_id, "label": label, "created_at_s": round(orders.created_at[order_id], 6),
                 "state": OrderState(orders.state[order_id]).name, "psp_attempts": orders.psp_attempts[order_id],
                 "events": [[t, what] for t, what in traced.trace.of(order_id)]}
                for order_id, label in sorted(picked.items())
            ]
    return data


def _job(args: tuple) -> dict:
    loaded, seed, variant, samples = args
    return run_one(loaded, seed, variant, samples)


def run_many(jobs: list[tuple], workers: int | None = None, progress: Progress | None = None) -> list[dict]:
    """Run ``(loaded, seed, variant, samples)`` jobs, in parallel when ``workers`` > 1; results in
    job order whatever finishes first (so outputs do not depend on scheduling)."""
    workers = default_workers(len(jobs)) if workers is None else max(1, workers)
    results: list[dict | None] = [None] * len(jobs)
    if workers == 1 or len(jobs) == 1:
        for index, job in enumerate(jobs):
            results[index] = _job(job)
            if progress:
                progress(1)
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_job, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if progress:
                progress(1)
    return results  # type: ignore[return-value]


def default_workers(jobs: int) -> int:
    return max(1, min(jobs, os.cpu_count() or 1))


@dataclass
class Replicated:
    """R runs of one (scenario, variant): the first run in full, every run's KPIs, and CIs."""

    runs: list[dict]

    @property
    def first(self) -> dict:
        return self.runs[0]

    def kpi_values(self, key: str) -> list:
        return [run["kpis"][key] for run in self.runs]

    def stats(self) -> dict[str, dict]:
        return {kpi.key: mean_ci(self.kpi_values(kpi.key)) for kpi in KPIS}

    def to_dict(self) -> dict:
        """``results.json`` of a replicated run: the first run's full results, plus replications."""
        data = dict(self.first)
        if len(self.runs) == 1:
            return data
        data["replications"] = {
            "count": len(self.runs),
            "seeds": [run["seed"] for run in self.runs],
            "kpis": self.stats(),
            "per_replication": [run["kpis"] for run in self.runs],
            "verdicts": [run["verdict"] for run in self.runs],
        }
        if any(run["verdict"] != "pass" for run in self.runs):
            data["verdict"] = "fail"
        return data


def replicate(loaded: LoadedScenario, replications: int | None = None, variant: str | None = None,
              seed: int | None = None, workers: int | None = None, progress: Progress | None = None) -> Replicated:
    """``replications`` runs (default: the scenario's ``replications``); sample orders traced in
    the first."""
    count = replications or loaded.scenario.replications
    seeds = replication_seeds(loaded.scenario.seed if seed is None else seed, count)
    jobs = [(loaded, s, variant, index == 0) for index, s in enumerate(seeds)]
    return Replicated(run_many(jobs, workers, progress))
