"""Sweep speedup: the same short runs through the sweep runner (``sim.runners.sweep``, the code
``paychaos sweep`` uses) on one worker process and on two. Both sides pay the same process
start-up, and they must produce identical results (each run's digest, point by point)."""

from __future__ import annotations

import math
import multiprocessing
import tempfile
import time
from pathlib import Path

from bench.measure import ORDERS_PER_CHECKOUT, THROUGHPUT
from sim.config.sweep import load_sweep
from sim.runners.sweep import execute, tasks_of


def sweep_file(folder: Path, runs: int, payments: int) -> Path:
    """A two-point sweep of the throughput scenario (the executor's PSP timeout at 2 s and 4 s; the
    same workload at both), ``runs`` runs in all (an even number) of about ``payments`` each. Two
    points, so the report draws what a user's sweep draws: a plot per headline KPI."""
    checkouts = max(1, math.ceil(payments / ORDERS_PER_CHECKOUT))
    path = folder / "bench-sweep.yaml"
    path.write_text(
        f"name: bench-sweep\nscenario: {THROUGHPUT.as_posix()}\nreplications: {max(1, runs // 2)}\n"
        f"parameters:\n  workload.max_checkouts: [{checkouts}]\n  model.executor.psp_timeout: [2s, 4s]\n"
    )
    return path


def timed_sweep(path: Path, workers: int) -> tuple[float, list[str]]:
    tasks = tasks_of(load_sweep(path))
    started = time.perf_counter()
    rows = list(execute(tasks, "local", workers=workers))
    elapsed = time.perf_counter() - started
    digests = [row["digest"] for row in sorted(rows, key=lambda row: (row["point"], row["replication"]))]
    return elapsed, digests


def sweep_speedup(runs: int = 16, payments: int = 20_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="paychaos-bench-") as folder:
        path = sweep_file(Path(folder), runs, payments)
        serial_s, serial = timed_sweep(path, 1)
        parallel_s, parallel = timed_sweep(path, 2)
    return {
        "runs": runs,
        "payments_per_run": payments,
        "one_worker_s": round(serial_s, 3),
        "two_workers_s": round(parallel_s, 3),
        "speedup": round(serial_s / parallel_s, 3),
        "identical_results": serial == parallel,
        "cpus": multiprocessing.cpu_count(),
        "runner": "sim.runners.sweep (local process pool, spawn)",
    }
