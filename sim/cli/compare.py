"""``paychaos compare SCENARIO``: the scenario's variants on the same traffic and fault timeline."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.arguments import check_total_runs, positive_int, replication_count
from sim.cli.quick_exit import pause, runs_done, settle

if TYPE_CHECKING:  # imported when the command runs, so ``paychaos --help`` stays quick
    from rich.console import Console

DEFAULT_REPLICATIONS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare the scenario's variants with common random numbers",
        description="Run R replications of each variant defined in the scenario (e.g. retry policies) "
        "with the same seeds, so every variant sees the same customers and the same fault timeline. "
        "Reports paired differences against a baseline variant with 95% confidence intervals, a "
        "ranking per KPI, a Pareto plot and a recommendation, in report.html, summary.md, "
        "results.json, metrics.csv and kpis.csv. Exit 1 if any run broke an oracle or expectation.",
    )
    parser.add_argument("scenario", help="scenario YAML file with 'variants', e.g. scenarios/compare-retry-policies.yaml")
    parser.add_argument("--variants", default=None, help="comma-separated variants to compare (default: all, in file order)")
    parser.add_argument("--baseline", default=None, help="variant the others are paired against (default: the first)")
    parser.add_argument("--replications", type=replication_count, default=None, metavar="R",
                        help=f"replications per variant (default: the scenario's 'replications' if above 1, else {DEFAULT_REPLICATIONS})")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's)")
    parser.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<scenario>--compare)")
    parser.set_defaults(handler=main)


def _command(args: argparse.Namespace, variants: list[str], replications: int) -> str:
    parts = ["paychaos", "compare", args.scenario, "--variants", ",".join(variants),
             "--replications", str(replications)]
    if args.baseline:
        parts += ["--baseline", args.baseline]
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    return shlex.join(parts)


def main(args: argparse.Namespace) -> int:
    pause()  # no collection until the simulations start (settle)
    from sim.cli.progress import as_run, make_console, progress_bar
    from sim.config.loader import load_scenario
    from sim.config.messages import did_you_mean
    from sim.errors import ConfigError
    from sim.reports.bundle import start_exemplar_figures, write_compare_report
    from sim.reports.drawing import drawing
    from sim.reports.output import default_out_dir
    from sim.runners.compare import exemplar_fields, resolve_variants, run_comparison, summarize_comparison

    console = make_console()
    loaded = load_scenario(args.scenario)
    names = [n.strip() for n in args.variants.split(",") if n.strip()] if args.variants else None
    variants = resolve_variants(loaded, names)
    baseline = args.baseline or variants[0]
    if baseline not in variants:
        raise ConfigError(f"baseline {baseline!r} is not among the compared variants ({', '.join(variants)})",
                          file=loaded.scenario_path, key="variants", hint=did_you_mean(baseline, variants))
    replications = args.replications or (loaded.scenario.replications if loaded.scenario.replications > 1
                                         else DEFAULT_REPLICATIONS)
    total = len(variants) * replications
    check_total_runs(loaded, total, "variants × --replications", variants)
    settle()  # what is loaded now stays: no collection rescans it during the runs
    with drawing() as figures:  # helpers warm up on the idle core while the runs go

        def on_exemplars(first_runs: dict[str, dict]) -> None:  # drawn while the other replications run
            start_exemplar_figures(figures, exemplar_fields(first_runs))

        with progress_bar(console, f"compare {loaded.scenario.name}: {len(variants)} variants × {replications}",
                          total) as advance:
            results = run_comparison(loaded, variants, replications, args.seed, args.workers, advance,
                                     on_exemplars if figures.parallel else None)
        runs_done()  # the runs' results are only read from here; the last world's cycles wait for the exit
        comp = summarize_comparison(loaded, results, baseline, _command(args, variants, replications))
        out_dir = args.out or default_out_dir(f"{loaded.scenario.name}--compare")
        with console.status("writing the report…"):  # the ranking printed while the figures are drawn
            write_compare_report(out_dir, comp, figures, lambda: print_ranking(console, comp))
    console.print(f"reproduce: {as_run(comp['command'])}", highlight=False)
    console.print(f"report: {Path(out_dir) / 'report.html'}")
    failed = [v for v, verdicts in comp["verdicts"].items() if any(x != "pass" for x in verdicts)]
    if failed:
        console.print(f"[red]oracle or expectation failures in: {', '.join(failed)}[/red]")
    return 1 if failed else 0


SHORT = {"success_rate": "success", "psp_requests_per_order": "PSP req/order",
         "peak_psp_rate_after_recovery_per_s": "PSP peak after recovery (req/s)", "p99_latency_ms": "p99",
         "dead_lettered": "DLQ", "double_charges": "double charges"}


def _compact(key: str, stat: dict) -> str:
    """``mean ±half`` in the report's formatter (durations in their unit, thousands separators)."""
    from sim import format as fmt

    if stat["mean"] is None:
        return "–"
    text = fmt.value(key, stat["mean"])
    if stat["half_width"]:
        text += " ±" + fmt.value(key, stat["half_width"]).replace(" %", "")
    return text


def print_ranking(console: Console, comp: dict) -> None:
    from rich.table import Table

    from sim.config.kpis import HEADLINE_KPIS, KPI_BY_KEY

    table = Table(title=f"{comp['scenario']}: {comp['replications']} replications per variant, "
                        f"common random numbers (mean ± 95% CI)")
    table.add_column("variant", style="bold", no_wrap=True, min_width=max(len(v) for v in comp["variants"]))
    keys = HEADLINE_KPIS
    for key in keys:
        table.add_column(f"{SHORT.get(key, KPI_BY_KEY[key].label)} {'↑' if KPI_BY_KEY[key].better == 'higher' else '↓'}",
                         justify="right")
    order = [r["variant"] for r in comp["ranking"]["success_rate"]]
    order += [v for v in comp["variants"] if v not in order]
    for variant in order:
        cells = []
        for key in keys:
            rank = next((r["rank"] for r in comp["ranking"][key] if r["variant"] == variant), None)
            text = _compact(key, comp["stats"][variant][key])
            cells.append(f"[green]{text}[/green]" if rank == 1 else text)
        table.add_row(variant, *cells)
    console.print(table)
    console.print(comp["recommendation"]["text"].replace("**", ""))
