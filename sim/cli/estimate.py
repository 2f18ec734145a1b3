"""``paychaos estimate SCENARIO --replications R``: P(double charge) and P(lost payment) per
million payments, with 95 % confidence intervals."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from sim.cli.arguments import check_total_runs, replication_count


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate", help="probability of a double charge / lost payment per million payments, with a 95%% CI",
        description="Replicate SCENARIO with seeds seed, seed+1, ... and estimate, per million payment orders, "
        "how many buyers are charged twice and how many payments are lost, with 95% Wilson intervals: "
        "\"P(double charge) < x per 10^6\".",
    )
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--replications", type=replication_count, default=None, help="runs (default: the scenario's replications)")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: the scenario's)")
    parser.add_argument("--variant", default=None, help="estimate one of the scenario's variants")
    parser.add_argument("--method", choices=("plain", "importance"), default="plain",
                        help="plain Monte Carlo, or importance sampling of the scenario's random (mtbf) faults: "
                        "episodes drawn more often, each run weighted by its likelihood ratio (for 1e-6..1e-9)")
    parser.add_argument("--bias", type=_bias, default=None,
                        help="importance: multiply each random fault's failure rate by this (default: one expected "
                        "episode per load phase)")
    parser.add_argument("--json", type=Path, default=None, help="also write the estimate to this JSON file")
    parser.set_defaults(handler=main)


def _bias(text: str) -> float:
    """A failure-rate multiplier: a finite number >= 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 1 (failures made more frequent), got {text}")
    return value


def main(args: argparse.Namespace) -> int:
    from sim.cli.progress import counted, make_console
    from sim.config.loader import load_scenario
    from sim.errors import ConfigError
    from sim.atomic import write_text_atomic
    from sim.runners.estimate import estimate

    console = make_console()
    loaded = load_scenario(args.scenario)
    replications = args.replications or loaded.scenario.replications
    if replications < 1:
        raise ConfigError(f"--replications must be at least 1, got {replications}", hint="e.g. --replications 30")
    check_total_runs(loaded, replications, variants=[args.variant])
    with counted(console, "replicating", replications) as update:
        result = estimate(loaded, replications, args.seed, args.variant, on_run=update, method=args.method,
                          bias=args.bias)
    if args.method == "importance":
        _print_importance(console, result, replications)
    else:
        _print_plain(console, result, replications)
    if args.json:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    return 0


def _print_plain(console, result, replications: int) -> None:
    from sim import format as fmt

    for rate, what in ((result.double_charge, "double charge"), (result.lost_payment, "lost payment")):
        low, high = rate.interval_per_million()
        console.print(f"P({what}) = {fmt.number(rate.per_million)} per 10^6 payments "
                      f"(95% CI {fmt.number(low)} – {fmt.number(high)}; {rate.events:,} in {rate.trials:,} payments, "
                      f"{rate.runs_with_events}/{replications} runs)  →  P({what}) < {fmt.number(high)} per 10^6",
                      highlight=False)
        if rate.runs_with_events == 0:
            console.print(f"  no run had one: counting runs, not payments (a run's payments share its faults), "
                          f"P({what}) < {fmt.number(rate.run_bound_per_million())} per 10^6 (95%, Clopper-Pearson)",
                          highlight=False)


def _print_importance(console, result, replications: int) -> None:
    for tilt in result.tilts:
        console.print(f"fault {tilt.index} ({tilt.kind}): {tilt.rate_per_s * 3600:.3g}/h sampled at "
                      f"{tilt.biased_per_s * 3600:.3g}/h", highlight=False)
    from sim.runners.rare import effective_runs

    effective = effective_runs(result.double_charge.runs)
    console.print(f"{result.episodes:,} episodes in {replications:,} runs; effective runs {effective:.3g} "
                  f"(Kish){'  — weights degenerate: lower --bias' if effective < 0.1 * replications else ''}",
                  highlight=False)
    for rate, what in ((result.double_charge, "double charge"), (result.lost_payment, "lost payment")):
        p, low, high = rate.estimate()
        if rate.events == 0:
            console.print(f"P({what}) < {high:.3g} per payment (95%: no event in {replications:,} weighted runs, "
                          f"Clopper-Pearson times the largest weight)", highlight=False)
            continue
        speedup = rate.speedup()
        gain = "" if speedup is None else f"; plain Monte Carlo needs ×{speedup:.3g} the runs for this error"
        console.print(f"P({what}) = {p:.3g} per payment (95% CI {low:.3g} – {high:.3g}; {rate.events:,} events in "
                      f"{rate.runs_with_events}/{replications} runs{gain})", highlight=False)
