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

_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
"""Student's t 0.975 quantile for 1..30 degrees of freedom (standard table)."""


def t975(dof: int) -> float:
    """Two-sided 95 % critical value of Student's t with ``dof`` degrees of freedom."""
    if dof < 1:
        raise ValueError("a confidence interval needs at least two replications")
    if dof <= len(_T975):
        return _T975[dof - 1]
    return 1.959964 + 2.37 / dof  # within 0.002 of the exact value for dof > 30


@dataclass(frozen=True)
class Estimate:
    """Mean of replications with its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    replications: int

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
    half = t975(count - 1) * math.sqrt(variance / count)
    return Estimate(mean, mean - half, mean + half, count)


def replication_seeds(master_seed: int, check: str, count: int) -> list[int]:
    """Independent seeds for ``count`` replications of ``check`` (named, so checks never share)."""
    return [derive_seed(master_seed, f"validation:{check}:{i}") % (2**63) for i in range(count)]
