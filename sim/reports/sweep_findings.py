"""What a sweep found, in a line per KPI: where it is best and worst, and whether that difference
is more than the noise, so a reader gets the answer before the plots.

Read from the per-point means and 95 % intervals the report's table shows
(``sim.reports.sweep_points``). "Clearly" means the best point's interval and the worst point's
do not overlap; otherwise the KPI barely moves over the sweep, whatever its line looks like.
"""

from __future__ import annotations

import math
from typing import Callable

from sim import format as fmt
from sim.config.kpis import KPI_BY_KEY


def _number(value) -> float | None:
    """A finite float, or None for a missing or NaN value."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def one_value(rows: list[dict], kpi: str) -> float | None:
    """The value ``kpi`` has in every run of ``rows`` when it has one (measured everywhere, the same
    everywhere: no double charge in any run, say), else None. Such a KPI gets no plot: a flat line
    without a band says what a word does."""
    values = {_number(row.get(kpi)) for row in rows}
    return next(iter(values)) if len(values) == 1 and None not in values else None


def _others(records: list[dict], kpi: str, record: dict) -> str:
    """`` (and 3 other points)`` when that many other points share ``record``'s mean."""
    ties = sum(1 for r in records if float(r[kpi]) == float(record[kpi])) - 1
    return f" (and {ties} other point{'s' if ties > 1 else ''})" if ties else ""


def findings(records: list[dict], kpis: list[str], labels: dict[str, str],
             where: Callable[[dict], str]) -> list[tuple[str, str]]:
    """``(KPI, what was found)`` per ranked KPI (one whose better direction is known) that some
    point measured: its best and worst point (``where(record)`` names a point's settings; the
    first in point order on a tie), and whether the best is clearly better. A KPI with the same
    mean everywhere reads as such."""
    lines = []
    for kpi in kpis:
        better = KPI_BY_KEY[kpi].better if kpi in KPI_BY_KEY else None
        measured = [r for r in records if _number(r.get(kpi)) is not None]
        if better is None or not measured:
            continue
        sign = 1.0 if better == "higher" else -1.0
        best = max(measured, key=lambda r: sign * float(r[kpi]))  # max and min keep the first of equals
        worst = min(measured, key=lambda r: sign * float(r[kpi]))
        name = f"{labels[kpi]} ({better} is better)"
        if float(best[kpi]) == float(worst[kpi]):
            lines.append((name, f"{fmt.value(kpi, float(best[kpi]))} at every point."))
            continue
        best_low, best_high = _number(best.get(f"{kpi}_ci_low")), _number(best.get(f"{kpi}_ci_high"))
        worst_low, worst_high = _number(worst.get(f"{kpi}_ci_low")), _number(worst.get(f"{kpi}_ci_high"))
        if None in (best_low, best_high, worst_low, worst_high):
            verdict = "one seed per point: no interval to tell it from the noise"
        elif (best_low > worst_high) if better == "higher" else (best_high < worst_low):
            verdict = "clearly (the 95 % intervals do not overlap)"
        else:
            verdict = "within the noise (the 95 % intervals overlap)"
        lines.append((name, f"best {fmt.value(kpi, float(best[kpi]))} at {where(best)}{_others(measured, kpi, best)}; "
                            f"worst {fmt.value(kpi, float(worst[kpi]))} at {where(worst)}{_others(measured, kpi, worst)}; "
                            f"{verdict}."))
    return lines
