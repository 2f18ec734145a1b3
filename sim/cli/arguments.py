"""Argument types shared by the subcommands (argparse turns their errors into exit 2)."""

from __future__ import annotations

import argparse


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
