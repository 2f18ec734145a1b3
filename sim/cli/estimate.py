"""``paychaos estimate SCENARIO --replications R``: P(double charge) and P(lost payment) per
million payments, with 95 % confidence intervals."""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--json", type=Path, default=None, help="also write the estimate to this JSON file")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from sim.cli.progress import counted, make_console
    from sim.config.loader import load_scenario
    from sim.errors import ConfigError
    from sim.reports import format as fmt
    from sim.reports.output import write_text_atomic
    from sim.runners.estimate import estimate

    console = make_console()
    loaded = load_scenario(args.scenario)
    replications = args.replications or loaded.scenario.replications
    if replications < 1:
        raise ConfigError(f"--replications must be at least 1, got {replications}", hint="e.g. --replications 30")
    check_total_runs(loaded, replications)
    with counted(console, "replicating", replications) as update:
        result = estimate(loaded, replications, args.seed, args.variant, on_run=update)
    for rate, what in ((result.double_charge, "double charge"), (result.lost_payment, "lost payment")):
        low, high = rate.interval_per_million()
        console.print(f"P({what}) = {fmt.number(rate.per_million)} per 10^6 payments "
                      f"(95% CI {fmt.number(low)} – {fmt.number(high)}; {rate.events:,} in {rate.trials:,} payments, "
                      f"{rate.runs_with_events}/{replications} runs)  →  P({what}) < {fmt.number(high)} per 10^6",
                      highlight=False)
    if args.json:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    return 0
