"""``paychaos run SCENARIO``: simulate, check the oracles, print a summary, write the results."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from sim.config.loader import load_scenario
from sim.reports.console import print_run_summary
from sim.reports.output import default_out_dir, write_run_outputs
from sim.runners.run import run_scenario


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a scenario and check every oracle",
        description="Simulate a scenario (load phase with faults, then a fault-free drain), check the "
        "money invariants, and write results.json into the output folder. Exit 1 if an oracle or an "
        "expectation failed.",
    )
    parser.add_argument("scenario", help="scenario YAML file, e.g. scenarios/baseline.yaml")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's)")
    parser.add_argument("--variant", default=None, help="run one of the scenario's variants")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<scenario>)")
    parser.add_argument("--check-determinism", action="store_true",
                        help="run twice and fail (exit 1) unless both results have the same digest")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load_scenario(args.scenario)
    with console.status(f"simulating {loaded.scenario.name}…"):
        result = run_scenario(loaded, seed=args.seed, variant=args.variant)
    out_dir = args.out or default_out_dir(loaded.scenario.name, args.variant)
    write_run_outputs(out_dir, result)
    print_run_summary(console, result.data, out_dir)
    if args.check_determinism:
        with console.status("re-running to check determinism…"):
            again = run_scenario(loaded, seed=args.seed, variant=args.variant)
        same = again.digest() == result.digest()
        console.print(f"determinism: {'identical' if same else 'DIFFERENT'} digests "
                      f"({result.digest()[:16]} vs {again.digest()[:16]})")
        if not same:
            return 1
    return 0 if result.passed else 1
