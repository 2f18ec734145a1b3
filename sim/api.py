"""The Python API for notebooks and scripts: load, override, run, compare, sweep → pandas.

```python
from sim import api

setup = api.load("scenarios/baseline.yaml", {"duration": "5m", "model.executor.psp_timeout": "1s"})
result = api.run(setup)                      # one run: RunResult (.data JSON dict, .passed)
api.kpis(result)                             # the flat KPIs: {"success_rate": 0.99, ...}
table = api.compare(setup, {"fixed": {"model.executor.retry.strategy": "fixed"},
                            "full-jitter": {}}, seeds=5)        # one row per variant × seed
api.summarize(table, by="variant")           # mean and 95 % CI per variant and KPI
rows = api.sweep("scenarios/sweeps/psp-timeout-tradeoff.yaml", executor="local")
api.series(result)                           # time series (per bin) as a DataFrame
```

Settings use the key-path convention of sweep files: ``model.<path>`` for the system model
(``model.executor.psp_timeout``), ``variant`` for one of the scenario's variants, ``model`` for
another model file, anything else for the scenario (``workload.rate``, ``duration``,
``faults.0.probability``). Seeds of replication ``r`` come from the master seed and ``r`` alone,
so every variant of a comparison sees the same customers and fault timeline (common random
numbers) and the numbers do not depend on the executor.

``explore`` runs the explorer on a model and can write the counterexample it shrinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from sim.config.loader import LoadedScenario, load_scenario, read_yaml
from sim.config.sweep import (
    Resolved, SettingsSource, key_path_problem, load_sweep, replication_seed, resolve_settings, setting_value,
)
from sim.config.kpis import KPI_DESCRIPTIONS, KPI_NAMES
from sim.errors import ConfigError
from sim.reports.sweep_points import point_ci, points_frame
from sim.reports.sweep_report import write_sweep_report
from sim.runners.kpis import kpis as run_kpis
from sim.runners.run import RunResult, run_scenario
from sim.runners.sweep import execute, run_sweep

__all__ = [
    "Setup", "load", "override", "run", "kpis", "frame", "series", "compare", "summarize", "sweep",
    "sweep_points", "explore", "KPI_DESCRIPTIONS",
]


@dataclass(frozen=True)
class Setup:
    """A scenario file plus the settings applied to it, validated and ready to run."""

    path: str
    settings: dict[str, Any]
    loaded: LoadedScenario = field(repr=False)
    scenario_data: dict = field(repr=False)
    model_data: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.loaded.scenario.name

    @property
    def scenario(self):
        return self.loaded.scenario

    @property
    def model(self):
        return self.loaded.model


def load(path: str | Path, settings: Mapping[str, Any] | None = None) -> Setup:
    """Load and validate a scenario file (and its model), with optional settings by key path."""
    base = load_scenario(path)
    return _apply(str(path), base, dict(settings or {}))


def override(setup: Setup, settings: Mapping[str, Any]) -> Setup:
    """A new Setup with ``settings`` applied on top of the ones ``setup`` already has."""
    return _apply(setup.path, load_scenario(setup.path), {**setup.settings, **dict(settings)})


def _apply(path: str, base: LoadedScenario, settings: dict[str, Any]) -> Setup:
    for key in settings:
        problem = key_path_problem(key, base)
        if problem is not None:
            raise ConfigError(problem[0], file=path, key=key, hint=problem[1])
    raw = read_yaml(path).data
    source = SettingsSource(path, note="check the values given in the settings")
    resolved = resolve_settings(base, raw, settings, Path(path).parent, source)
    return Setup(path, settings, resolved.loaded, resolved.scenario_data, resolved.model_data)


def _setup(target: Setup | str | Path) -> Setup:
    return target if isinstance(target, Setup) else load(target)


def run(target: Setup | str | Path, seed: int | None = None) -> RunResult:
    """One run (the scenario's seed unless ``seed`` is given); oracle failures are explained."""
    return run_scenario(_setup(target).loaded, seed=seed)


def kpis(result: RunResult | dict) -> dict[str, Any]:
    """The flat KPIs of a run (``KPI_DESCRIPTIONS`` says what each one means)."""
    return run_kpis(result.data if isinstance(result, RunResult) else result)


def frame(results: Iterable[RunResult | dict]) -> pd.DataFrame:
    """One row per run: scenario, seed, verdict and the KPIs."""
    rows = []
    for result in results:
        data = result.data if isinstance(result, RunResult) else result
        rows.append({"scenario": data["scenario"], "seed": data["seed"], "verdict": data["verdict"], **run_kpis(data)})
    return pd.DataFrame(rows)


def series(result: RunResult | dict) -> pd.DataFrame:
    """The run's time series, one row per time bin: counts per bin and gauges, indexed by
    ``t_s`` (the bin's start in simulated seconds)."""
    data = result.data if isinstance(result, RunResult) else result
    raw = data["series"]
    columns = {**raw["counts"], **raw["gauges"]}
    length = max((len(v) for v in columns.values()), default=0)
    table = pd.DataFrame({name: list(values) + [0] * (length - len(values)) for name, values in columns.items()})
    table.index = pd.Index([i * raw["bin_s"] for i in range(length)], name="t_s")
    return table


def compare(target: Setup | str | Path, variants: Mapping[str, Mapping[str, Any]] | Iterable[str] | None = None,
            *, seeds: int = 5, master_seed: int | None = None, executor: str = "serial",
            workers: int | None = None) -> pd.DataFrame:
    """Run each variant on the same ``seeds`` seeds (common random numbers); one row per
    variant × replication with the KPIs.

    ``variants``: a mapping name → settings (key paths, as in ``load``), or names of the
    scenario's own variants, or None for all of them. Runs go through the sweep executors
    (``serial``, ``local`` process pool, ``dask``); the numbers are the same on each.
    """
    setup = _setup(target)
    if variants is None:
        variants = list(setup.scenario.variants) or ["baseline"]
    if not isinstance(variants, Mapping):
        variants = {name: ({} if name == "baseline" and name not in setup.scenario.variants else {"variant": name})
                    for name in variants}
    if seeds < 1:
        raise ConfigError("seeds must be at least 1", key="seeds")
    master = setup.scenario.seed if master_seed is None else master_seed
    tasks = []
    names = list(variants)
    for index, name in enumerate(names):
        variant = override(setup, variants[name])
        for replication in range(seeds):
            tasks.append({
                "point": index, "replication": replication, "seed": replication_seed(master, replication),
                "values": {"variant": name}, "scenario": variant.scenario_data, "model": variant.model_data,
                "scenario_path": setup.path, "model_path": variant.loaded.model_path,
            })
    rows = sorted(execute(tasks, executor, workers), key=lambda r: (r["point"], r["replication"]))
    table = pd.DataFrame(rows).drop(columns=["point"])
    return table[["variant", "replication", "seed", *KPI_NAMES, "verdict", "digest"]]


def summarize(table: pd.DataFrame, by: str | list[str] = "variant",
              kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Mean and 95 % confidence interval (Student t over the replications, clipped to the KPI's
    physical range) of each KPI per group:
    columns ``<kpi>``, ``<kpi>_ci_low``, ``<kpi>_ci_high``."""
    keys = [by] if isinstance(by, str) else list(by)
    chosen = [k for k in (kpis or KPI_NAMES) if k in table.columns]
    records = []
    for group, rows in table.groupby(keys, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        record = {**dict(zip(keys, group)), "runs": len(rows)}
        for kpi in chosen:
            record[kpi], record[f"{kpi}_ci_low"], record[f"{kpi}_ci_high"] = point_ci(rows[kpi].tolist(), kpi)
        records.append(record)
    return pd.DataFrame.from_records(records)


def sweep(path: str | Path, out: str | Path | None = None, *, executor: str = "local", workers: int | None = None,
          scheduler: str | None = None, resume: bool = False, fresh: bool = False,
          report: bool = False) -> pd.DataFrame:
    """Run a sweep file; one row per point × replication (parameters, seed, KPIs, digest).
    With ``out``, rows stream to ``out/runs.jsonl`` and ``runs.csv`` as they finish (``resume``
    skips the finished ones) and ``report`` writes the plots."""
    loaded = load_sweep(path)
    outcome = run_sweep(loaded, Path(out) if out is not None else None, executor=executor, workers=workers,
                        scheduler=scheduler, resume=resume, fresh=fresh)
    if report and out is not None:
        write_sweep_report(Path(out), loaded, outcome.rows)
    return pd.DataFrame(outcome.rows)


def sweep_points(table: pd.DataFrame, parameters: list[str], kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Per point of a sweep table: the parameters, the runs, and each KPI's mean and 95 % CI."""
    return points_frame(table.to_dict("records"), parameters, list(kpis or KPI_NAMES))


def values(setup: Setup) -> dict[str, Any]:
    """The validated value of each setting (``"250ms"`` → 0.25), as tables show them."""
    resolved = Resolved(setup.loaded, setup.scenario_data, setup.model_data)
    return {key: setting_value(resolved, key, value) for key, value in setup.settings.items()}


def explore(model: str | Path, budget: int = 200, seed: int = 0, counterexample: str | Path | None = None):
    """Throw ``budget`` random fault schedules at ``model``; on an invariant violation, shrink it
    and (if ``counterexample`` is given) write it as a scenario that replays it. Returns the
    explorer's result (``.found``, ``.oracle``, ``.plan``, ``.messages``)."""
    from sim.runners import explore as explorer

    result = explorer.explore(Path(model), budget, seed)
    if result.found and counterexample is not None:
        explorer.write_counterexample(result, Path(counterexample))
    return result


