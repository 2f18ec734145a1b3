"""Where the end of a simulated day's run takes its memory: each end-of-run step's peak above the
finished world.

Plays the first ``--hours`` of ``make bench-day``'s day, then runs the end-of-run steps one by one
as ``sim.runners.run`` does (the oracles, reconciliation, the money-back matching, the reconciled
oracles, the summary, the KPIs) and prints, per step, what it took above what was there before it:
the resident set's peak (Linux: the high-water mark reset through ``/proc/self/clear_refs`` before
each step) or, with ``--trace``, tracemalloc's peak (started after the run, so the model's own
allocations are not traced). A step whose peak grows with the run's size is what
``bench.day``'s extrapolation multiplies by the day's length; a bounded one is not.

    python -m bench.day_steps [--hours 0.5] [--trace]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from bench.measure import peak_rss_mib, rss_mib


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (False where it cannot be)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def steps(world, model) -> list[tuple[str, Callable[[dict], object]]]:
    """The end-of-run steps of ``sim.runners.run.simulate`` and ``run_scenario``, in their order, each
    a function of a shared state dict (the reconciliation report lives there)."""
    from sim.components.money_back_matching import reconcile_money_back
    from sim.components.nightly_reconciliation import refunded_extra
    from sim.components.reconciliation import reconcile
    from sim.oracles.registry import AFTER_RECONCILIATION, ALL_ORACLES
    from sim.components.seller_wait import seller_wait
    from sim.runners.summary import summarize

    def _reconcile(state: dict) -> None:
        state["recon"] = reconcile(
            world.settlement_file(), world.orders, world.ledger, world.wallet, world.population.sellers,
            len(world.population.currencies), world.env.now, model.reconciliation.auto_fix, capture=world.capture,
            pending=model.reconciliation.pending, refunded_extra=refunded_extra(world.refunds))
        state["recon"].timing += world.settlement_file().timing_differences()

    def _money_back(state: dict) -> None:
        reconcile_money_back(world.settlement_file().adjustments(), world.ledger, world.wallet, world.refunds,
                             world.chargebacks, model.reconciliation.auto_fix, state["recon"])

    out: list[tuple[str, Callable[[dict], object]]] = [
        (f"oracle {name}", lambda state, oracle=oracle: oracle(world)) for name, (oracle, _) in ALL_ORACLES.items()]
    if model.reconciliation.enabled:
        out += [("reconcile", _reconcile), ("reconcile_money_back", _money_back)]
    out += [(f"oracle {name}", lambda state, oracle=oracle: oracle(world, state.get("recon")))
            for name, (oracle, _) in AFTER_RECONCILIATION.items()]
    out.append(("seller_wait (in summarize)", lambda state: seller_wait(world)))
    out.append(("summarize", lambda state: summarize(world, state.get("recon"))))
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.day import _loaded
    from sim.observe.memory import fix_mmap_threshold
    from sim.observe.trace import Trace
    from sim.runners.kpis import goodput_counts, latency_cdf
    from sim.world import build_world

    parser = argparse.ArgumentParser(prog="python -m bench.day_steps", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=0.5, help="simulated hours of the day to play (default 0.5)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc's peaks instead of the RSS's")
    args = parser.parse_args(argv)
    if not 0 < args.hours <= 24:
        print(f"bench.day_steps: --hours must be in (0, 24], got {args.hours:g}", file=sys.stderr)
        return 2
    fix_mmap_threshold()
    loaded = _loaded(args.hours)
    world = build_world(loaded.model, loaded.scenario, loaded.scenario.seed, Trace(enabled=False))
    world.env.run(until=world.end_s)
    payments = len(world.orders)
    gc.collect()
    if args.trace:
        tracemalloc.start()
    elif not _reset_peak_rss():
        print("bench.day_steps: cannot reset the peak RSS here (Linux only); use --trace", file=sys.stderr)
        return 2
    print(f"{args.hours:g} h: {payments:,} payments, RSS {rss_mib():.1f} MiB after the run")
    state: dict = {}
    all_steps = steps(world, loaded.model) + [
        ("kpis goodput", lambda state: goodput_counts(world)), ("kpis latency_cdf", lambda state: latency_cdf(world))]
    for name, step in all_steps:
        gc.collect()
        cpu = time.process_time()
        if args.trace:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step(state)
            peak = (tracemalloc.get_traced_memory()[1] - before) / 2**20
        else:
            before = rss_mib()
            _reset_peak_rss()
            step(state)
            peak = peak_rss_mib() - before
        print(f"  {name:32s} peak {peak:7.1f} MiB above {before:7.1f}  ({peak * 2**20 / payments:6.1f} B a payment)"
              f"  CPU {time.process_time() - cpu:6.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
