"""Measuring one model run: wall time by phase, SimPy events, memory.

Definitions (printed by the bench and written to ``bench/results.json``):

- **payment** = one payment order (one seller's part of a checkout; what the executor pays
  through the PSP, and what the wallet and ledger record). A checkout holds ~1.47 of them.
- **events** = SimPy events scheduled during the run (each takes one id from the environment's
  counter), so timeouts that never fire are counted: they cost a heap push and pop.
- **payments/s** = payments / CPU time of the whole run (world and population built, simulated,
  oracles checked, reconciled, summarised): what a user waits for on an idle core. CPU time of
  the process, not wall time, so other load on a shared machine does not skew the ratio to the
  reference (measured the same way); wall-clock rates are reported next to it.
- **bytes retained per finished payment** = growth of traced Python memory (tracemalloc) from
  before the world is built to after the run (world still alive), between two run sizes, divided
  by the difference in payments: the marginal cost of one more payment, fixed costs cancelled.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import resource
import time
import tracemalloc
from pathlib import Path

import simpy

from sim.config.loader import LoadedScenario, load_scenario
from sim.kernel.engine import Engine
from sim.runners.run import run_scenario

BENCH_DIR = Path(__file__).resolve().parent
THROUGHPUT = BENCH_DIR / "scenarios" / "throughput.yaml"
FAULT_HEAVY = BENCH_DIR / "scenarios" / "fault-heavy.yaml"

ORDERS_PER_CHECKOUT = 1.4725
"""Mean payment orders per checkout for max_orders_per_checkout 3 (1 + 0.35 + 0.35²)."""


def events_scheduled(env: simpy.Environment) -> int:
    """Events scheduled so far in ``env`` (each took one id from its counter); bench-only."""
    return next(env._eid)


def sized(path: Path, payments: int | None) -> LoadedScenario:
    """The scenario at ``path``, capped at about ``payments`` payment orders."""
    loaded = load_scenario(path)
    if payments is None:
        return loaded
    scenario = loaded.scenario
    checkouts = max(1, math.ceil(payments / ORDERS_PER_CHECKOUT))
    workload = scenario.workload.model_copy(update={"max_checkouts": checkouts})
    return dataclasses.replace(loaded, scenario=scenario.model_copy(update={"workload": workload}))


class _LoopClock:
    """CPU time spent inside ``Engine.run`` (the simulation loop proper)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = Engine.run

    def __enter__(self) -> "_LoopClock":
        clock, original = self, self._original

        def run(env, until=None):
            started = time.process_time()
            try:
                return original(env, until)
            finally:
                clock.seconds += time.process_time() - started

        Engine.run = run
        return self

    def __exit__(self, *exc) -> None:
        Engine.run = self._original


def rss_mib() -> float:
    """Current resident set size (Linux /proc; 0.0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process's own memory since it started (Linux VmHWM).

    Not ``ru_maxrss``: Linux keeps it across fork and exec, so a spawned worker's starts at the
    RSS of the process it was forked from, and a child measured from a large parent would report
    the parent's size. ``ru_maxrss`` (KiB on Linux) only where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_run(path: str, payments: int | None, seed: int | None = None) -> dict:
    """Run the scenario once (meant for a fresh process) and measure it."""
    loaded = sized(Path(path), payments)
    gc.collect()
    rss_before = rss_mib()
    with _LoopClock() as loop:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_scenario(loaded, seed=seed, explain=False)
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    world = result.world
    rss_after = rss_mib()
    orders = len(world.orders)
    events = events_scheduled(world.env)
    summary = result.data["summary"]
    return {
        "scenario": loaded.scenario.name,
        "payments": orders,
        "checkouts": len(world.checkouts),
        "verdict": result.data["verdict"],
        "success_rate": summary["success_rate"],
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "sim_loop_s": round(loop.seconds, 3),
        "payments_per_s": round(orders / cpu_s, 1),
        "payments_per_s_wall": round(orders / wall_s, 1),
        "payments_per_s_sim_loop": round(orders / loop.seconds, 1),
        "events": events,
        "events_per_s": round(events / loop.seconds, 1),
        "events_per_payment": round(events / orders, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_growth_per_payment_bytes": round((rss_after - rss_before) * 2**20 / orders, 1),
        "digest": result.digest(),
    }


def traced_growth(path: str, payments: int, snapshot_path: str | None = None) -> tuple[int, int]:
    """(payments, bytes) traced by tracemalloc from before the world to after the run; with
    ``snapshot_path``, the end-of-run snapshot is dumped there (``bench.retained`` reads it)."""
    loaded = sized(Path(path), payments)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = run_scenario(loaded, explain=False)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    if snapshot_path is not None:
        tracemalloc.take_snapshot().dump(snapshot_path)
    tracemalloc.stop()
    return len(result.world.orders), after - before


def retained_per_payment(small: tuple[int, int], large: tuple[int, int]) -> dict:
    """Marginal traced bytes per payment between a small and a large run, each measured by
    :func:`traced_growth` in a fresh process (run in one process, the second run would skip the
    first's one-off costs — imports, caches — and the difference would understate the cost)."""
    (n1, b1), (n2, b2) = small, large
    return {
        "small": {"payments": n1, "bytes": b1},
        "large": {"payments": n2, "bytes": b2},
        "bytes_per_payment": round((b2 - b1) / (n2 - n1), 1),
    }
