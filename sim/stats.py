"""Confidence intervals over independent replications: the one Student-t implementation that
run, compare, sweep, the API and the validation checks all use.

The 95 % interval of a mean is ``mean ± t(0.975, n−1) · s / √n``; ``mean_ci`` clips it to the
quantity's physical range (a success rate stays within [0, 1], a count never goes below 0), since
an interval outside what can happen says nothing more than its clipped part.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist
from typing import Iterable

Z95 = 1.959963984540054
"""The standard normal's 97.5 % quantile: a two-sided 95 % normal interval (Wilson, importance
sampling, the rare-event validation)."""


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


@cache
def t975(dof: int) -> float:
    """Two-sided 95 % critical value of Student's t with ``dof`` degrees of freedom (kept: a
    comparison asks for the same few hundreds of times, each a bisection of 100 steps)."""
    return t_critical(0.95, dof)


Bounds = tuple[float | None, float | None]


def mean_ci(values: Iterable[float | None], bounds: Bounds = (None, None)) -> dict:
    """Mean and 95 % CI of ``values`` (None and NaN ignored): {mean, low, high, half_width, n}.
    ``low``/``high`` are clipped to ``bounds``; ``half_width`` is the unclipped t half-width."""
    data = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n = len(data)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "half_width": None, "n": 0}
    mean = math.fsum(data) / n
    if n == 1:
        return {"mean": _r(mean), "low": None, "high": None, "half_width": None, "n": 1}
    variance = math.fsum((v - mean) ** 2 for v in data) / (n - 1)
    half = t975(n - 1) * math.sqrt(variance / n)
    low, high = mean - half, mean + half
    if bounds[0] is not None:
        low = max(low, bounds[0])
    if bounds[1] is not None:
        high = min(high, bounds[1])
    return {"mean": _r(mean), "low": _r(low), "high": _r(high), "half_width": _r(half), "n": n}


def _r(x: float) -> float:
    return round(x, 6)
