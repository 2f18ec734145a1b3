"""Sweep speedup: the same short runs on one worker process and on two (spawn start method).

Until the sweep runner (``sim/runners/sweep.py``) is merged this uses a plain
``ProcessPoolExecutor``; the runner should then be plugged in here. Both sides pay the same
process start-up, and the two sides must produce identical results (digests).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from bench.measure import THROUGHPUT, sized
from sim.runners.run import run_scenario


def one_run(task: tuple[str, int, int]) -> str:
    path, payments, seed = task
    from pathlib import Path

    return run_scenario(sized(Path(path), payments), seed=seed, explain=False).digest()


def timed_sweep(workers: int, runs: int, payments: int) -> tuple[float, list[str]]:
    tasks = [(str(THROUGHPUT), payments, seed) for seed in range(1, runs + 1)]
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        digests = list(pool.map(one_run, tasks))
    return time.perf_counter() - started, digests


def sweep_speedup(runs: int = 16, payments: int = 20_000) -> dict:
    serial_s, serial = timed_sweep(1, runs, payments)
    parallel_s, parallel = timed_sweep(2, runs, payments)
    return {
        "runs": runs,
        "payments_per_run": payments,
        "one_worker_s": round(serial_s, 3),
        "two_workers_s": round(parallel_s, 3),
        "speedup": round(serial_s / parallel_s, 3),
        "identical_results": serial == parallel,
        "cpus": multiprocessing.cpu_count(),
        "runner": "concurrent.futures.ProcessPoolExecutor (spawn)",
    }
