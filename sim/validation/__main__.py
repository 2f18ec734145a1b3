"""``python -m sim.validation`` (``make validate``): run every check, regenerate docs/validation.md.

Exit codes: 0 every claim agrees, 1 at least one does not, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from sim.validation import hot_seller, mmc, orbit, psp_erlang, rare_events, retry_cost, sync_async
from sim.validation.report import render, write
from sim.validation.rows import SIZES, verdict

CHECKS = {
    "mmc": (mmc.validate, len(mmc.CASES)),
    "retry_cost": (retry_cost.validate,
                   len(retry_cost.RETRY_CASES) + len(retry_cost.AMPLIFICATION_CASES) + len(retry_cost.BUDGET_CASES)),
    "hot_seller": (hot_seller.validate, len(hot_seller.CASES)),
    "sync_async": (sync_async.validate, 1),
    "orbit": (orbit.validate, len(orbit.CASES)),
    "psp_erlang": (psp_erlang.validate, len(psp_erlang.CASES)),
    "rare_events": (rare_events.validate, len(rare_events.TARGETS)),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim.validation",
        description="Run the validation checks (M/M/c, retry cost, hot-seller contention, sync vs async, retry orbit, PSP Erlang C, rare events) "
        "and write their table of reference value, simulated value and 95 % confidence interval.",
        epilog="Exit codes: 0 every claim agrees, 1 at least one does not, 2 bad arguments.",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full",
                        help="full (the committed docs) or ci (the test suite's modest sizes)")
    parser.add_argument("--seed", type=int, default=1, help="master seed of every replication (default 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/validation.md"), help="Markdown file to write")
    parser.add_argument("--only", choices=sorted(CHECKS), action="append", default=None,
                        help="run only this check (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seed < 0:
        print("python -m sim.validation: error: --seed must be >= 0", file=sys.stderr)
        return 2
    size = SIZES[args.size]
    names = [name for name in CHECKS if args.only is None or name in args.only]
    console = Console(stderr=True)
    sections = {}
    with Progress(console=console, transient=True) as progress:
        for name in names:
            run, steps = CHECKS[name]
            task = progress.add_task(f"validating {name}", total=steps)
            sections[name] = run(size, args.seed, progress=lambda t=task: progress.advance(t))
    write(args.out, render(sections, size, args.seed))
    claims = [r for rows in sections.values() for r in rows if r.agrees is not None]
    failed = [r for r in claims if verdict(r, len(claims)) == "no"]
    for row in failed:
        console.print(f"[red]disagrees[/red]: {row.check} — {row.case}: reference {row.reference}, "
                      f"simulated {row.simulated.mean:.4g} [{row.simulated.low:.4g}, {row.simulated.high:.4g}]")
    console.print(f"wrote {args.out} ({'all claims agree' if not failed else f'{len(failed)} disagree'})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
