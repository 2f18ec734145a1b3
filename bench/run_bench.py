"""``make bench``: the model's throughput against a plain SimPy M/M/c reference measured in the
same run, SimPy events per payment, memory (peak RSS at 1M payments, bytes retained per finished
payment), a fault-heavy run, the sweep speedup on 2 workers, and what a user waits for: ``run``,
``compare`` and ``sweep`` end to end over their own simulations (``bench.end_to_end``, keys
``end_to_end*``); writes ``bench/results.json``.

Timings are reported against the targets of docs/design.md §14.3 but never asserted (they are
noisy); the exit code is 1 only when a structural budget (``bench/budgets.py``) is exceeded.

    python -m bench.run_bench [--quick] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import os
import multiprocessing
import platform
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import simpy
from rich.console import Console
from rich.table import Table

from bench.budgets import EVENTS_PER_PAYMENT_BUDGET
from bench.end_to_end import TARGETS as TARGETS_E2E, end_to_end
from bench.measure import FAULT_HEAVY, THROUGHPUT, measure_run, retained_per_payment, traced_growth
from bench.pairing import median_run, paired
from bench.reference import run_mmc
from bench.sweep import sweep_speedup
from sim import __version__
import json

from sim.atomic import write_text_atomic

RATIO_TARGET = 0.2
"""The simulation loop against the plain SimPy reference (issue 20: at least 0.2× on a quiet machine)."""
PEAK_RSS_TARGET_MIB = 300.0
RETAINED_TARGET_BYTES = 64.0
SPEEDUP_TARGET = 1.8


def _isolated(fn, *args):
    """Run ``fn(*args)`` in a fresh process, so peak RSS and tracemalloc see that run alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


REPEATS_200K = 3
"""Runs of the 200k-payment baseline: its ratio is their median (as the reference's rate is the
median of its runs)."""


def run(quick: bool, console: Console) -> dict:
    sizes = (20_000, 100_000) if quick else (200_000, 1_000_000)
    reference_customers = 50_000 if quick else 200_000
    repeats = 1 if quick else REPEATS_200K
    model_runs = [
        *[(f"baseline, {sizes[0]:,} payments (#{i + 1})", lambda: _isolated(measure_run, str(THROUGHPUT), sizes[0]))
          for i in range(repeats)],
        (f"baseline, {sizes[1]:,} payments", lambda: _isolated(measure_run, str(THROUGHPUT), sizes[1])),
        ("fault-heavy", lambda: _isolated(measure_run, str(FAULT_HEAVY), 20_000 if quick else None)),
    ]
    with console.status("") as status:
        def on_step(label: str) -> None:
            status.update(f"bench: {label}")
            console.log(f"bench: {label}")

        on_step("reference M/M/c #1")
        references, measured = paired(
            model_runs, lambda index: _isolated(run_mmc, reference_customers, index + 1), on_step)
        on_step("bytes retained (tracemalloc)")
        retained = _retained(quick)
        on_step("sweep, 1 vs 2 workers")
        sweep = sweep_speedup(runs=4 if quick else 16, payments=5_000 if quick else 20_000)
        on_step("end to end: run, compare, sweep (and the short ones) against their own simulations")
        e2e = end_to_end(quick)
    reference_rate = statistics.median(r["customers_per_s"] for r in references)
    runs = [result for _, result in measured]
    baselines = [median_run(runs[:repeats]), runs[repeats]]
    fault_heavy = runs[repeats + 1]
    big = baselines[-1]
    events_per_payment = baselines[0]["events_per_payment"]
    return {
        "definitions": {
            "payment": "one payment order (a checkout holds ~1.47); payments/s = payments per CPU "
                       "second of the whole run (build, simulate, oracles, reconcile, summarise); the "
                       "reference's customers/s is per CPU second too",
            "ratio_to_reference": "payments/s over the mean customers/s of the two reference runs "
                                  "measured just before and just after it (a reference between every "
                                  "two model runs); at 200k payments, the median of "
                                  f"{REPEATS_200K} runs",
            "events": "SimPy events scheduled during the run",
            "bytes_retained_per_payment": "marginal tracemalloc-traced bytes per payment between two "
                                          "run sizes, each in a fresh process, world alive after the run",
            "end_to_end": "a whole CLI command in a fresh process (imports, runs, report) over the time "
                          "spent in its simulations (sim.runners.run.simulate), wall and CPU; run, compare "
                          "and sweep are the README's commands at their shipped sizes, the -short ones "
                          "have no target (the fixed part against ~2 s of simulations)",
        },
        "machine": {"python": platform.python_version(), "simpy": simpy.__version__, "paychaos": __version__,
                    "cpus": multiprocessing.cpu_count(), "platform": platform.platform()},
        "quick": quick,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "reference": {"runs": references, "customers_per_s": reference_rate},
        "runs_in_order": [label for label, _ in measured],
        "baseline": baselines,
        "fault_heavy": fault_heavy,
        "retained": retained,
        "sweep": sweep,
        "end_to_end": e2e,
        "targets": {
            "ratio_to_reference": _target(min(b["ratio_to_reference"] for b in baselines), ">=", RATIO_TARGET),
            "peak_rss_mib_1m": _target(big["peak_rss_mib"], "<=", PEAK_RSS_TARGET_MIB, applies=not quick),
            "bytes_retained_per_payment": _target(retained["bytes_per_payment"], "<=", RETAINED_TARGET_BYTES),
            "sweep_speedup": _target(sweep["speedup"], ">=", SPEEDUP_TARGET),
            **{f"end_to_end_{name}_ratio": _target(row["ratio_wall"], "<=", TARGETS_E2E[name])
               for name, row in e2e.items() if name in TARGETS_E2E},
        },
        "budgets": {
            "events_per_payment": _target(events_per_payment, "<=", EVENTS_PER_PAYMENT_BUDGET),
            "sweep_identical_results": {"observed": sweep["identical_results"], "met": sweep["identical_results"]},
        },
    }


def _retained(quick: bool) -> dict:
    small, large = (5_000, 15_000) if quick else (20_000, 60_000)
    return retained_per_payment(*(_isolated(traced_growth, str(THROUGHPUT), n) for n in (small, large)))


def _target(observed: float, op: str, limit: float, applies: bool = True) -> dict:
    met = observed >= limit if op == ">=" else observed <= limit
    return {"observed": observed, "target": f"{op} {limit}", "met": met if applies else None}


def report(results: dict, console: Console) -> None:
    ref = results["reference"]
    table = Table(title=f"paychaos bench (reference M/M/c, median of {len(ref['runs'])} runs: "
                        f"{ref['customers_per_s']:,.0f} customers/s, "
                        f"{ref['runs'][0]['events_per_customer']} events/customer)")
    for column in ("run", "payments", "payments/s", "reference/s", "ratio", "events/s", "events/payment",
                   "peak RSS MiB", "wall s"):
        table.add_column(column, justify="right" if column != "run" else "left")
    for row in [*results["baseline"], results["fault_heavy"]]:
        ratio = f"{row['ratio_to_reference']:.3f}"
        if "ratios_of_repeats" in row:
            ratio += " (median of " + ", ".join(f"{r:.3f}" for r in row["ratios_of_repeats"]) + ")"
        table.add_row(row["scenario"].removeprefix("bench-"), f"{row['payments']:,}", f"{row['payments_per_s']:,.0f}",
                      f"{row['reference_customers_per_s']:,.0f}", ratio, f"{row['events_per_s']:,.0f}",
                      f"{row['events_per_payment']:.2f}", f"{row['peak_rss_mib']:.0f}", f"{row['wall_s']:.1f}")
    console.print(table)
    retained, sweep = results["retained"], results["sweep"]
    console.print(f"bytes retained per finished payment: {retained['bytes_per_payment']:.1f} "
                  f"(tracemalloc, {retained['small']['payments']:,} vs {retained['large']['payments']:,} payments)")
    console.print(f"sweep: {sweep['runs']} runs, 1 worker {sweep['one_worker_s']:.1f}s, 2 workers "
                  f"{sweep['two_workers_s']:.1f}s, speedup {sweep['speedup']:.2f}x, identical results: "
                  f"{sweep['identical_results']}")
    for name, row in results["end_to_end"].items():
        console.print(f"end to end {name}: wall {row['wall_s']:.1f} s over simulations {row['simulation_wall_s']:.1f} s "
                      f"= {row['ratio_wall']:.2f}x ({row['beyond_wall_s']:.2f} s beyond them); CPU {row['cpu_s']:.1f} s over {row['simulation_cpu_s']:.1f} s "
                      f"= {row['ratio_cpu']:.2f}x  ({row['command']})")
    for group in ("targets", "budgets"):
        for name, target in results[group].items():
            mark = {True: "[green]met[/]", False: "[red]NOT met[/]", None: "[yellow]n/a (quick)[/]"}[target["met"]]
            console.print(f"{group[:-1]} {name}: {target['observed']} {target.get('target', '')} → {mark}")
    console.print("definitions: " + "; ".join(f"{k} = {v}" for k, v in results["definitions"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (about a minute)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json",
                        help="where to write the JSON results (default bench/results.json)")
    args = parser.parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=140)  # a log file: no 80-column squeeze
    results = run(args.quick, console)
    report(results, console)
    write_text_atomic(args.out, json.dumps(results, indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {args.out}")
    return 0 if all(b["met"] for b in results["budgets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
