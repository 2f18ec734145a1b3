"""Where a run's outputs go and writing its report folder (atomically, through :mod:`sim.atomic`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sim.reports.drawing import Drawing

REPORTS_DIR = Path("reports")


def results_json(data: dict) -> str:
    """``results.json``'s text: sorted keys, two-space indents, no NaN (a helper can make it: this
    module imports nothing heavy)."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def default_out_dir(name: str, variant: str | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"  # never a hidden (temporary) name
    return REPORTS_DIR / (f"{slug}--{variant}" if variant else slug)


def write_run_outputs(out_dir: Path, result, drawing: Drawing | None = None,
                      meanwhile: Callable[[], None] | None = None) -> None:
    """The whole report folder of a run (report.html, summary.md, results.json, metrics.csv,
    plots); ``result`` is a ``RunResult`` or results already enriched with KPIs (a dict); figures
    drawn by ``drawing`` (default: in this process); ``meanwhile()`` called while they are drawn."""
    from sim.reports.bundle import write_run_report  # here, so ``paychaos --help`` imports no report code
    from sim.reports.drawing import IN_PROCESS
    from sim.runners.kpis import enrich

    data = result if isinstance(result, dict) else result.data
    if "kpis" not in data:
        data = enrich(data, result.world)
    write_run_report(Path(out_dir), data, drawing or IN_PROCESS, meanwhile)
