"""R replications of a scenario, seeds derived from its seed, KPIs with 95 % confidence intervals.

Replication 0 uses the scenario's own seed (so one replication is exactly ``paychaos run``);
replication i > 0 uses ``derive_seed(seed, "replication.i")``. The seed list depends only on the
scenario seed, so every variant of a comparison gets the same seeds: common random numbers.

Confidence intervals are Student-t intervals for the mean (``sim.stats.mean_ci``), clipped to
each KPI's physical range.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from sim.config.loader import LoadedScenario
from sim.domain.orders import OrderState
from sim.observe.samples import SampleTrace, pick_samples
from sim.rng import derive_seed
from sim.config.kpis import KPIS, kpi_bounds
from sim.runners.kpis import enrich
from sim.runners.run import run_scenario
from sim.stats import mean_ci, t975  # noqa: F401  (re-exported: the one CI implementation)

if TYPE_CHECKING:
    from sim.world import World

Progress = Callable[[int], None]
Done = Callable[[int, dict], None]
"""Told of each finished job: its index in the job list and its results."""


def replication_seeds(seed: int, replications: int) -> list[int]:
    return [seed] + [derive_seed(seed, f"replication.{i}") for i in range(1, replications)]


def pick_sample_orders(world) -> dict[int, str]:
    """A few orders worth drawing: a clean success, a retried one, and a failed or dead-lettered
    one, among the orders the world's trace kept (all of them under a full trace)."""
    trace = world.trace
    if isinstance(trace, SampleTrace):
        return trace.samples()
    return pick_samples(world.orders, range(len(world.orders)))


def sample_order_data(world, picked: dict[int, str]) -> list[dict]:
    """The picked orders (id -> label), JSON-ready with their traced events, for the sequence diagrams."""
    orders, trace = world.orders, world.trace
    return [
        {"order": order_id, "label": label, "created_at_s": round(orders.created_at[order_id], 6),
         "state": OrderState(orders.state[order_id]).name, "psp_attempts": orders.psp_attempts[order_id],
         "events": [[t, what] for t, what in trace.of(order_id)]}
        for order_id, label in sorted(picked.items())
    ]


def run_one(loaded: LoadedScenario, seed: int, variant: str | None = None, samples: bool = False,
            on_time: Callable[[float, float], None] | None = None,
            peek: Callable[[World], None] | None = None) -> dict:
    """One run's JSON-ready results with KPIs; with ``samples``, the sample orders' events too,
    traced during the run itself; ``on_time(now, end)`` reports progress, ``peek(world)`` looks at
    the run while it goes (``sim.runners.run.simulate``)."""
    result = run_scenario(loaded, seed=seed, variant=variant, samples=samples, on_time=on_time, peek=peek)
    data = enrich(result.data, result.world)
    if samples:
        picked = pick_sample_orders(result.world)
        if picked:
            data["sample_orders"] = sample_order_data(result.world, picked)
    return data


def _job(args: tuple) -> dict:
    loaded, seed, variant, samples = args
    return run_one(loaded, seed, variant, samples)


def run_many(jobs: list[tuple], workers: int | None = None, progress: Progress | None = None,
             on_done: Done | None = None) -> list[dict]:
    """Run ``(loaded, seed, variant, samples)`` jobs, in parallel when ``workers`` > 1; results in
    job order whatever finishes first (so outputs do not depend on scheduling). ``on_done(index,
    results)`` hears of each job as it finishes (a caller can start on what one job gave)."""
    workers = default_workers(len(jobs)) if workers is None else max(1, workers)
    results: list[dict | None] = [None] * len(jobs)

    def finished(index: int, result: dict) -> None:
        results[index] = result
        if on_done:
            on_done(index, result)
        if progress:
            progress(1)

    if workers == 1 or len(jobs) == 1:
        for index, job in enumerate(jobs):
            finished(index, _job(job))
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_job, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            finished(futures[future], future.result())
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
        return {kpi.key: mean_ci(self.kpi_values(kpi.key), kpi_bounds(kpi.key)) for kpi in KPIS}

    def stats_by_currency(self) -> dict[str, dict[str, dict]] | None:
        """Each money KPI's mean and CI per currency (``kpis_by_currency``), or None with one currency."""
        split = self.first.get("kpis_by_currency")
        if split is None:
            return None
        return {key: {code: mean_ci(self.kpi_values_in(key, code), kpi_bounds(key)) for code in codes}
                for key, codes in split.items()}

    def kpi_values_in(self, key: str, code: str) -> list:
        """A money KPI's part in currency ``code``, run by run (``kpis_by_currency``)."""
        return [run["kpis_by_currency"][key][code] for run in self.runs]

    def to_dict(self) -> dict:
        """``results.json`` of a replicated run: the first run's full results, plus replications."""
        data = dict(self.first)
        if len(self.runs) == 1:
            return data
        split = self.stats_by_currency()
        data["replications"] = {
            "count": len(self.runs),
            "seeds": [run["seed"] for run in self.runs],
            "kpis": self.stats(),
            **({} if split is None else {"kpis_by_currency": split}),
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
