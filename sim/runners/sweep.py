"""Run a sweep: every (point, replication) of a ``LoadedSweep``, on one of three executors.

- ``serial``: in this process (notebooks, debugging);
- ``local`` (default): a process pool over all cores, spawn start method;
- ``dask``: an existing ``dask.distributed`` scheduler (``scheduler="tcp://host:8786"``) or, without
  an address, a ``LocalCluster`` of single-threaded worker processes.

Workers receive only plain data (the point's scenario and model mappings, the seed) and return
only the JSON-ready row, so the result of a run never depends on which worker ran it: the same
sweep gives the same numbers on every executor and any number of workers. Seeds come from the
sweep's master seed and the replication index (``sim.config.sweep.replication_seed``).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal

from sim.config.loader import LoadedScenario
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.config.sweep import LoadedSweep
from sim.errors import ConfigError, EnvironmentProblem
from sim.runners.kpis import KPI_NAMES, kpis as run_kpis
from sim.runners.run import run_scenario
from sim.runners.sweep_store import SweepStore, csv_text
from sim.reports.output import write_text_atomic

Executor = Literal["serial", "local", "dask"]
EXECUTORS: tuple[str, ...] = ("serial", "local", "dask")
RESULTS_FILE = "results.csv"


def run_task(task: dict) -> dict:
    """One run, in a worker: validate the point's scenario and model, simulate, return the row."""
    scenario = Scenario.model_validate(task["scenario"])
    model = SystemModel.model_validate(task["model"])
    loaded = LoadedScenario(scenario, model, task["scenario_path"], task["model_path"], task["model"])
    result = run_scenario(loaded, seed=task["seed"], explain=False)
    row = {"point": task["point"], "replication": task["replication"], "seed": task["seed"]}
    row.update(task["values"])
    row.update(run_kpis(result.data))
    row["verdict"] = result.data["verdict"]
    row["digest"] = result.digest()
    return row


def tasks_of(sweep: LoadedSweep, skip: set[tuple[int, int]] = frozenset()) -> list[dict]:
    """The plain-data inputs of every run not in ``skip``, point by point, replication by replication."""
    tasks = []
    for point in sweep.points:
        for replication, seed in enumerate(sweep.seeds):
            if (point.index, replication) in skip:
                continue
            tasks.append({
                "point": point.index, "replication": replication, "seed": seed, "values": point.values,
                "scenario": point.scenario_data, "model": point.model_data,
                "scenario_path": sweep.base.scenario_path, "model_path": point.model_path,
            })
    return tasks


def fieldnames_of(sweep: LoadedSweep) -> list[str]:
    return ["point", "replication", "seed", *sweep.parameter_keys, *KPI_NAMES, "verdict", "digest"]


def execute(tasks: list[dict], executor: Executor = "local", workers: int | None = None,
            scheduler: str | None = None) -> Iterator[dict]:
    """Yield each task's row as it finishes (completion order, not task order)."""
    if not tasks:
        return
    if executor == "serial":
        for task in tasks:
            yield run_task(task)
    elif executor == "local":
        yield from _local(tasks, workers or os.cpu_count() or 1)
    elif executor == "dask":
        yield from _dask(tasks, workers, scheduler)
    else:
        raise ConfigError(f"unknown executor {executor!r}", hint=f"one of {', '.join(EXECUTORS)}")


_pool: tuple[int, ProcessPoolExecutor] | None = None
"""The local executor's process pool (worker count, pool), kept for the next sweep of this process:
a notebook's or a benchmark's sweeps start and import their workers once."""


def local_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (started on demand), reused while the count is the same."""
    global _pool
    if _pool is not None and _pool[0] == workers:
        return _pool[1]
    close_local_pool()
    _pool = (workers, ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")))
    return _pool[1]


def close_local_pool() -> None:
    """Shut the kept pool down (at exit, or before a pool of another size)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True, cancel_futures=True)
        _pool = None


atexit.register(close_local_pool)


def _local(tasks: list[dict], workers: int) -> Iterator[dict]:
    pool = local_pool(workers)
    futures = [pool.submit(run_task, task) for task in tasks]
    finished = False
    try:
        for future in as_completed(futures):
            yield future.result()
        finished = True
    finally:
        if not finished:  # an error, an interrupt or a consumer that stopped: no half-busy pool is kept
            for future in futures:
                future.cancel()
            close_local_pool()


def _dask(tasks: list[dict], workers: int | None, scheduler: str | None) -> Iterator[dict]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError("the dask executor needs dask.distributed",
                          hint="pip install 'paychaos[dask]' (or dask[distributed])") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}",
                              hint="give the scheduler address, e.g. tcp://10.0.0.5:8786") from None
    else:
        client = local_cluster_client(workers or os.cpu_count() or 1, LocalCluster, Client)
    finished = False
    try:
        _check_cluster(client, scheduler or "the local cluster")
        futures = client.map(run_task, tasks, pure=False)
        for future in dask_completed(futures):
            try:
                yield future.result()
            except ImportError as exc:
                raise _not_installed("a Dask worker", scheduler, exc) from None
        finished = True
    finally:
        if scheduler:
            client.close()
        elif not finished:  # an error or an interrupt: the next sweep starts a clean cluster
            close_local_cluster()


_cluster: tuple[int, object, object] | None = None
"""The Dask executor's own LocalCluster (worker count, cluster, client), kept like the local pool."""


def local_cluster_client(workers: int, cluster_class, client_class):
    """A client of a LocalCluster of ``workers`` single-threaded worker processes, reused while
    the count is the same (its workers have imported paychaos already)."""
    global _cluster
    if _cluster is not None and _cluster[0] == workers and _cluster[2].status == "running":
        return _cluster[2]
    close_local_cluster()
    cluster = cluster_class(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    _cluster = (workers, cluster, client_class(cluster))
    return _cluster[2]


def close_local_cluster() -> None:
    global _cluster
    if _cluster is not None:
        _, cluster, client = _cluster
        _cluster = None
        client.close()
        cluster.close()


atexit.register(close_local_cluster)


_PROBE = "__import__('sim.runners.sweep').__version__"
"""Evaluated on the scheduler and each worker before any task is sent: a worker that cannot import
paychaos would otherwise die unpickling its first task, and the sweep would wait for ever."""


def _check_cluster(client, where: str) -> None:
    """Raise EnvironmentProblem unless the scheduler and every worker run this paychaos version."""
    from sim import __version__

    for role, probe in (("the Dask scheduler", client.run_on_scheduler), ("a Dask worker", client.run)):
        try:
            found = probe(eval, _PROBE)  # eval is a builtin: it unpickles where paychaos is missing
        except ImportError as exc:
            raise _not_installed(role, where, exc) from None
        versions = set(found.values()) if isinstance(found, dict) else {found}
        if versions - {__version__}:
            raise EnvironmentProblem(
                f"{role} at {where} runs paychaos {', '.join(sorted(map(str, versions - {__version__})))}, "
                f"this process {__version__}", hint="install the same paychaos version on the scheduler and every "
                "worker: results would otherwise differ by worker")


def _not_installed(role: str, where: str | None, exc: ImportError) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"{role} at {where or 'the local cluster'} cannot import paychaos ({exc})",
        hint="install paychaos, the same version as here, on the scheduler and every worker: pip install "
        "'paychaos[dask]'; or run with --executor local")


@dataclass
class SweepOutcome:
    rows: list[dict]
    """Every run's row, sorted by (point, replication)."""
    ran: int
    """Runs executed now (the rest were already done, on resume)."""
    out_dir: Path | None

    @property
    def failed(self) -> int:
        return sum(1 for row in self.rows if row["verdict"] != "pass")


def run_sweep(sweep: LoadedSweep, out_dir: Path | None = None, *, executor: Executor = "local",
              workers: int | None = None, scheduler: str | None = None, resume: bool = False, fresh: bool = False,
              on_row: Callable[[dict, int, int], None] | None = None) -> SweepOutcome:
    """Run every pending (point, replication); with ``out_dir``, stream each row to disk as it
    finishes and write the sorted ``results.csv`` at the end. ``on_row(row, done, total)`` is
    called after each run (progress bars)."""
    fieldnames = fieldnames_of(sweep)
    store = None
    if out_dir is not None:
        plan = {"sweep": sweep.spec.model_dump(mode="json", by_alias=True), "sweep_file": sweep.path,
                "scenario_file": sweep.base.scenario_path, "master_seed": sweep.master_seed,
                "seeds": list(sweep.seeds), "points": len(sweep.points), "plan_digest": sweep.plan_digest(),
                "parameters": [{"point": p.index, **p.params} for p in sweep.points]}
        store = SweepStore(Path(out_dir), plan, fieldnames, resume=resume, fresh=fresh)
        for stale in (RESULTS_FILE, "points.csv"):  # rewritten when the sweep completes
            (Path(out_dir) / stale).unlink(missing_ok=True)
    rows: list[dict] = list(store.rows) if store else []
    total = len(sweep.points) * len(sweep.seeds)
    pending = tasks_of(sweep, store.done() if store else set())
    ran = 0
    try:
        if on_row is not None:
            on_row({}, len(rows), total)
        for row in execute(pending, executor, workers, scheduler):
            if store is not None:
                store.append(row)
            rows.append(row)
            ran += 1
            if on_row is not None:
                on_row(row, len(rows), total)
    finally:
        if store is not None:
            store.close()
    rows.sort(key=lambda r: (r["point"], r["replication"]))
    if out_dir is not None:
        write_text_atomic(Path(out_dir) / RESULTS_FILE, csv_text(fieldnames, rows))
    return SweepOutcome(rows, ran, Path(out_dir) if out_dir is not None else None)


def sorted_rows(rows: Iterable[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["point"], r["replication"]))
