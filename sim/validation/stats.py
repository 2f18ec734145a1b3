"""Confidence intervals from independent replications (Student's t), without scipy.

Each replication is one run with its own seed (derived from the validation's master seed), its
warm-up deleted; its estimate is one observation. The 95 % interval is
``mean ± t(0.975, R−1) · s / √R``.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from dataclasses import dataclass
from typing import Sequence

from sim.rng import derive_seed

def _t_central(t: float, dof: int) -> float:
    """P(|T| ≤ t) for Student's t with integer ``dof`` (Abramowitz & Stegun 26.7.3–4, exact)."""
    theta = math.atan(t / math.sqrt(dof))
    cos2, sin_t = math.cos(theta) ** 2, math.sin(theta)
    if dof % 2 == 0:
        term = total = 1.0
        for k in range(2, dof - 1, 2):  # (1·3···(k−1)) / (2·4···k) cos^k
            term *= (k - 1) / k * cos2
            total += term
        return sin_t * total
    if dof == 1:
        return 2.0 * theta / math.pi
    term = total = math.cos(theta)
    for k in range(3, dof - 1, 2):  # (2·4···(k−1)) / (1·3···k) cos^k
        term *= (k - 1) / k * cos2
        total += term
    return 2.0 / math.pi * (theta + sin_t * total)


def t_critical(level: float, dof: int) -> float:
    """Two-sided critical value of Student's t: P(|T| ≤ value) = ``level`` (e.g. 0.95)."""
    if dof < 1:
        raise ValueError("a confidence interval needs at least two replications")
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    if dof > 1000:
        return NormalDist().inv_cdf(0.5 + level / 2.0)
    low, high = 0.0, 1.0
    while _t_central(high, dof) < level:
        high *= 2.0
    for _ in range(100):  # bisection to float precision
        mid = (low + high) / 2.0
        if _t_central(mid, dof) < level:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def t975(dof: int) -> float:
    """Two-sided 95 % critical value of Student's t with ``dof`` degrees of freedom."""
    return t_critical(0.95, dof)


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
