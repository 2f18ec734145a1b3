"""One run: build the world, play load and drain, check the oracles, reconcile, summarise.

The result is plain JSON-ready data, with no wall-clock anywhere, so the same scenario and seed
give byte-identical results in any process.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from itertools import repeat
from typing import Callable

import numpy as np

from sim import __version__
from sim.components.money_back_matching import reconcile_money_back
from sim.components.nightly_reconciliation import refunded_extra
from sim.components.reconciliation import AUTO, HAND, UNKNOWN, reconcile
from sim.config.loader import LoadedScenario, variant_model
from sim.config.scenario import Scenario
from sim.observe.collector import run_pace
from sim.observe.memory import fix_mmap_threshold
from sim.observe.samples import SampleTrace
from sim.observe.trace import Trace
from sim.oracles.base import Verdict
from sim.config.coverage import path_counts
from sim.oracles.registry import check, check_reconciled
from sim.runners.money_by_currency import recon_by_currency
from sim.runners.summary import summarize
from sim.world import World, build_world

EXPECTATION_KPIS = {
    "double_charges": "double_charges",
    "lost_payments": "lost_payments",
    "success_rate": "success_rate",
    "p99_latency_ms": "p99_latency_ms",
    "psp_attempts_per_order": "psp_attempts_per_order",
    "dead_lettered": "dead_lettered",
    "stuck": "stuck",
    "time_to_recover_s": "time_to_recover_s",
    "time_collapsed_s": "time_collapsed_s",
    "wasted_work_share": "wasted_work_share",
    "late_ledger_bookings": "late_ledger_bookings",
}


@dataclass
class RunResult:
    data: dict
    world: World

    @property
    def passed(self) -> bool:
        return self.data["verdict"] == "pass"

    def digest(self) -> str:
        return result_digest(self.data)


def result_digest(data: dict) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def simulate(loaded: LoadedScenario, seed: int | None = None, variant: str | None = None,
             trace_orders: frozenset[int] | None = None, trace_requests: bool = False,
             samples: bool = False, on_time: Callable[[float, float], None] | None = None,
             watch: Callable[[World], None] | None = None, watch_every_s: float = 300.0,
             peek: Callable[[World], None] | None = None,
             ) -> tuple[World, list[Verdict], object]:
    """Build and run the world; return it with the oracle verdicts and the reconciliation. With
    ``samples`` (and no full trace), ``world.trace`` is a :class:`SampleTrace` that keeps the sample
    orders, request send times included, for the report's sequence diagrams (tracing changes no
    outcome). ``on_time(now, end)`` reports progress in simulated time; ``watch(world)`` is called
    every ``watch_every_s`` of simulated time (a benchmark's memory probe); ``peek(world)`` after
    each of the progress slices (a report's figures started before the run ends: it must change
    nothing in the world). Stopping the run in slices changes no outcome."""
    if watch is not None and (on_time is not None or peek is not None):
        raise ValueError("simulate takes on_time and peek, or watch, not both")
    fix_mmap_threshold()  # growing columns stay off the fragmenting heap (sim.observe.memory)
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    model = variant_model(loaded, variant)
    if samples and not scenario.trace and trace_orders is None:
        trace: Trace = SampleTrace()
    else:
        trace = Trace(enabled=scenario.trace or trace_orders is not None, only=trace_orders,
                      requests=trace_requests or samples)
    with run_pace():  # the collector's young generation scanned less often (sim.observe.collector)
        world = build_world(model, scenario, seed, trace)
        if isinstance(trace, SampleTrace):
            trace.bind(world.orders)
        if on_time is not None or peek is not None:
            run_reporting(world, on_time, peek)
        elif watch is None:
            world.env.run(until=world.end_s)
        else:
            at = 0.0
            while at < world.end_s:
                at = min(world.end_s, at + watch_every_s)
                world.env.run(until=at)
                watch(world)
        verdicts = check(world)
        recon = None
        if model.reconciliation.enabled:
            recon = reconcile(
                world.settlement_file(), world.orders, world.ledger, world.wallet,
                world.population.sellers, len(world.population.currencies), world.env.now, model.reconciliation.auto_fix,
                capture=world.capture, pending=model.reconciliation.pending, refunded_extra=refunded_extra(world.refunds),
            )
            recon.timing += world.settlement_file().timing_differences()
            reconcile_money_back(world.settlement_file().adjustments(), world.ledger, world.wallet, world.refunds,
                                 world.chargebacks, model.reconciliation.auto_fix, recon)
        verdicts += check_reconciled(world, recon)
    return world, verdicts, recon


PROGRESS_STEPS = 200
"""A run that reports its progress stops this many times (the order of events is unchanged)."""


def run_reporting(world: World, on_time: Callable[[float, float], None] | None,
                  peek: Callable[[World], None] | None = None) -> None:
    """Run to the end in ``PROGRESS_STEPS`` slices, calling ``on_time(now, end)`` (a progress bar in
    simulated time) and ``peek(world)`` after each. Stopping and resuming keeps every event's order."""
    end = world.end_s
    for step in range(1, PROGRESS_STEPS + 1):
        world.env.run(until=end * step / PROGRESS_STEPS)
        if on_time is not None:
            on_time(world.env.now, end)
        if peek is not None:
            peek(world)


def run_scenario(loaded: LoadedScenario, seed: int | None = None, variant: str | None = None,
                 explain: bool = True, samples: bool = False,
                 on_time: Callable[[float, float], None] | None = None,
                 watch: Callable[[World], None] | None = None, watch_every_s: float = 300.0,
                 peek: Callable[[World], None] | None = None) -> RunResult:
    """Run once; when an oracle fails and ``explain`` is set, re-run deterministically with a
    trace of the offending orders so each violation says what happened, when. With ``samples``,
    ``world.trace`` keeps the sample orders; ``watch`` and ``peek`` probe the run (see :func:`simulate`)."""
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    world, verdicts, recon = simulate(loaded, seed, variant, samples=samples, on_time=on_time,
                                      watch=watch, watch_every_s=watch_every_s, peek=peek)
    if explain and any(not v.passed for v in verdicts):
        _explain(loaded, seed, variant, verdicts)
    data = {
        "paychaos_version": __version__,
        "scenario": scenario.name,
        "variant": variant,
        "seed": seed,
        "command": reproduce_command(loaded.scenario_path, seed, variant),
        "summary": summarize(world, recon),
        "oracles": [v.to_dict() for v in verdicts],
        "reconciliation": _recon_dict(recon, world),
        "fault_windows": fault_window_data(world),
        "dead_letters": world.dlq.reasons(),
        "counters": dict(sorted(world.metrics.counters.items())),
        "series": series_data(world),
        "config": {
            "scenario": scenario.model_dump(mode="json", by_alias=True),
            "model": world.model.model_dump(mode="json", by_alias=True),
        },
    }
    data["expectations"] = evaluate_expectations(scenario, data["summary"])
    data["coverage"] = evaluate_coverage(scenario, data["counters"], recon.buckets() if recon else None)
    failed = (
        [v for v in verdicts if not v.passed]
        + [e for e in data["expectations"] if not e["held"]]
        + [c for c in data["coverage"]["required"] if not c["held"]]
    )
    data["verdict"] = "fail" if failed else "pass"
    return RunResult(data, world)


def _explain(loaded: LoadedScenario, seed: int, variant: str | None, verdicts: list[Verdict]) -> None:
    wanted = frozenset(v.orders[0] for verdict in verdicts for v in verdict.violations[:3] if v.orders)
    if not wanted:
        return
    traced_world, _, _ = simulate(loaded, seed, variant, trace_orders=wanted)
    for verdict in verdicts:
        for violation in verdict.violations[:3]:
            if violation.orders:
                violation.events = traced_world.trace.of(violation.orders[0])


def evaluate_expectations(scenario: Scenario, summary: dict) -> list[dict]:
    results = []
    for name, check_ in scenario.expect:
        if check_ is None:
            continue
        observed = summary.get(EXPECTATION_KPIS[name])
        results.append({"name": name, "expected": str(check_), "observed": observed, "held": check_.holds(observed)})
    return results


def evaluate_coverage(scenario: Scenario, counters: dict, buckets: dict | None) -> dict:
    """How often each dangerous path was hit, and whether the scenario's claims held."""
    counts = path_counts(counters, buckets)
    required = [
        {"path": name, "expected": str(check_), "observed": counts[name], "held": check_.holds(counts[name])}
        for name, check_ in scenario.coverage.items()
    ]
    return {"paths": counts, "required": required}


def reproduce_command(scenario_path: str, seed: int, variant: str | None) -> str:
    command = f"paychaos run {scenario_path} --seed {seed}"
    return command + (f" --variant {variant}" if variant else "")


def _recon_dict(recon, world: World) -> dict | None:
    if recon is None:
        return None
    scheduled = {}
    if world.nightly is not None and world.nightly.runs:  # the runs during the run, together
        during = world.nightly.report()
        scheduled = {"scheduled": {
            "runs": len(world.nightly.runs), "matched": during.matched, "timing_differences_open": during.timing,
            "timing_differences": sum(run.timing for run in world.nightly.runs),
            "buckets": during.buckets(), "amounts_minor": during.amounts(), "kinds": during.kinds(),
        }}
        parts = recon_by_currency(world, during)
        if parts is not None:
            scheduled["scheduled"]["amounts_minor_by_currency"] = parts
    return {**scheduled,
        "matched": recon.matched,
        "timing_differences": recon.timing,
        "buckets": recon.buckets(),
        "amounts_minor": recon.amounts(),
        "kinds": recon.kinds(),
        "examples": [
            {"kind": b.kind, "bucket": b.bucket, "order": b.order_id, "detail": b.detail}
            for bucket in (HAND, UNKNOWN, AUTO) for b in [x for x in recon.breaks if x.bucket == bucket][:10]
        ],
    }


def fault_window_data(world: World) -> list[dict]:
    """The run's fault windows (so far), JSON-ready, by start."""
    return [{"fault": w.index, "kind": w.kind, "target": w.target, "start_s": w.start_s, "end_s": w.end_s}
            for w in sorted(world.fault_windows, key=lambda w: (w.start_s, w.index))]


def series_data(world: World) -> dict:
    """The run's time series (so far), JSON-ready."""
    series = world.metrics.series
    return {
        "bin_s": series.bin_s,
        "counts": {k: v for k, v in sorted(series.counts.items())},
        "gauges": {k: rounded(v) for k, v in sorted(series.gauges.items())},
    }


_PLAIN_NUMBERS = {int, float}


def rounded(values: list) -> list:
    """``round(x, 6)`` of each value. Whole numbers are their own rounding (ints stay ints, floats
    floats): a gauge of them all (a queue's depth, busy servers, lag: most of a run's) is copied,
    checked in one numpy pass, instead of rounding each (~1 ms a run of 18 gauges, between a
    comparison's runs)."""
    if values and set(map(type, values)) <= _PLAIN_NUMBERS:  # not bools: round(True, 6) is 1
        column = np.asarray(values, dtype=np.float64)
        if np.array_equal(column, np.rint(column)):
            return list(values)
    return list(map(round, values, repeat(6, len(values))))
