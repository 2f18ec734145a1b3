"""Argument types shared by the subcommands (argparse turns their errors into exit 2)."""

from __future__ import annotations

import argparse

from sim.errors import ConfigError


def positive_int(text: str) -> int:
    """A whole number >= 1 (replications, workers, budgets)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


MAX_REPLICATIONS = 10_000
"""The same bound as a scenario's ``replications`` key."""


def replication_count(text: str) -> int:
    """A replication count: a whole number from 1 to ``MAX_REPLICATIONS``."""
    value = positive_int(text)
    if value > MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"at most {MAX_REPLICATIONS} replications, got {value}")
    return value


def check_total_runs(loaded, runs: int, formula: str = "--replications", variants: list[str | None] | None = None) -> None:
    """Refuse ``runs`` runs of a loaded scenario that would be too many checkouts in total (the
    scenario file's own ``replications`` is checked when it loads; this is for the command line).
    Checkouts per run come from the clients that play (``sim.config.workload_fit.expected_checkouts``:
    a closed population's size and think time, not the unused open rate), the largest of ``variants``."""
    from pathlib import Path

    from sim.config.loader import variant_model
    from sim.config.workload_fit import expected_checkouts

    base_dir = Path(loaded.model_path).parent
    per_run = max(expected_checkouts(loaded.scenario, variant_model(loaded, v), base_dir) for v in (variants or [None]))
    problem = loaded.scenario.total_size_problem(runs, formula, per_run)
    if problem:
        raise ConfigError(problem, file=loaded.scenario_path, key="replications")
