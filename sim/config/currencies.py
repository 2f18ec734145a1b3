"""The model's FX settings against the scenario's currencies: the settlement currency must be one
the buyers pay in, and every other currency of the workload needs a starting rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config.model import SystemModel
    from sim.config.scenario import Scenario
    from sim.config.yaml_reader import YamlDocument


def fx_problem(scenario: "Scenario", model: "SystemModel") -> tuple[str, str, str] | None:
    """(key, what is wrong, what would be right) for FX settings the workload does not fit, or None."""
    fx = model.fx
    codes = scenario.workload.currencies
    if fx.settlement_currency is None:
        return None
    if fx.settlement_currency not in codes:
        return ("fx.settlement_currency", f"settlement currency {fx.settlement_currency!r} is not one of the "
                f"workload's currencies ({', '.join(codes)})", f"one of {', '.join(codes)}, or add it to workload.currencies")
    missing = [code for code in codes if code != fx.settlement_currency and code not in fx.rates]
    if missing:
        return ("fx.rates", f"no starting rate for the workload's currencies {', '.join(missing)}",
                "e.g. fx: {rates: {" + ", ".join(f"{code}: 0.9" for code in missing) + "}} (settlement minor units "
                "per presentment minor unit)")
    return None


def check_fx(scenario: "Scenario", model: "SystemModel", doc: "YamlDocument", where: str = "") -> None:
    """Raise a ConfigError naming the scenario file when the model's FX settings miss a currency."""
    from sim.config.loader import _position, node_at

    problem = fx_problem(scenario, model)
    if problem is None:
        return
    key, message, hint = problem
    line, column = _position(node_at(doc.root, ("workload", "currencies")))
    raise ConfigError(message + where, file=doc.path, line=line, column=column, key=key, hint=hint)
