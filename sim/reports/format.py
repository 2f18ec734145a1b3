"""How KPI values read in reports: percentages, units, confidence intervals, missing values."""

from __future__ import annotations

from sim.config.kpis import KPI_BY_KEY

PERCENT = {"success_rate"}
INTEGER_LIKE = {"double_charges", "stuck", "dead_lettered", "recon_auto_fixed", "recon_by_hand", "recon_unknown",
                "money_at_risk_minor"}


def value(key: str, x, signed: bool = False) -> str:
    """One KPI value as text, e.g. ``96.12 %``, ``1.17``, ``250 ms``, ``–`` when missing."""
    if x is None:
        return "–"
    sign = "+" if signed and x > 0 else ""
    if key in PERCENT:
        return f"{sign}{x * 100:.2f}" + (" pp" if signed else " %")
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    if key in INTEGER_LIKE and float(x).is_integer():
        text = f"{sign}{int(x):,}"
    elif abs(x) >= 100:
        text = f"{sign}{x:,.0f}"
    else:
        text = f"{sign}{x:.3g}" if abs(x) < 1 else f"{sign}{x:.2f}"
    return f"{text} {unit}".rstrip() if unit and unit != "minor units" else text


def ci(key: str, stat: dict, signed: bool = False) -> str:
    """``mean`` or ``mean ± half`` (95 % CI) from a ``mean_ci`` dict."""
    if stat["mean"] is None:
        return "–"
    text = value(key, stat["mean"], signed)
    if stat.get("half_width") is None:
        return text
    half = value(key, stat["half_width"]).replace(" pp", "").replace(" %", "")
    return f"{text} ± {half}"


def interval(key: str, stat: dict) -> str:
    """``[low, high]`` of a 95 % CI, or ``–``."""
    if stat.get("low") is None:
        return "–"
    return f"[{value(key, stat['low'])}, {value(key, stat['high'])}]"


def significant(stat: dict) -> bool:
    """True when a paired difference's 95 % CI excludes zero."""
    return stat.get("low") is not None and (stat["low"] > 0 or stat["high"] < 0)
