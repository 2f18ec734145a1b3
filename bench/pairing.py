"""How the bench compares the model's speed with a plain SimPy reference on a shared machine:
every model run sits between two reference runs, and repeated runs are summed up by their median.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def paired(model_runs: list[tuple[str, Callable[[], dict]]], reference: Callable[[int], dict],
            on_step: Callable[[str], None]) -> tuple[list[dict], list[tuple[str, dict]]]:
    """Run every model run between two reference runs (R m R m R ... R) and give each model run
    the mean rate of its two neighbours as ``reference_customers_per_s``: load from other tenants
    on a shared machine drifts over the minutes a bench takes, and a reference measured next to
    each run cancels most of it. Returns (reference runs, [(label, model run)])."""
    references = [reference(0)]
    measured = []
    for index, (label, measure) in enumerate(model_runs, start=1):
        on_step(label)
        result = measure()
        on_step(f"reference M/M/c #{index + 1}")
        references.append(reference(index))
        neighbours = references[-2:]
        result["reference_customers_per_s"] = round(statistics.fmean(r["customers_per_s"] for r in neighbours), 1)
        result["ratio_to_reference"] = round(result["payments_per_s"] / result["reference_customers_per_s"], 4)
        if "payments_per_s_sim_loop" in result:
            result["ratio_to_reference_sim_loop"] = round(
                result["payments_per_s_sim_loop"] / result["reference_customers_per_s"], 4)
        measured.append((label, result))
    return references, measured


def median_run(runs: list[dict]) -> dict:
    """The run with the median ratio (an odd number of runs), with every run's ratio beside it."""
    ordered = sorted(runs, key=lambda r: r["ratio_to_reference"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["ratios_of_repeats"] = [r["ratio_to_reference"] for r in runs]
    return chosen
