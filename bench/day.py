"""``make bench-day``: a simulated day at 100 checkouts/s (~12.7 M payment orders) on one core.

Targets (issue 20): at most 10 minutes and a peak RSS of at most 1 GiB, with every oracle and KPI
as in any run. The run is probed every 5 simulated minutes (the run stops in slices, which changes
no outcome): payments so far, RSS, CPU. Reported: wall and CPU time, peak RSS, RSS growth per
payment between 200k and 1M payments (what grows with history), the verdicts and KPIs.
``--hours H`` plays only the first H hours (same rate, same drain) and extrapolates time and
memory to the whole day from the measured per-payment rates, saying so; it also plays H/2 hours in
a fresh process, so that the end-of-run checks' extra memory is extrapolated along its measured
growth per payment (what they read in bounded chunks does not grow with the day).

    python -m bench.day [--hours 24] [--out bench/day-results.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.measure import BENCH_DIR, peak_rss_mib, rss_mib

DAY = BENCH_DIR / "scenarios" / "day.yaml"
DAY_HOURS = 24.0
WALL_TARGET_S = 600.0
PEAK_RSS_TARGET_MIB = 1024.0
GROWTH_WINDOW = (200_000, 1_000_000)
"""Payments between which RSS growth per payment is measured (the issue's definition)."""
PROBE_EVERY_S = 300.0


def _loaded(hours: float):
    from sim.config.loader import load_scenario

    loaded = load_scenario(DAY)
    if hours >= DAY_HOURS:
        return loaded
    scenario = loaded.scenario.model_copy(update={"duration_s": hours * 3600.0})
    return dataclasses.replace(loaded, scenario=scenario)


def growth_per_payment(probes: list[dict], window: tuple[int, int] = GROWTH_WINDOW) -> float | None:
    """RSS growth per payment between the probes nearest ``window``'s ends (None if the run did not
    reach the upper end)."""
    low, high = window
    if not probes or probes[-1]["payments"] < high or high <= low:
        return None
    first = min(probes, key=lambda p: abs(p["payments"] - low))
    last = min(probes, key=lambda p: abs(p["payments"] - high))
    if last["payments"] <= first["payments"]:
        return None
    return round((last["rss_mib"] - first["rss_mib"]) * 2**20 / (last["payments"] - first["payments"]), 1)


def run_day(hours: float = DAY_HOURS, on_probe=None) -> dict:
    """Play the day (or its first ``hours``) once in this process and measure it."""
    from sim.runners.kpis import enrich
    from sim.runners.run import run_scenario

    loaded = _loaded(hours)
    gc.collect()
    probes: list[dict] = []
    started, cpu_started = time.perf_counter(), time.process_time()

    def probe(world) -> None:
        row = {"sim_s": round(world.env.now, 1), "payments": len(world.orders),
               "rss_mib": round(rss_mib(), 1), "cpu_s": round(time.process_time() - cpu_started, 2),
               "wall_s": round(time.perf_counter() - started, 2)}
        probes.append(row)
        if on_probe:
            on_probe(row)

    result = run_scenario(loaded, explain=False, watch=probe, watch_every_s=PROBE_EVERY_S)
    sim_cpu_s = probes[-1]["cpu_s"] if probes else None
    data = enrich(result.data, result.world)
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    payments = len(result.world.orders)
    return {
        "hours": hours,
        "payments": payments,
        "checkouts": len(result.world.checkouts),
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 1),
        "simulation_cpu_s": sim_cpu_s,
        "checks_cpu_s": round(cpu_s - sim_cpu_s, 1) if sim_cpu_s is not None else None,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "checks_rss_extra_mib": round(peak_rss_mib() - max(p["rss_mib"] for p in probes), 1) if probes else None,
        "rss_growth_per_payment_bytes": growth_per_payment(probes),
        "rss_growth_per_payment_bytes_second_half": growth_per_payment(
            probes, (payments // 2, payments)) if payments >= 2 else None,
        "verdict": data["verdict"],
        "oracles": {v["oracle"]: v["passed"] for v in data["oracles"]},
        "kpis": data["kpis"],
        "probes": probes,
    }


def _checks_extra(hours: float) -> tuple[int, float | None]:
    """(payments, end-of-run RSS extra above the last probe) of a run of ``hours`` (meant for a
    fresh process: another run's heap would blur its RSS)."""
    result = run_day(hours)
    return result["payments"], result["checks_rss_extra_mib"]


def checks_extra_at_half(hours: float) -> tuple[int, float | None]:
    """:func:`_checks_extra` of a run of half ``hours``, in a fresh spawned process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_checks_extra, hours / 2).result()


def extrapolate(result: dict, day_payments: float, half: tuple[int, float | None] | None = None) -> dict:
    """Time and peak memory of the whole day, from a partial day's per-payment rates. The end-of-run
    checks' extra RSS above the last probe is extrapolated along the line through it and the extra
    of a run half as long (``half``: payments, extra), so what the checks hold per payment grows
    with the day and what they hold in bounded chunks does not (never below the larger of the two
    measured extras: fragmentation makes them noisy); without ``half`` it is scaled by payments, as
    if all of it grew with the run."""
    scale = day_payments / result["payments"]
    growth = result["rss_growth_per_payment_bytes"]
    if growth is None:  # a run short of 1M payments: the growth over its second half
        growth = result["rss_growth_per_payment_bytes_second_half"]
    first = result["probes"][0]["rss_mib"] if result["probes"] else 0.0
    extra = max(0.0, result.get("checks_rss_extra_mib") or 0.0)
    if half is not None and half[1] is not None and half[0] < result["payments"]:
        half_extra = max(0.0, half[1])
        per_payment = max(0.0, (extra - half_extra) / (result["payments"] - half[0]))
        checks = max(extra, half_extra) + per_payment * (day_payments - result["payments"])
        how_checks = (f"the larger end-of-run extra above the last probe of this run ({extra:g} MiB) and of a run half "
                      f"as long ({half_extra:g} MiB at {half[0]:,} payments), plus the growth per payment between "
                      f"them ({per_payment * 2**20:.1f} B a payment, never below 0) times the payments to come")
    else:
        checks = extra * scale
        how_checks = "what the end-of-run checks added above the last probe, scaled by payments"
    return {
        "payments": round(day_payments),
        "cpu_s": round(result["cpu_s"] * scale, 1),
        "checks_rss_extra_mib": round(checks, 1),
        "peak_rss_mib": (round(first + growth * day_payments / 2**20 + checks, 1) if growth is not None else None),
        "how": "CPU time scaled by payments; peak RSS = first probe + growth per payment x payments "
               "(growth between 200k and 1M payments, or over the second half of a shorter run) + " + how_checks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=DAY_HOURS,
                        help="simulated hours of load to play (default 24: the whole day)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "day-results.json",
                        help="where to write the JSON results (default bench/day-results.json)")
    args = parser.parse_args(argv)
    if not 0 < args.hours <= DAY_HOURS:
        print(f"bench.day: --hours must be in (0, {DAY_HOURS:g}], got {args.hours:g}", file=sys.stderr)
        return 2

    def on_probe(row: dict) -> None:
        if int(row["sim_s"]) % 3600 == 0:
            print(f"  {row['sim_s'] / 3600:5.1f} h simulated: {row['payments']:>11,} payments, "
                  f"RSS {row['rss_mib']:7.1f} MiB, CPU {row['cpu_s']:8.1f} s", flush=True)

    result = run_day(args.hours, on_probe)
    full = args.hours >= DAY_HOURS
    day_payments = _loaded(DAY_HOURS).scenario.workload.expected_checkouts(DAY_HOURS * 3600.0) * 1.4725
    if not full:
        half = checks_extra_at_half(args.hours)
        result["half_run"] = {"hours": args.hours / 2, "payments": half[0], "checks_rss_extra_mib": half[1]}
    result["extrapolated_day"] = None if full else extrapolate(result, day_payments, half)
    judged = result if full else result["extrapolated_day"]
    result["targets"] = {
        "wall_s": {"observed": result["wall_s"] if full else None, "target": f"<= {WALL_TARGET_S:g}",
                   "met": result["wall_s"] <= WALL_TARGET_S if full else None},
        "cpu_s_one_core": {"observed": judged["cpu_s"], "target": f"<= {WALL_TARGET_S:g}",
                           "met": judged["cpu_s"] <= WALL_TARGET_S, "extrapolated": not full},
        "peak_rss_mib": {"observed": judged["peak_rss_mib"], "target": f"<= {PEAK_RSS_TARGET_MIB:g}",
                         "met": None if judged["peak_rss_mib"] is None else judged["peak_rss_mib"] <= PEAK_RSS_TARGET_MIB,
                         "extrapolated": not full},
    }
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                         "load_average": [round(x, 2) for x in os.getloadavg()],
                         "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    print(f"{'day' if full else f'{args.hours:g} h'}: {result['payments']:,} payments, wall {result['wall_s']:.0f} s, "
          f"CPU {result['cpu_s']:.0f} s (simulation {result['simulation_cpu_s']} s), peak RSS "
          f"{result['peak_rss_mib']:.0f} MiB, RSS growth {result['rss_growth_per_payment_bytes']} B/payment "
          f"(200k..1M; {result['rss_growth_per_payment_bytes_second_half']} over the second half), "
          f"verdict {result['verdict']}")
    if not full:
        x = result["extrapolated_day"]
        print(f"extrapolated to the day ({x['payments']:,} payments): CPU {x['cpu_s']:.0f} s, "
              f"peak RSS {x['peak_rss_mib']} MiB  [{x['how']}]")
    for name, target in result["targets"].items():
        state = {True: "met", False: "NOT met", None: "n/a"}[target["met"]]
        print(f"target {name}: {target['observed']} {target['target']} -> {state}"
              + (" (extrapolated)" if target.get("extrapolated") else ""))
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
