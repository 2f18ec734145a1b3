"""Sweep files: a grid (or a random sample) over scenario and model parameters × seeds.

```yaml
name: psp-timeout-tradeoff
scenario: base/slow-psp-sync.yaml     # relative to this file
replications: 4                       # seeds per point (common random numbers across points)
seed: 11                              # master seed (default: the scenario's)
fixed: {duration: 10m}                # applied at every point
parameters:                           # key path → values (grid) or a range
  model.executor.psp_timeout: [250ms, 1s, 4s, 16s]
  workload.rate: {low: 5/s, high: 20/s, steps: 4}
```

Key paths: ``model.<path>`` addresses the system model (on top of the scenario's own
``overrides``), e.g. ``model.executor.psp_timeout``; ``variant`` picks one of the scenario's
variants; ``model`` alone swaps the model file (relative to the sweep file); any other path
addresses the scenario, e.g. ``workload.rate``, ``duration``, ``faults.0.probability`` (list items
by index). Paths are checked against the schema when the file is loaded; values are checked by
validating every point's scenario and model once, before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.config.base import Frozen, PositiveInt
from sim.config.loader import LoadedScenario, apply_overrides, key_node_at, load_scenario, node_at, read_yaml, validate
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.rng import derive_seed
from sim.config.kpis import KPI_NAMES
from sim.units import parse_duration_s, parse_rate_per_s

MODEL_PREFIX = "model."
VARIANT_KEY = "variant"
MODEL_FILE_KEY = "model"
MAX_POINTS = 100_000


class Range(Frozen):
    """A numeric range: ``steps`` evenly spaced values in a grid, or uniform draws in a random
    sample. ``low``/``high`` may carry a unit (``100ms``, ``5/s``); values are then in seconds or
    per second."""

    low: float | str
    high: float | str
    steps: PositiveInt | None = Field(None, description="grid only: how many values from low to high")
    scale: Literal["linear", "log"] = "linear"
    integer: bool = Field(False, description="round every value to an integer")

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        low, high = self.bounds()
        if high < low:
            raise ValueError("high must be >= low")
        if self.scale == "log" and low <= 0:
            raise ValueError("a log scale needs low > 0")
        return self

    def bounds(self) -> tuple[float, float]:
        return _number(self.low), _number(self.high)

    def grid(self) -> list[float]:
        low, high = self.bounds()
        steps = self.steps or 1
        if steps == 1:
            values = [low]
        elif self.scale == "log":
            values = list(np.geomspace(low, high, steps))
        else:
            values = list(np.linspace(low, high, steps))
        return [self._finish(v) for v in values]

    def draw(self, rng: np.random.Generator) -> float:
        low, high = self.bounds()
        value = math.exp(rng.uniform(math.log(low), math.log(high))) if self.scale == "log" else rng.uniform(low, high)
        return self._finish(value)

    def _finish(self, value: float) -> float | int:
        return int(round(value)) if self.integer else float(f"{float(value):.6g}")


def _number(value: float | str) -> float:
    """A bound as a plain number: bare numbers as they are, ``250ms`` in seconds, ``5/s`` per second."""
    if isinstance(value, (int, float)):
        return float(value)
    for parse in (parse_duration_s, parse_rate_per_s):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError(f"{value!r} is neither a number, a duration (250ms) nor a rate (5/s)")


ParameterValues = Union[Range, list[Any]]


class SweepSpec(Frozen):
    """A sweep file."""

    name: str
    description: str = ""
    scenario: str = Field(description="scenario file, relative to this sweep file")
    seed: int | None = Field(None, ge=0, lt=2**63, description="master seed (default: the scenario's seed)")
    replications: PositiveInt = Field(3, le=10_000, description="seeds per point")
    sample: Literal["grid", "random"] = Field("grid", description="every combination, or random points")
    samples: PositiveInt | None = Field(None, le=MAX_POINTS, description="random only: how many points")
    fixed: dict[str, Any] = Field(default_factory=dict, description="key path → value applied at every point")
    parameters: dict[str, ParameterValues] = Field(min_length=1, description="key path → list of values, or a range")
    kpis: list[str] = Field(default_factory=lambda: list(KPI_NAMES), min_length=1,
                            description="KPIs the report plots, in order")

    @model_validator(mode="after")
    def _consistent(self) -> "SweepSpec":
        for key, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter {key!r} has no values")
            if self.sample == "grid" and isinstance(values, Range) and values.steps is None:
                raise ValueError(f"parameter {key!r}: a range in a grid sweep needs 'steps'")
        if self.sample == "random" and self.samples is None:
            raise ValueError("a random sweep needs 'samples' (how many points to draw)")
        unknown = [k for k in self.kpis if k not in KPI_NAMES]
        if unknown:
            raise ValueError(f"unknown KPI {unknown[0]!r}; known KPIs: {', '.join(KPI_NAMES)}")
        return self


@dataclass(frozen=True)
class Point:
    """One point of the sweep: the parameter values and the inputs a worker validates and runs."""

    index: int
    params: dict[str, Any]
    """Key path → value as written in the sweep file (or drawn)."""
    values: dict[str, Any]
    """Key path → the validated value (``250ms`` → 0.25), what tables and plots use."""
    scenario_data: dict
    model_data: dict
    model_path: str


@dataclass(frozen=True)
class LoadedSweep:
    spec: SweepSpec
    path: str
    base: LoadedScenario
    master_seed: int
    seeds: tuple[int, ...]
    """One seed per replication, the same at every point (common random numbers)."""
    points: tuple[Point, ...]

    @property
    def parameter_keys(self) -> list[str]:
        return list(self.spec.parameters)

    def unit(self, key: str) -> str:
        """The unit of a parameter's validated values: ``s``, ``/s`` or ``""``."""
        if key in (VARIANT_KEY, MODEL_FILE_KEY):
            return ""
        if key.startswith(MODEL_PREFIX):
            name = _field_name(SystemModel, key[len(MODEL_PREFIX):].split("."))
        else:
            name = _field_name(Scenario, key.split("."))
        return "/s" if name.endswith("_per_s") else "s" if name.endswith("_s") else ""

    def plan_digest(self) -> str:
        """Identifies what this sweep runs; a resumed sweep must have the same digest."""
        plan = {"seeds": list(self.seeds), "points": [[p.scenario_data, p.model_data] for p in self.points]}
        return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()


def replication_seed(master_seed: int, replication: int) -> int:
    """The seed of replication ``replication``: from the master seed and the index only."""
    return derive_seed(master_seed, f"sweep.replication.{replication}") % (2**63)


def load_sweep(path: str | Path) -> LoadedSweep:
    """Read a sweep file, check its key paths, and validate every point (fail before running)."""
    doc = read_yaml(path)
    spec = validate(SweepSpec, doc.data, doc)
    here = Path(path).parent
    scenario_path = here / spec.scenario
    if not scenario_path.is_file():
        raise _error(doc, ("scenario",), f"scenario file {spec.scenario!r} not found (looked at {scenario_path.as_posix()})",
                     "the path is relative to the sweep file")
    base = load_scenario(scenario_path)
    for where in ("fixed", "parameters"):
        for key in getattr(spec, where):
            _check_key_path(key, doc, (where, key), base)
    master = base.scenario.seed if spec.seed is None else spec.seed
    seeds = tuple(replication_seed(master, r) for r in range(spec.replications))
    combos = _combinations(spec, master, doc)
    raw_scenario = read_yaml(scenario_path).data
    points = tuple(_point(i, combo, spec, base, raw_scenario, here, doc) for i, combo in enumerate(combos))
    return LoadedSweep(spec, str(path), base, master, seeds, points)


def _combinations(spec: SweepSpec, master_seed: int, doc) -> list[dict[str, Any]]:
    keys = list(spec.parameters)
    if spec.sample == "grid":
        axes = [v.grid() if isinstance(v, Range) else list(v) for v in spec.parameters.values()]
        count = math.prod(len(a) for a in axes)
        if count > MAX_POINTS:
            raise _error(doc, ("parameters",), f"the grid has {count} points, more than {MAX_POINTS}",
                         "use fewer values, or sample: random with samples: N")
        return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]
    rng = np.random.default_rng(derive_seed(master_seed, "sweep.sample"))
    points = []
    for _ in range(spec.samples or 0):
        point = {}
        for key, values in spec.parameters.items():
            point[key] = values.draw(rng) if isinstance(values, Range) else values[int(rng.integers(len(values)))]
        points.append(point)
    return points


@dataclass(frozen=True)
class Resolved:
    """A scenario with settings applied: the raw mappings (what workers get) and the validated objects."""

    loaded: LoadedScenario
    scenario_data: dict
    model_data: dict


class SettingError(Exception):
    """A setting that cannot be applied (bad list index, unknown variant); ``key`` names it."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


def resolve_settings(base: LoadedScenario, raw_scenario: dict, settings: dict[str, Any], here: Path) -> Resolved:
    """Apply ``settings`` (key path → value, the sweep convention) to the scenario file's raw
    mapping and its model; validate both once. Raises SettingError, or pydantic's
    ValidationError for a value the schema rejects."""
    scenario_overrides = {k: v for k, v in settings.items()
                          if not k.startswith(MODEL_PREFIX) and k not in (VARIANT_KEY, MODEL_FILE_KEY)}
    model_overrides = {k[len(MODEL_PREFIX):]: v for k, v in settings.items() if k.startswith(MODEL_PREFIX)}
    scenario = base.scenario
    scenario_data = raw_scenario
    for key, value in scenario_overrides.items():
        try:
            scenario_data = set_paths(scenario_data, {key: value})
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SettingError(key, f"cannot set {key!r} in the scenario ({type(exc).__name__}: {exc})",
                               "a list index must name an item the scenario has (faults.0 is the first fault)") from None
    model_data, model_path = base.model_data, base.model_path
    if MODEL_FILE_KEY in settings:
        model_path = (here / str(settings[MODEL_FILE_KEY])).as_posix()
        model_doc = read_yaml(model_path)
        validate(SystemModel, model_doc.data, model_doc)
        model_data = model_doc.data
    model_data = apply_overrides(model_data, scenario.overrides, "overrides")
    if VARIANT_KEY in settings:
        variant = settings[VARIANT_KEY]
        if variant not in scenario.variants:
            known = ", ".join(scenario.variants) or "none defined"
            raise SettingError(VARIANT_KEY, f"unknown variant {variant!r}; variants of the scenario: {known}")
        model_data = apply_overrides(model_data, scenario.variants[variant], "variants")
    model_data = apply_overrides(model_data, model_overrides, "parameters")
    validated_scenario = Scenario.model_validate(scenario_data)
    validated_model = SystemModel.model_validate(model_data)
    loaded = LoadedScenario(validated_scenario, validated_model, base.scenario_path, model_path, model_data)
    return Resolved(loaded, scenario_data, model_data)


def setting_value(resolved: Resolved, key: str, written: Any) -> Any:
    """The validated value a key path took (``250ms`` → 0.25), plain enough for a table."""
    if key in (VARIANT_KEY, MODEL_FILE_KEY):
        return written
    if key.startswith(MODEL_PREFIX):
        return _plain(_attribute(resolved.loaded.model, key[len(MODEL_PREFIX):].split(".")))
    return _plain(_attribute(resolved.loaded.scenario, key.split(".")))


def _point(index: int, params: dict[str, Any], spec: SweepSpec, base: LoadedScenario, raw_scenario: dict,
           here: Path, doc) -> Point:
    settings = {**spec.fixed, **params}
    try:
        resolved = resolve_settings(base, raw_scenario, settings, here)
    except SettingError as exc:
        raise _error(doc, _where(spec, exc.key), exc.message, exc.hint, key_only=True) from None
    except ValidationError as exc:
        raise _value_error(exc, settings, spec, doc, params) from None
    values = {key: setting_value(resolved, key, value) for key, value in params.items()}
    return Point(index, dict(params), values, resolved.scenario_data, resolved.model_data, resolved.loaded.model_path)


def set_paths(data: dict, overrides: dict[str, Any]) -> dict:
    """A copy of ``data`` with each dotted path set; integer parts index lists (``faults.0.at``)."""
    result = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        cursor: Any = result
        for part in parts[:-1]:
            if isinstance(cursor, list):
                cursor = cursor[int(part)]
            else:
                cursor = cursor.setdefault(part, {})
        last = parts[-1]
        if isinstance(cursor, list):
            cursor[int(last)] = value
        else:
            cursor[last] = value
    return result


def _attribute(obj: Any, parts: list[str]) -> Any:
    """The validated value at a YAML key path (aliases resolved to attribute names)."""
    for part in parts:
        if isinstance(obj, BaseModel):
            name = next((n for n, f in type(obj).model_fields.items() if (f.alias or n) == part or n == part), part)
            obj = getattr(obj, name)
        elif isinstance(obj, (list, tuple)):
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj[part]
    return obj


def _field_name(root: Any, parts: list[str]) -> str:
    """The attribute name the last part of a key path resolves to (``psp_timeout`` → ``psp_timeout_s``)."""
    shapes, name = _shapes(root), parts[-1]
    for part in parts:
        next_shapes = []
        for kind, inner in shapes:
            if kind == "model":
                for field_name, field in inner.model_fields.items():
                    if part in (field.alias or field_name, field_name):
                        name = field_name
                        next_shapes.extend(_shapes(field.annotation))
            elif kind in ("dict", "list"):
                next_shapes.extend(_shapes(inner))
        shapes = next_shapes
    return name


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json", by_alias=True), sort_keys=True)
    return json.dumps(value, sort_keys=True, default=str)


# ---------------------------------------------------------------------------- key path checks

def _check_key_path(key: str, doc, loc: tuple, base: LoadedScenario) -> None:
    problem = key_path_problem(key, base)
    if problem is not None:
        raise _error(doc, loc, problem[0], problem[1], key_only=True)


def key_path_problem(key: str, base: LoadedScenario) -> tuple[str, str | None] | None:
    """None when ``key`` is a key path the schema has, else (what is wrong, what would be right)."""
    if key in (VARIANT_KEY, MODEL_FILE_KEY):
        if key == VARIANT_KEY and not base.scenario.variants:
            return "the scenario defines no variants to choose from", None
        return None
    if key.startswith(MODEL_PREFIX):
        root, parts, shown = SystemModel, key[len(MODEL_PREFIX):].split("."), "the model"
    else:
        root, parts, shown = Scenario, key.split("."), "the scenario"
    if parts[0] in ("model", "overrides", "variants", "name"):
        return (f"{key!r} cannot be set this way",
                "set model values with the 'model.' prefix (model.executor.psp_timeout), variants with "
                "'variant', the model file with 'model'")
    problem = _walk(root, parts)
    if problem is None:
        return None
    depth, options = problem
    bad = parts[depth]
    close = difflib.get_close_matches(bad, options, n=1, cutoff=0.6)
    prefix = MODEL_PREFIX if key.startswith(MODEL_PREFIX) else ""
    hint = f"did you mean {prefix + '.'.join(parts[:depth] + [close[0]])!r}?" if close else (
        f"keys there: {', '.join(options)}" if options else None)
    where = prefix + ".".join(parts[:depth]) if depth else ("the top level of " + shown)
    message = f"unknown key path {key!r}: {where} has no key {bad!r}" if options else (
        f"unknown key path {key!r}: {where} is a value, not a mapping")
    if not key.startswith(MODEL_PREFIX) and depth == 0 and bad in SystemModel.model_fields:
        hint = f"model values take the 'model.' prefix: {MODEL_PREFIX + key!r}"
    return message, hint


def _walk(annotation: Any, parts: list[str], depth: int = 0) -> tuple[int, list[str]] | None:
    """None when ``parts`` is a valid path under ``annotation``, else (bad depth, keys there)."""
    if not parts:
        return None
    part = parts[0]
    options: list[str] = []
    worst: tuple[int, list[str]] | None = None
    for kind, inner in _shapes(annotation):
        if kind == "any":
            return None
        if kind == "model":
            for name, field in inner.model_fields.items():
                alias = field.alias or name
                options.append(alias)
                if part in (alias, name):
                    problem = _walk(field.annotation, parts[1:], depth + 1)
                    if problem is None:
                        return None
                    worst = problem if worst is None or problem[0] > worst[0] else worst
        elif kind == "dict":
            problem = _walk(inner, parts[1:], depth + 1)
            if problem is None:
                return None
            worst = problem if worst is None or problem[0] > worst[0] else worst
        elif kind == "list" and part.isdigit():
            problem = _walk(inner, parts[1:], depth + 1)
            if problem is None:
                return None
            worst = problem if worst is None or problem[0] > worst[0] else worst
    if worst is not None:
        return worst
    return depth, sorted(set(options))


def _shapes(annotation: Any) -> list[tuple[str, Any]]:
    """What a value of ``annotation`` can be: models, dicts, lists (with their item type), any."""
    if annotation is Any:
        return [("any", None)]
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("model", annotation)]
    if origin is dict:
        args = get_args(annotation)
        return [("dict", args[1] if len(args) == 2 else Any)]
    if origin in (list, tuple):
        args = get_args(annotation)
        return [("list", args[0] if args else Any)]
    shapes = []
    for arg in get_args(annotation):  # Union, Optional, Annotated
        shapes.extend(_shapes(arg))
    return shapes


# ---------------------------------------------------------------------------- errors

def _where(spec: SweepSpec, key: str) -> tuple:
    return ("parameters", key) if key in spec.parameters else ("fixed", key)


def _error(doc, loc: tuple, message: str, hint: str | None = None, key_only: bool = False) -> ConfigError:
    node = key_node_at(doc.root, loc) if key_only else node_at(doc.root, loc)
    return ConfigError(message, file=doc.path, line=node.start_mark.line + 1 if node is not None else None,
                       key=".".join(map(str, loc)), hint=hint)


def _value_error(exc: ValidationError, settings: dict, spec: SweepSpec, doc, params: dict) -> ConfigError:
    """A point's scenario or model did not validate: point at the parameter that set the value."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"] if not str(p).startswith(("function-", "tagged-union["))]
    dotted = ".".join(loc)
    model_error = exc.title == SystemModel.__name__
    candidates = [k for k in settings if (k[len(MODEL_PREFIX):] if k.startswith(MODEL_PREFIX) else k) and (
        k.startswith(MODEL_PREFIX) == model_error)]
    match = next((k for k in candidates if _overlaps(k[len(MODEL_PREFIX):] if model_error else k, dotted)), None)
    message = first["msg"].removeprefix("Value error, ")
    point = ", ".join(f"{k}={v}" for k, v in params.items())
    shown = (MODEL_PREFIX if model_error else "") + dotted
    if match is None:
        return ConfigError(f"at point ({point}): {shown}: {message}", file=doc.path)
    loc = _where(spec, match)
    written = spec.parameters.get(match)
    if isinstance(written, list) and settings[match] in written:
        loc = loc + (written.index(settings[match]),)
    return _error(doc, loc, f"value {settings[match]!r} is not valid for {shown}: {message}", f"at point ({point})")


def _overlaps(path: str, dotted: str) -> bool:
    return dotted == path or dotted.startswith(path + ".") or path.startswith(dotted + ".")
