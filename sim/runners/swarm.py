"""Random fault schedules, swarm style, drawn from the fault catalogue by introspection.

Every member of the ``Fault`` union joins exploration automatically: its ``kind``, its targets
(a ``Literal``) and each parameter's bounds are read from the pydantic schema, so a new fault kind
needs no change here. Parameters are drawn so that Hypothesis shrinks them toward the most
readable counterexample: probabilities toward 1, times toward 0, choices toward the default.

Everything is drawn as plain YAML-ready values (``"12s"``, ``0.5``) *before* the simulation
starts (docs/design.md §11.4): the exact dict that is run is the one written back as a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.config.distributions import Distribution
from sim.faults.schedule import FaultSchedule
from sim.faults.specs import Fault

PROBABILITY_LEVELS = (1.0, 0.5, 0.2, 0.05)
DURATION_LEVELS_S = (1, 2, 5, 10, 30)
RATE_LEVELS_PER_S = (1, 5, 20)
MAX_FAULTS = 4
SWARM_MAX_KINDS = 3
"""Kinds enabled in one run: small subsets exercise each kind alone often (swarm testing)."""


@dataclass(frozen=True)
class KindInfo:
    kind: str
    spec: type[BaseModel]
    targets: tuple[str, ...]
    """Where the fault can strike (the ``target`` literal, default first); empty if untargeted
    or if the targets depend on the model (``model_targets``)."""
    parameters: dict[str, tuple[st.SearchStrategy, Any]]
    """YAML key → (strategy, simplest value) for each other parameter that is drawn (others
    keep their defaults)."""

    model_targets: bool = False
    """The ``target`` is a free name checked against the model: see :func:`targets_in`."""

    def restricted_to(self, targets: tuple[str, ...]) -> "KindInfo":
        return KindInfo(self.kind, self.spec, targets, self.parameters)

    def simplest(self, target: str | None) -> dict[str, Any]:
        """The fault's parameters at their simplest values (for probe runs)."""
        values = {key: simplest for key, (_strategy, simplest) in self.parameters.items()}
        return {**({"target": target} if target else {}), **values}


def fault_classes() -> list[type[BaseModel]]:
    """The members of the ``Fault`` discriminated union, in declaration order."""
    union = get_args(Fault)[0]
    return list(get_args(union))


def catalogue() -> tuple[list[KindInfo], dict[str, str]]:
    """Explorable kinds, and the kinds left out with the reason (a required field of a type the
    generator cannot draw)."""
    kinds, skipped = [], {}
    schedule_fields = set(FaultSchedule.model_fields)
    for spec in fault_classes():
        kind = get_args(spec.model_fields["kind"].annotation)[0]
        if spec.contract_breach:
            skipped[kind] = f"breaks a contract no design can survive: {spec.contract_breach}"
            continue
        parameters: dict[str, tuple[st.SearchStrategy, Any]] = {}
        targets: tuple[str, ...] = ()
        model_targets = False
        reason = None
        for name, field in spec.model_fields.items():
            if name in schedule_fields or name == "kind":
                continue
            if name == "target" and get_origin(field.annotation) is Literal:
                targets = tuple(_first_default(list(get_args(field.annotation)), field))
                continue
            if name == "target" and field.annotation is str:
                model_targets = True
                continue
            strategy = _strategy_for(name, field)
            if strategy is None:
                if field.is_required():
                    reason = f"cannot draw required field {name!r}"
                    break
                continue
            parameters[field.alias or name] = strategy
        if reason:
            skipped[kind] = reason
        else:
            kinds.append(KindInfo(kind, spec, targets, parameters, model_targets))
    return kinds, skipped


def targets_in(info: KindInfo, model: Any) -> tuple[str, ...]:
    """The targets ``info`` can strike in ``model``: its literal options, or the names the fault
    catalogue's target checker accepts for this model (a kind whose target is a free string)."""
    if not info.model_targets:
        return info.targets
    try:
        from sim.faults.targets import valid_targets  # the catalogue's own checker, when present
    except ImportError:
        return ()
    try:
        return tuple(valid_targets(info.kind, model))
    except ValueError:
        return ()


def _bounds(field: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            low = meta.gt
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
        elif isinstance(meta, annotated_types.Lt):
            high = meta.lt
        elif isinstance(meta, annotated_types.Interval):
            low = meta.ge if meta.ge is not None else meta.gt
            high = meta.le if meta.le is not None else meta.lt
    return low, high


def _first_default(options: list, field: FieldInfo) -> list:
    default = field.default if not field.is_required() else None
    return sorted(options, key=lambda option: option != default)


def _levels(values: list | tuple) -> tuple[st.SearchStrategy, Any]:
    return st.sampled_from(values), values[0]


def _strategy_for(name: str, field: FieldInfo) -> tuple[st.SearchStrategy, Any] | None:
    """How to draw one parameter, and its simplest value; None when it keeps its default."""
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return _levels(_first_default(list(get_args(annotation)), field))
    if annotation is bool:
        return st.booleans(), False
    durations = [f"{s}s" for s in DURATION_LEVELS_S]
    if _is_distribution(annotation):
        return _levels(durations)
    low, high = _bounds(field)
    if annotation is float:
        if name.endswith("_per_s"):
            return _levels([f"{r}/s" for r in RATE_LEVELS_PER_S])
        if name.endswith("_s"):
            return _levels(durations)
        if low == 0 and high == 1:
            return _levels(PROBABILITY_LEVELS)
        if low is not None and high is not None:
            return _levels([round(low + (high - low) * i / 4, 6) for i in (4, 2, 1, 0)])
        return None
    if annotation is int:
        if low is not None and high is not None and high - low <= 1000:
            return st.integers(int(low), int(high)), int(low)
        return None  # e.g. an instance number: its valid range depends on the model; keep the default
    return None


def _is_distribution(annotation: Any) -> bool:
    """The latency/delay ``Distribution`` union (pydantic strips its ``Annotated`` wrapper)."""
    return annotation == get_args(Distribution)[0]


@st.composite
def fault_dicts(draw, kinds: list[KindInfo], load_s: int) -> list[dict]:
    """0..MAX_FAULTS faults from a random subset of kinds (swarm testing: most runs leave most
    kinds out, so faults that mask each other are rarely drawn together). Zero faults is allowed:
    some flaws break an invariant on their own, and then the minimal counterexample says so."""
    size = draw(st.integers(1, min(SWARM_MAX_KINDS, len(kinds))))
    enabled = draw(st.lists(st.sampled_from(kinds), min_size=size, max_size=size, unique_by=lambda k: k.kind))
    count = draw(st.integers(0, MAX_FAULTS))
    faults = []
    for _ in range(count):
        info = draw(st.sampled_from(enabled))
        at_s = draw(st.integers(0, load_s - 1))
        for_s = draw(st.integers(1, load_s - at_s))
        fault: dict[str, Any] = {"kind": info.kind, "at": f"{at_s}s", "for": f"{for_s}s"}
        if info.targets:
            fault["target"] = draw(st.sampled_from(info.targets))
        for key, (strategy, _simplest) in info.parameters.items():
            fault[key] = draw(strategy)
        faults.append(fault)
    return faults
