"""``paychaos catalog``: every fault kind and every resilience policy, with parameters, defaults
and units — generated from the pydantic classes and their field descriptions (the same text the
schema documents), so it cannot drift from what the loader accepts."""

from __future__ import annotations

import argparse
import json
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the command runs, so ``paychaos --help`` stays quick
    from pydantic import BaseModel
    from rich.console import Console
    from rich.table import Table


def policy_classes() -> list[tuple[str, type[BaseModel], str]]:
    """Every resilience policy: (name, its config class, where a file configures it)."""
    from sim.config.model import (
        CaptureConfig, ChargebacksConfig, ClosedPopulation, FeesConfig, PayoutsConfig, RefundsConfig, RetryTopicsConfig,
        SecondaryPspConfig,
    )
    from sim.config.policies import (
        AdaptiveThrottlePolicy, CircuitBreakerPolicy, LoadSheddingPolicy, RetryBudgetPolicy, RetryPolicy,
    )

    return [
        ("retry", RetryPolicy, "client.retry · payment_service.executor_retry (sync) · executor.retry · "
         "psp.bank_retry · payment_service.producer.retry"),
        ("circuit_breaker", CircuitBreakerPolicy, "executor.breaker"),
        ("retry_budget", RetryBudgetPolicy, "executor.retry_budget · payment_service.retry_budget (sync)"),
        ("adaptive_throttle", AdaptiveThrottlePolicy, "executor.throttle"),
        ("load_shedding", LoadSheddingPolicy, "payment_service.shedding"),
        ("closed_population", ClosedPopulation, "client.closed_population: buyers who think between checkouts "
         "(instead of open arrivals)"),
        ("retry_topics", RetryTopicsConfig, "executor.retry_topics (async)"),
        ("secondary_psp", SecondaryPspConfig, "secondary_psp (top level; every psp key, plus:)"),
        ("capture", CaptureConfig, "capture (top level): authorisation holds, capture at shipment, void, expiry"),
        ("refunds", RefundsConfig, "refunds (top level): refunds of captured payments, idempotent by refund id"),
        ("chargebacks", ChargebacksConfig, "chargebacks (top level): disputes, their fee and outcome"),
        ("payouts", PayoutsConfig, "payouts (top level): sellers paid on a schedule through the payout provider"),
        ("fees", FeesConfig, "fees (top level): the PSP's fee per capture, the platform's commission"),
    ]


def _unit(name: str, annotation: Any) -> str:
    if name.endswith("_per_s"):
        return "rate (e.g. 10/s)"
    if name.endswith("_s"):
        return "duration (e.g. 250ms)"
    text = str(annotation)
    if "Probability" in text or name.endswith(("probability", "fraction", "threshold")):
        return "0..1"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " / ".join(str(member.value) for member in annotation)
    if "Literal" in text:
        return " / ".join(str(a) for a in getattr(annotation, "__args__", ()))
    return getattr(annotation, "__name__", text.replace("typing.", ""))


def _default(name: str, field) -> Any:
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    from sim.units import format_duration

    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True) or "defaults"
    if name.endswith("_s") and isinstance(value, (int, float)):
        return format_duration(value) if value else "0s"
    if isinstance(value, list) and name.endswith("_s"):
        return [format_duration(v) for v in value]
    if hasattr(value, "value"):
        return value.value
    return value


def _params(cls: type[BaseModel], skip: set[str] = frozenset()) -> list[dict]:
    rows = []
    for name, field in cls.model_fields.items():
        if name in skip or name == "kind":
            continue
        rows.append({
            "key": field.alias or name,
            "unit": _unit(name, field.annotation),
            "default": _default(name, field),
            "description": field.description or "",
        })
    return rows


def design_knobs() -> list[dict]:
    """Every model key whose description names a FLAW value: the design choices a model can get
    wrong, with the correct default and the flawed values (one row per field; a field of a class
    used in several places, such as a retry policy, lists its other places under ``also``)."""
    from pydantic import BaseModel

    from sim.config.model import SystemModel

    rows: dict[tuple[type, str], dict] = {}

    def walk(cls: type[BaseModel], prefix: str) -> None:
        for name, field in cls.model_fields.items():
            key = f"{prefix}{field.alias or name}"
            annotation = field.annotation
            nested = [a for a in (annotation, *getattr(annotation, "__args__", ()))
                      if isinstance(a, type) and issubclass(a, BaseModel)]
            for sub in nested:
                walk(sub, key + ".")
            if "FLAW" not in (field.description or "") or name in getattr(cls, "fixed", {}):
                continue  # (a flag a narrower policy type refuses is no knob of that caller)
            if (cls, name) in rows:
                rows[(cls, name)]["also"].append(key)
                continue
            default = _default(name, field)
            options = list(getattr(annotation, "__args__", ())) if "Literal" in str(annotation) else (
                [True, False] if annotation is bool else [])
            rows[(cls, name)] = {
                "key": key, "default": default, "flaw": [o for o in options if o != default],
                "description": field.description or "", "also": [],
            }

    walk(SystemModel, "")
    return list(rows.values())


def catalog() -> dict:
    """The whole catalogue as plain data."""
    from sim.config.model import SecondaryPspConfig
    from sim.config.fault_schedule import FaultSchedule
    from sim.config.fault_specs import FAULT_CLASSES

    schedule_fields = set(FaultSchedule.model_fields)
    faults = [
        {
            "kind": cls.model_fields["kind"].annotation.__args__[0],
            "what": " ".join((cls.__doc__ or "").split()),
            "rampable": cls.ramp_field is not None,
            "params": _params(cls, schedule_fields - {"target"}),
        }
        for cls in FAULT_CLASSES
    ]
    skip_secondary = set(SecondaryPspConfig.model_fields) - {"fallback_after_timeout"}
    policies = [
        {
            "policy": name,
            "what": " ".join((cls.__doc__ or "").split()),
            "where": where,
            "params": _params(cls, skip_secondary if cls is SecondaryPspConfig else set()),
        }
        for name, cls, where in policy_classes()
    ]
    return {"schedule": _params(FaultSchedule), "faults": faults, "policies": policies, "design_knobs": design_knobs()}


def _markdown(data: dict) -> str:
    lines = ["# paychaos catalogue", "", "## Fault schedule (every kind)", ""]
    lines += _md_table(data["schedule"])
    lines += ["", "## Fault kinds", ""]
    for fault in data["faults"]:
        ramp = " (rampable)" if fault["rampable"] else ""
        lines += [f"### `{fault['kind']}`{ramp}", "", fault["what"], ""] + _md_table(fault["params"]) + [""]
    lines += ["## Policies", ""]
    for policy in data["policies"]:
        lines += [f"### {policy['policy']}", "", policy["what"], "", f"Configured at: {policy['where']}", ""]
        lines += _md_table(policy["params"]) + [""]
    lines += ["## Design knobs (correct default, FLAW values)", "", "| key | default | flaw | description |",
              "|---|---|---|---|"]
    lines += [f"| `{k['key']}` | {k['default']} | {', '.join(map(str, k['flaw']))} | {k['description']} |"
              for k in data["design_knobs"]]
    return "\n".join(lines)


def _md_table(params: list[dict]) -> list[str]:
    rows = ["| key | unit | default | description |", "|---|---|---|---|"]
    rows += [f"| `{p['key']}` | {p['unit']} | {p['default']} | {p['description']} |" for p in params]
    return rows


def _print_rich(console: Console, data: dict) -> None:
    from rich.table import Table

    def table(title: str, params: list[dict]) -> Table:
        t = Table(title=title, title_justify="left", show_lines=False)
        for column in ("key", "unit", "default", "description"):
            t.add_column(column, overflow="fold")
        for p in params:
            t.add_row(p["key"], p["unit"], str(p["default"]), p["description"])
        return t

    console.print(table("Fault schedule (every kind)", data["schedule"]))
    for fault in data["faults"]:
        console.print(f"\n[bold]{fault['kind']}[/bold]{' (rampable)' if fault['rampable'] else ''}: {fault['what']}")
        console.print(table("", fault["params"]))
    for policy in data["policies"]:
        console.print(f"\n[bold]{policy['policy']}[/bold]: {policy['what']}\n  configured at: {policy['where']}")
        console.print(table("", policy["params"]))
    knobs = Table(title="\nDesign knobs (correct default, FLAW values)", title_justify="left")
    for column in ("key", "default", "flaw", "description"):
        knobs.add_column(column, overflow="fold")
    for k in data["design_knobs"]:
        knobs.add_row(k["key"], str(k["default"]), ", ".join(map(str, k["flaw"])), k["description"])
    console.print(knobs)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog", help="list every fault kind and resilience policy with parameters",
        description="List every fault kind (what it does, its target and parameters) and every resilience "
        "policy (where it is configured, parameters, defaults, units) and every design knob with a FLAW "
        "value, from the schema itself.",
    )
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    data = catalog()
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    elif args.format == "markdown":
        print(_markdown(data))
    else:
        from sim.cli.progress import make_console

        _print_rich(make_console(), data)
    return 0
