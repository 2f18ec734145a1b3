"""How numbers read everywhere a person looks (console, Markdown, HTML, plot axes): the one
formatter. Durations step up ms → s → min → h, large numbers get thousands separators, nothing
is ever printed in scientific notation."""

from __future__ import annotations

import math

from sim.config.kpis import KPI_BY_KEY, UNIT_INTERVAL_KPIS

PERCENT = UNIT_INTERVAL_KPIS - {"passed"}
"""KPIs that are shares of 1, shown in per cent (differences in percentage points); ``passed`` reads
as the 0 or 1 it is for one run."""
INTEGER_LIKE = {"double_charges", "stuck", "dead_lettered", "recon_auto_fixed", "recon_by_hand", "recon_unknown",
                "money_at_risk_minor", "orders", "failed", "charged_but_failed", "stuck_alerts",
                "customer_in_progress", "customer_timeouts", "customer_gave_up", "duplicate_psp_calls",
                "executor_timeouts", "false_timeouts", "retries_exhausted"}
DURATION_UNITS = (("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))
"""Duration units, largest first, with their length in seconds."""


def number(x, signed: bool = False) -> str:
    """A plain number: ``209,261``, ``12,010``, ``401``, ``3.25``, ``0.0123``; ``–`` when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    sign = "+" if signed and x > 0 else ""
    x = float(x)
    size = abs(x)
    if size >= 100 or x.is_integer():
        return f"{sign}{x:,.0f}"
    if size >= 10:
        return f"{sign}{x:.1f}"
    if size >= 1:
        return f"{sign}{x:.2f}"
    if size == 0:
        return "0"
    decimals = min(12, 2 - math.floor(math.log10(size)))  # three significant digits, fixed point
    return f"{sign}{x:.{decimals}f}".rstrip("0").rstrip(".")


def fixed(x: float, digits: int, signed: bool = False) -> str:
    """``x`` with ``digits`` decimals, never ``-0.00`` (a difference that rounds to nothing reads
    ``0.00``, with no sign); ``signed`` puts a ``+`` before a positive one."""
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}"
    return f"+{text}" if signed and x > 0 else text


def duration_unit(seconds: float) -> tuple[str, float]:
    """The unit a duration of ``seconds`` reads best in, and that unit's length in seconds."""
    size = abs(seconds)
    for name, length in DURATION_UNITS:
        if size >= length:
            return name, length
    return DURATION_UNITS[-1]


def duration(seconds, signed: bool = False) -> str:
    """A duration in the unit that suits it: ``250 ms``, ``3.2 s``, ``3.5 min``, ``1.5 h``, ``0 s``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    if seconds == 0:
        return "0 s"
    name, length = duration_unit(seconds)
    return f"{number(seconds / length, signed)} {name}"


def window(start_s: float, end_s: float) -> str:
    """A time window in one unit, chosen by its end like a time axis: ``40 s → 60 s``, ``20 → 22 min``."""
    name, length = ("h", 3600.0) if end_s >= 3 * 3600 else ("min", 60.0) if end_s >= 180 else ("s", 1.0)
    return f"{number(start_s / length)} {name} → {number(end_s / length)} {name}"


MINOR_UNITS = "minor units"
"""The unit of the money KPIs (``*_minor``): integer cents, pence, yen... of the workload's currency."""


def value(key: str, x, signed: bool = False, currency: str | None = None) -> str:
    """One KPI value as text, e.g. ``96.12 %``, ``1.17``, ``3.5 min``, ``250 ms``, ``–`` when missing.
    A money KPI reads in ``currency`` when the run has one (``1,234.50 EUR``), else as the sum of
    minor units it is (see :func:`workload_currency`)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    sign = "+" if signed and x > 0 else ""
    if key in PERCENT:
        return fixed(x * 100, 2, signed) + (" pp" if signed else " %")
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ("ms" if key.endswith("_ms") else
                                                          "" if key.endswith("_per_s") else "s" if key.endswith("_s") else "")
    if unit == "ms":
        return duration(x / 1000.0, signed)
    if unit == "s":
        return duration(x, signed)
    if unit == MINOR_UNITS and currency is not None:
        return sign + money(x, currency)
    if key in INTEGER_LIKE and float(x).is_integer():
        text = f"{sign}{int(x):,}"
    else:
        text = number(x, signed)
    return f"{text} {unit}".rstrip() if unit and unit != MINOR_UNITS else text


COMPARISON_SYMBOLS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}


def observed(name: str, value_, expected: str) -> str:
    """An expectation's outcome as a person reads it: ``observed 6.67 min, wanted ≤ 1 min``. The
    threshold (``expected``, as the scenario says it: ``<= 60``) is added in the KPI's unit when
    that reads differently from the number written (a rate in per cent, seconds as minutes)."""
    text = f"observed {value(name, value_)}"
    op, _, number = expected.partition(" ")
    try:
        threshold = value(name, float(number))
    except ValueError:
        return text
    return text if threshold == number else f"{text}, wanted {COMPARISON_SYMBOLS.get(op, op)} {threshold}"


def workload_currency(scenario: dict) -> str | None:
    """The currency of a scenario's workload (its resolved configuration) when it has only one:
    its money KPIs then read in it. Amounts of several currencies are summed in minor units,
    which no single currency's amount can show (the report says which currencies)."""
    codes = scenario["workload"]["currencies"]
    return codes[0] if len(codes) == 1 else None


def money_label(label: str, key: str, scenario: dict) -> str:
    """A KPI's label, naming what a money KPI's sum is in when the workload has several currencies."""
    if KPI_BY_KEY[key].unit != MINOR_UNITS or workload_currency(scenario) is not None:
        return label
    return f"{label}, in {MINOR_UNITS} summed over {', '.join(scenario['workload']['currencies'])}"


def amounts(parts: dict[str, float | None]) -> str:
    """Money of several currencies, each in its own: ``11,704.95 EUR + 7,090.10 USD`` (minor
    units per currency code; currencies with nothing left out, ``0`` when all have nothing)."""
    if any(minor is None for minor in parts.values()):
        return "–"
    return " + ".join(money(minor, code) for code, minor in parts.items() if minor) or "0"


def ci(key: str, stat: dict, signed: bool = False, currency: str | None = None) -> str:
    """``mean`` or ``mean ± half`` (95 % CI) from a ``mean_ci`` dict (the unit said once)."""
    if stat["mean"] is None:
        return "–"
    text = value(key, stat["mean"], signed, currency)
    if stat.get("half_width") is None:
        return text
    half = value(key, stat["half_width"], currency=currency).replace(" pp", "").replace(" %", "")
    if currency is not None:
        half = half.removesuffix(f" {currency}")
    return f"{text} ± {half}"


def interval(key: str, stat: dict, currency: str | None = None) -> str:
    """``[low, high]`` of a 95 % CI, or ``–``."""
    if stat.get("low") is None:
        return "–"
    return f"[{value(key, stat['low'], currency=currency)}, {value(key, stat['high'], currency=currency)}]"


def significant(stat: dict) -> bool:
    """True when a paired difference's 95 % CI excludes zero."""
    return stat.get("low") is not None and (stat["low"] > 0 or stat["high"] < 0)


def setting(x, unit: str = "") -> str:
    """A sweep parameter's value: a duration when its unit is seconds, else a number or the text."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, (int, float)):
        return duration(float(x)) if unit == "s" else number(x) + (f" {unit}" if unit else "")
    return str(x)


def money(amount_minor: int, currency: str) -> str:
    """An amount in integer minor units as people read it: ``money(123450, "EUR")`` is
    "1,234.50 EUR" (the currency's own number of decimals, from Babel's CLDR data: "1,234 JPY")."""
    from babel.numbers import format_currency, get_currency_precision

    major = amount_minor / 10 ** get_currency_precision(currency)
    return format_currency(major, currency, format="#,##0.00 \u00a4\u00a4", locale="en_US")
