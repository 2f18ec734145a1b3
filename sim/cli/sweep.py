"""``paychaos sweep SWEEP.yaml``: a grid or random sample over parameters × seeds, on every core."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
import re
import time
from pathlib import Path

from sim.cli.arguments import positive_int
from sim.cli.quick_exit import pause, runs_done, settle
from sim.reports.output import REPORTS_DIR

EXECUTORS = ("serial", "local", "dask")  # sim.runners.sweep.EXECUTORS without importing it (a test checks they agree)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run a parameter sweep × seeds on all cores or a Dask cluster",
        description="Run every point of a sweep file (a grid, or a random sample, over scenario and model "
        "key paths) for each replication seed. Each finished run is appended to runs.jsonl and runs.csv "
        "in the output folder, so an interrupted sweep keeps what finished and --resume skips it. At the "
        "end: results.csv (sorted), points.csv (means with 95% confidence intervals) and a report with "
        "one plot per KPI. Exit 1 if any run failed an oracle or an expectation.",
        epilog="Key paths: model.<path> for the model (model.executor.psp_timeout), 'variant' for the "
        "scenario's variants, 'model' for the model file, anything else for the scenario (workload.rate).",
    )
    parser.add_argument("sweep", help="sweep YAML file, e.g. scenarios/sweeps/psp-timeout-tradeoff.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/sweeps/<name>)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: a process pool over all cores (default); dask: a Dask cluster; serial: in process")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="worker processes (default: every core; dask without --scheduler: LocalCluster size)")
    parser.add_argument("--scheduler", default=None,
                        help="address of an existing dask.distributed scheduler (with --executor dask); "
                        "without it a LocalCluster is started")
    parser.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping finished runs")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results in --out and start over")
    parser.add_argument("--no-report", action="store_true", help="skip the plots and the HTML/Markdown report")
    parser.set_defaults(handler=main)


def default_sweep_dir(name: str) -> Path:
    return REPORTS_DIR / "sweeps" / (re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "sweep")


def main(args: argparse.Namespace) -> int:
    pause()  # no collection until the simulations start (settle)
    from sim.cli.progress import as_run, counted, make_console
    from sim.config.sweep import load_sweep
    from sim import format as fmt
    from sim.reports.drawing import IN_PROCESS, SWEEP, drawing
    from sim.runners.sweep import run_sweep

    console = make_console()
    if args.scheduler and args.executor != "dask":
        args.executor = "dask"
    sweep = load_sweep(args.sweep)
    out_dir = args.out or default_sweep_dir(sweep.spec.name)
    total = len(sweep.points) * len(sweep.seeds)
    console.print(f"sweep [bold]{sweep.spec.name}[/bold]: {len(sweep.points)} point(s) × {len(sweep.seeds)} seed(s) "
                  f"= {total} runs on {args.executor}" + (f" ({args.workers} workers)" if args.workers else ""))
    settle()  # what is loaded now stays: no collection rescans it during the runs
    with drawing(SWEEP) if not args.no_report else nullcontext(IN_PROCESS) as figures:  # warmed while the runs go
        started = time.perf_counter()
        try:
            with counted(console, "running", total) as update:

                def on_row(_row: dict, done: int, _total: int) -> None:
                    update(done)

                outcome = run_sweep(sweep, out_dir, executor=args.executor, workers=args.workers,
                                    scheduler=args.scheduler, resume=args.resume, fresh=args.fresh, on_row=on_row)
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/yellow]: finished runs are kept in {out_dir}; "
                          f"continue with: {as_run('paychaos sweep')} {args.sweep} --out {out_dir} --resume")
            return 130
        elapsed = time.perf_counter() - started
        runs_done()  # the rows are only read from here; a last world's cycles wait for the exit
        console.print(f"{outcome.ran} run(s) in {fmt.duration(round(elapsed, 1))}"
                      + (f", {total - outcome.ran} already done" if outcome.ran < total else "")
                      + f"; results: {out_dir / 'results.csv'}")
        if not args.no_report:
            from sim.reports.sweep_report import write_sweep_report

            index = write_sweep_report(out_dir, sweep, outcome.rows, figures)
            console.print(f"report: {index}")
    if outcome.failed:
        console.print(f"[red]{outcome.failed} of {total} run(s) failed an oracle or an expectation[/red]")
        return 1
    return 0
