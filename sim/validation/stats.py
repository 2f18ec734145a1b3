"""Confidence intervals from independent replications (Student's t), without scipy.

Each replication is one run with its own seed (derived from the validation's master seed), its
warm-up deleted; its estimate is one observation. The 95 % interval is
``mean ± t(0.975, R−1) · s / √R``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from sim.rng import derive_seed
from sim.stats import t975, t_critical  # noqa: F401  (the one Student-t implementation)


@dataclass(frozen=True)
class Estimate:
    """Mean of replications with its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    replications: int
    std_error: float = 0.0
    """Standard error of the mean (sample standard deviation / √replications)."""

    def interval(self, level: float) -> tuple[float, float]:
        """The interval at another confidence ``level`` (e.g. a family-wise one)."""
        half = t_critical(level, self.replications - 1) * self.std_error
        return self.mean - half, self.mean + half

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def estimate(values: Sequence[float]) -> Estimate:
    """The mean of ``values`` (one per replication) and its 95 % t interval."""
    count = len(values)
    mean = math.fsum(values) / count
    if count < 2:
        raise ValueError("a confidence interval needs at least two replications")
    variance = math.fsum((v - mean) ** 2 for v in values) / (count - 1)
    std_error = math.sqrt(variance / count)
    half = t975(count - 1) * std_error
    return Estimate(mean, mean - half, mean + half, count, std_error)


def replication_seeds(master_seed: int, check: str, count: int) -> list[int]:
    """Independent seeds for ``count`` replications of ``check`` (named, so checks never share)."""
    return [derive_seed(master_seed, f"validation:{check}:{i}") % (2**63) for i in range(count)]
