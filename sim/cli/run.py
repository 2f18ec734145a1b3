"""``paychaos run SCENARIO``: simulate, check the oracles, print a summary, write the report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.arguments import check_total_runs, positive_int, replication_count
from sim.cli.quick_exit import pause, settle

if TYPE_CHECKING:  # imported when the command runs, so ``paychaos --help`` stays quick
    from rich.console import Console

    from sim.reports.drawing import Drawing


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a scenario, check every oracle, write a reliability report",
        description="Simulate a scenario (load phase with faults, then a fault-free drain), check the "
        "money invariants, and write a report folder: report.html (self-contained), summary.md, "
        "results.json, metrics.csv and the plots as PNG. With replications: R (in the scenario "
        "or --replications) the KPIs carry 95% confidence intervals. Exit 1 if an oracle or an "
        "expectation failed in any replication.",
    )
    parser.add_argument("scenario", help="scenario YAML file, e.g. scenarios/baseline.yaml")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's)")
    parser.add_argument("--variant", default=None, help="run one of the scenario's variants")
    parser.add_argument("--replications", type=replication_count, default=None, metavar="R",
                        help="independent replications (default: the scenario's 'replications', usually 1)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="processes for replications (default: all cores)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<scenario>)")
    parser.add_argument("--check-determinism", action="store_true",
                        help="run twice and fail (exit 1) unless both results have the same digest")
    parser.set_defaults(handler=main)


def _run(console: Console, loaded, args, figures: Drawing | None = None) -> dict:
    """The run's (or replications') results; a single run starts its report's figures on
    ``figures``'s helpers once they look final (``sim.reports.early_figures``)."""
    from sim.cli.progress import progress_bar, simulated_time
    from sim.reports.early_figures import EarlyRunFigures
    from sim.runners.replicate import Replicated, replicate, replication_seeds, run_one

    count = args.replications or loaded.scenario.replications
    check_total_runs(loaded, count, variants=[args.variant])
    if count == 1:
        seed = replication_seeds(loaded.scenario.seed if args.seed is None else args.seed, 1)[0]
        with simulated_time(console, f"simulating {loaded.scenario.name}") as on_time:
            peek = EarlyRunFigures(figures, args.variant or loaded.scenario.name) if figures is not None else None
            return Replicated([run_one(loaded, seed, args.variant, samples=True, on_time=on_time,
                                       peek=peek)]).to_dict()
    with progress_bar(console, f"{loaded.scenario.name}: {count} replications", count) as advance:
        return replicate(loaded, count, args.variant, args.seed, args.workers, advance).to_dict()


def main(args: argparse.Namespace) -> int:
    pause()  # no collection until the simulations start (settle)
    from sim.cli.progress import as_run, make_console
    from sim.config.loader import load_scenario
    from sim.reports.console import print_report_path, print_run_summary
    from sim.reports.drawing import drawing
    from sim.reports.output import default_out_dir, write_run_outputs
    from sim.runners.run import result_digest

    console = make_console()
    loaded = load_scenario(args.scenario)
    if args.variant is not None:
        from sim.config.loader import variant_model
        variant_model(loaded, args.variant)  # an unknown variant is bad input: exit 2 before any work
    settle()  # what is loaded now stays: no collection rescans it during the runs
    with drawing() as figures:  # helpers warm up on the idle core while the simulation runs
        data = _run(console, loaded, args, figures)
        out_dir = args.out or default_out_dir(loaded.scenario.name, args.variant)
        with console.status("writing the report…"):  # the summary printed while the figures are drawn
            write_run_outputs(out_dir, data, figures,
                              lambda: print_run_summary(console, data, None, as_run(data["command"])))
    print_report_path(console, out_dir)
    if args.check_determinism:
        again = _run(console, loaded, args)
        first, second = result_digest(data), result_digest(again)
        same = first == second
        console.print(f"determinism: {'identical' if same else 'DIFFERENT'} digests ({first[:16]} vs {second[:16]})")
        if not same:
            return 1
    return 0 if data["verdict"] == "pass" else 1
