"""``paychaos explore MODEL``: fault schedules (random, guided or exhaustive) against a model until an oracle breaks;
then a minimal counterexample scenario that ``paychaos run`` replays to the same violation."""

from __future__ import annotations

import argparse
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sim.cli.arguments import positive_int

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_SHRINK_BUDGET = 400  # sim.runners.explore's, without importing Hypothesis (a test checks they agree)
STRATEGIES = ("random", "guided", "exhaustive")  # sim.runners.explore's, likewise
DEFAULT_STRATEGY = "guided"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore", help="hunt for invariant violations with fault schedules, shrink what breaks",
        description="Search fault schedules and workloads against MODEL (--strategy guided, random or "
        "exhaustive), run each, check every oracle. On a violation, shrink it (Hypothesis for random "
        "schedules, then delta debugging) to a minimal schedule and workload, write it "
        "as an ordinary scenario (counterexample.yaml) and print the minimal fault set. Exit 1 when something "
        "was found, 0 when the budget ran out clean. Deterministic given --seed.",
    )
    parser.add_argument("model", help="model YAML file, e.g. models/flawed/fresh-key-per-attempt.yaml")
    parser.add_argument("--budget", type=positive_int, default=200, help="random schedules to try (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="exploration seed (default 0)")
    parser.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                        help="guided (default): each fault alone, then mutations of a corpus of schedules that "
                        "reached new abstract states; random: swarm schedules drawn by Hypothesis; exhaustive: "
                        "every schedule of a bounded space (no fault, one, two; two workloads), smallest first")
    parser.add_argument("--shrink-budget", type=positive_int, default=DEFAULT_SHRINK_BUDGET,
                        help=f"runs spent shrinking a failure (default {DEFAULT_SHRINK_BUDGET})")
    parser.add_argument("--out", type=Path, default=Path("counterexample.yaml"),
                        help="where to write the counterexample (default ./counterexample.yaml)")
    parser.set_defaults(handler=main)


@contextmanager
def _bars(console: Console, budget: int, shrink_budget: int) -> Iterator[Callable[[Any], None]]:
    """Progress in a terminal: a bar for the exploration, then one for the shrinking, with what
    broke and the best plan so far; yields ``on_progress(p)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    with Progress(
        TextColumn("[bold]{task.description:<9}", table_column=Column(no_wrap=True, min_width=9)),
        BarColumn(bar_width=20), MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=7)),
        TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)),
        TextColumn("{task.fields[note]}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=32)),
        console=console, transient=False,
    ) as progress:
        exploring = progress.add_task("exploring", total=budget, note="")
        shrinking = None

        def on_progress(p) -> None:
            nonlocal shrinking
            progress.update(exploring, completed=min(p.runs, budget))
            if p.phase == "shrink":
                if shrinking is None:
                    progress.update(exploring, note=f"[red]{p.target} broken[/red]")
                    shrinking = progress.add_task("shrinking", total=shrink_budget, note="")
                progress.update(shrinking, completed=p.shrink_runs, note=(p.best or "")[:60])

        yield on_progress


@contextmanager
def _lines(console: Console, budget: int, shrink_budget: int) -> Iterator[Callable[[Any], None]]:
    """Progress when piped or logged (a bar would print only its last frame, at the end): a line
    each tenth of the budget, a line naming what broke, then a line each tenth of the shrinking."""
    from sim.cli.progress import counted

    with ExitStack() as stack:
        explored = stack.enter_context(counted(console, "exploring", budget))
        shrunk: Callable[[int], None] | None = None

        def on_progress(p) -> None:
            nonlocal shrunk
            if p.phase != "shrink":
                explored(min(p.runs, budget))
                return
            if shrunk is None:
                console.print(f"exploring: {p.target} broken after {p.runs:,} runs; shrinking", highlight=False)
                shrunk = stack.enter_context(counted(console, "shrinking", shrink_budget))
            shrunk(p.shrink_runs)

        yield on_progress


def main(args: argparse.Namespace) -> int:
    from sim.cli.progress import make_console
    from sim.config.loader import load_scenario
    from sim.runners import explore as explore_runner
    from sim.runners.run import run_scenario

    console = make_console()
    explore_runner.check_budget(args.budget)
    progress = _bars if console.is_terminal else _lines
    with progress(console, args.budget, args.shrink_budget) as on_progress:
        result = explore_runner.explore(args.model, args.budget, args.seed, args.shrink_budget, on_progress,
                                        strategy=args.strategy)
    for kind, reason in sorted(result.skipped_kinds.items()):
        console.print(f"[dim]not explored: {kind} ({reason})[/dim]")
    console.print(f"{args.strategy} search: {result.runs} runs, {result.distinct_states} distinct abstract states"
                  + (f"; corpus of {result.corpus_size}" if args.strategy == "guided" and not result.found else ""))
    if result.cases_total is not None:
        left = result.cases_total - result.runs
        console.print(f"bounded space: {result.runs} of {result.cases_total} cases run: "
                      + ("[green]complete[/green] (exhausted)" if result.exhausted else f"{left} cases remaining"))
    if not result.found:
        console.print(f"[green]no violation[/green] in {result.runs} {args.strategy} schedules against {args.model} "
                      f"(seed {args.seed})")
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
