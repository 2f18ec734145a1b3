"""Values with units as architects write them: ``250ms``, ``2m``, ``24h``, ``200/s``.

Simulated time is in seconds (float) everywhere inside the model.
"""

from __future__ import annotations

import re

_DURATION_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE_UNITS_PER_S = {"s": 1.0, "m": 1 / 60.0, "min": 1 / 60.0, "h": 1 / 3600.0, "d": 1 / 86400.0}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-z]+)\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*/\s*([a-z]+)\s*$")

DURATION_PATTERN = rf"^\s*{_NUMBER}\s*(us|ms|s|m|min|h|d)\s*$"
"""JSON Schema pattern of a duration string (editors check values while typing)."""
SIGNED_DURATION_PATTERN = rf"^\s*-?\s*{_NUMBER}\s*(us|ms|s|m|min|h|d)\s*$"
"""A duration that may be negative (an offset such as a clock skew)."""
RATE_PATTERN = rf"^\s*{_NUMBER}\s*/\s*(s|m|min|h|d)\s*$"
DURATION_EXAMPLES = "a number with a unit, e.g. 250ms, 2s, 5m, 24h (units: us, ms, s, m, h, d)"
RATE_EXAMPLES = "a number per unit of time, e.g. 200/s, 30/m, 1000/h"


def _as_float(value: int | float) -> float:
    """``value`` as a float; an integer beyond the float range is infinite (refused as not finite)."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def parse_duration_s(value: object) -> float:
    """Seconds in ``value``: a string with a unit, or a bare number meaning seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}; write {DURATION_EXAMPLES}")
    if isinstance(value, (int, float)):
        seconds = _as_float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match or match.group(2) not in _DURATION_UNITS_S:
            raise ValueError(f"{value!r} is not a duration; write {DURATION_EXAMPLES}")
        seconds = float(match.group(1)) * _DURATION_UNITS_S[match.group(2)]
    else:
        raise ValueError(f"expected a duration, got {type(value).__name__}; write {DURATION_EXAMPLES}")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"duration must be finite and >= 0, got {value!r}")
    return seconds


def parse_signed_duration_s(value: object) -> float:
    """Seconds in a duration that may be negative: ``-20m`` is twenty minutes behind."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration_s(value.strip()[1:])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return -parse_duration_s(-value)
    return parse_duration_s(value)


def parse_rate_per_s(value: object) -> float:
    """Events per second in ``value``: ``200/s``, ``30/m``, or a bare number meaning per second."""
    if isinstance(value, bool):
        raise ValueError(f"expected a rate, got {value!r}; write {RATE_EXAMPLES}")
    if isinstance(value, (int, float)):
        rate = _as_float(value)
    elif isinstance(value, str):
        match = _RATE_RE.match(value)
        if not match or match.group(2) not in _RATE_UNITS_PER_S:
            raise ValueError(f"{value!r} is not a rate; write {RATE_EXAMPLES}")
        rate = float(match.group(1)) * _RATE_UNITS_PER_S[match.group(2)]
    else:
        raise ValueError(f"expected a rate, got {type(value).__name__}; write {RATE_EXAMPLES}")
    if rate < 0 or rate != rate or rate == float("inf"):
        raise ValueError(f"rate must be finite and >= 0, got {value!r}")
    return rate


def format_duration(seconds: float) -> str:
    """A short human form of a duration in seconds (``"250ms"``, ``"2.5s"``, ``"3m"``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"
