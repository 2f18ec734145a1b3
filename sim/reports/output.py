"""Where a run's outputs go and writing its report folder (atomically, through :mod:`sim.atomic`)."""

from __future__ import annotations

import re
from pathlib import Path

REPORTS_DIR = Path("reports")


def default_out_dir(name: str, variant: str | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"  # never a hidden (temporary) name
    return REPORTS_DIR / (f"{slug}--{variant}" if variant else slug)


def write_run_outputs(out_dir: Path, result) -> None:
    """The whole report folder of a run (report.html, summary.md, results.json, metrics.csv,
    plots); ``result`` is a ``RunResult`` or results already enriched with KPIs (a dict)."""
    from sim.reports.bundle import write_run_report  # here, so ``paychaos --help`` imports no matplotlib
    from sim.runners.kpis import enrich

    data = result if isinstance(result, dict) else result.data
    if "kpis" not in data:
        data = enrich(data, result.world)
    write_run_report(Path(out_dir), data)
