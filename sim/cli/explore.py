"""``paychaos explore MODEL``: random fault schedules against a model until an oracle breaks;
then a minimal counterexample scenario that ``paychaos run`` replays to the same violation."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Column
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.cli.arguments import positive_int
from sim.cli.progress import make_console
from sim.config.loader import load_scenario
from sim.runners import explore as explore_runner
from sim.runners.run import run_scenario


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore", help="hunt for invariant violations with random fault schedules, shrink what breaks",
        description="Draw random fault schedules and workloads (swarm style) against MODEL, run each, check "
        "every oracle. On a violation, shrink it with Hypothesis to a minimal schedule and workload, write it "
        "as an ordinary scenario (counterexample.yaml) and print the minimal fault set. Exit 1 when something "
        "was found, 0 when the budget ran out clean. Deterministic given --seed.",
    )
    parser.add_argument("model", help="model YAML file, e.g. models/flawed/fresh-key-per-attempt.yaml")
    parser.add_argument("--budget", type=positive_int, default=200, help="random schedules to try (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="exploration seed (default 0)")
    parser.add_argument("--shrink-budget", type=positive_int, default=explore_runner.DEFAULT_SHRINK_BUDGET,
                        help=f"runs spent shrinking a failure (default {explore_runner.DEFAULT_SHRINK_BUDGET})")
    parser.add_argument("--out", type=Path, default=Path("counterexample.yaml"),
                        help="where to write the counterexample (default ./counterexample.yaml)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    console = make_console()
    explore_runner.check_budget(args.budget)
    with Progress(
        TextColumn("[bold]{task.description:<9}", table_column=Column(no_wrap=True, min_width=9)),
        BarColumn(bar_width=20), MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=7)),
        TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)),
        TextColumn("{task.fields[note]}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=32)),
        console=console, transient=False,
    ) as progress:
        exploring = progress.add_task("exploring", total=args.budget, note="")
        shrinking = None

        def on_progress(p: explore_runner.Progress) -> None:
            nonlocal shrinking
            progress.update(exploring, completed=min(p.runs, args.budget))
            if p.phase == "shrink":
                if shrinking is None:
                    progress.update(exploring, note=f"[red]{p.target} broken[/red]")
                    shrinking = progress.add_task("shrinking", total=args.shrink_budget, note="")
                progress.update(shrinking, completed=p.shrink_runs, note=(p.best or "")[:60])

        result = explore_runner.explore(args.model, args.budget, args.seed, args.shrink_budget, on_progress)
        if not result.found:
            progress.update(exploring, completed=args.budget)
    for kind, reason in sorted(result.skipped_kinds.items()):
        console.print(f"[dim]not explored: {kind} ({reason})[/dim]")
    if not result.found:
        console.print(f"[green]no violation[/green] in {result.runs} random schedules against {args.model} (seed {args.seed})")
        return 0
    explore_runner.write_counterexample(result, args.out)
    console.print(f"[red]{result.oracle}[/red] broken after {result.runs} schedules; shrunk in {result.shrink_runs} runs")
    for message in result.messages[:2]:
        console.print(f"  {message}")
    console.print(f"minimal: {explore_runner.describe(result.plan)}")
    with console.status("replaying the counterexample…"):
        replay = run_scenario(load_scenario(args.out), explain=False)
    failing = [v["oracle"] for v in replay.data["oracles"] if not v["passed"]]
    same = result.oracle in failing
    console.print(f"counterexample: {args.out}  (paychaos run {args.out.as_posix()} → "
                  f"{'reproduces ' + result.oracle if same else '[red]did NOT reproduce[/red]'})")
    return 1
