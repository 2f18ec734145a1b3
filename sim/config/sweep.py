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

import difflib
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Literal, Union

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from sim.config.base import Frozen, PositiveInt
from sim.config.files import UnreadableFile
from sim.config.keypaths import field_name, path_problem, set_paths, split, value_at
from sim.config.loader import (
    LoadedScenario, config_error, key_node_at, load_scenario, node_at, read_yaml, setting_to_blame, validate,
)
from sim.config.workload_fit import closed_population_problem
from sim.config.yaml_reader import YamlDocument
from sim.config.messages import did_you_mean
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.errors import ConfigError, SettingError
from sim.rng import derive_seed
from sim.config.kpis import HEADLINE_KPIS, KPI_NAMES
from sim.units import parse_duration_s, parse_rate_per_s

MODEL_PREFIX = "model."
VARIANT_KEY = "variant"
MODEL_FILE_KEY = "model"
MAX_POINTS = 100_000
MAX_RUNS = 50_000
"""Most runs (points × replications) one sweep may ask for; each point is also validated up front."""


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
    kpis: list[str] = Field(default_factory=lambda: list(HEADLINE_KPIS), min_length=1,
                            description="KPIs the report plots and tabulates, in order (default: the headline KPIs "
                                        "of a comparison; runs.csv and points.csv carry every KPI)")

    @model_validator(mode="after")
    def _consistent(self) -> "SweepSpec":
        for key, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter {key!r} has no values")
            if self.sample == "grid" and isinstance(values, Range) and values.steps is None:
                raise ValueError(f"parameter {key!r}: a range in a grid sweep needs 'steps'")
        if self.sample == "random" and self.samples is None:
            raise ValueError("a random sweep needs 'samples' (how many points to draw)")
        unknown = [i for i, k in enumerate(self.kpis) if k not in KPI_NAMES]
        if unknown:
            name = self.kpis[unknown[0]]
            hint = did_you_mean(name, KPI_NAMES)
            raise PydanticCustomError("unknown_kpi", "unknown KPI {name}; {hint}known KPIs: {known}",
                                      {"at": f"kpis.{unknown[0]}", "name": repr(name),
                                       "hint": f"{hint} " if hint else "", "known": ", ".join(KPI_NAMES)})
        points = self.point_count()
        if points * self.replications > MAX_RUNS:
            raise PydanticCustomError(
                "too_large", "{points} points × {replications} replications = {runs} runs, more than {limit}: use "
                "fewer points or replications", {"at": "replications", "points": str(points),
                                                 "replications": str(self.replications),
                                                 "runs": str(points * self.replications), "limit": str(MAX_RUNS)})
        return self

    def point_count(self) -> int:
        """How many points the sweep has: the grid's size, or ``samples``."""
        if self.sample == "random":
            return self.samples or 0
        return math.prod(len(v) if isinstance(v, list) else (v.steps or 1) for v in self.parameters.values())


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
            name = field_name(SystemModel, split(key[len(MODEL_PREFIX):]))
        else:
            name = field_name(Scenario, split(key))
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
    try:
        base = load_scenario(scenario_path)
    except UnreadableFile as exc:
        raise _error(doc, ("scenario",), f"scenario file {spec.scenario!r} {exc.reason} (looked at "
                     f"{scenario_path.as_posix()})", exc.hint or "the path is relative to the sweep file") from None
    except ConfigError as exc:
        raise _error(doc, ("scenario",), f"scenario file {spec.scenario!r} is not valid: {exc}") from None
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


@dataclass(frozen=True)
class SettingsSource:
    """Where settings were written, so their errors point there: a file and, for a sweep file, its
    YAML document and where each setting sits in it."""

    file: str
    doc: YamlDocument | None = None
    locate: Callable[[str], tuple] | None = None
    """A setting's key → its location in ``doc``: the key, then (for a list of values) the item."""
    note: str | None = None
    """Said after every error's hint (a sweep's point)."""

    def setting_error(self, exc: SettingError) -> ConfigError:
        """A setting that could not be applied, placed at its key."""
        if self.doc is None or self.locate is None:
            return ConfigError(exc.message, file=self.file, key=exc.key, hint=exc.hint)
        loc = self.locate(exc.key)[:2]
        node = key_node_at(self.doc.root, loc)
        return ConfigError(exc.message, file=self.file, line=node.start_mark.line + 1 if node is not None else None,
                           key=".".join(map(str, loc)), hint=exc.hint)

    def workload_error(self, key: str, problem: str, settings: dict[str, Any]) -> ConfigError:
        """The workload does not fit the clients (``sim.config.workload_fit``), placed at the setting
        that made it so, the closest first: the workload key, the workload, the duration (for a size),
        the closed population, the clients, the variant, the model file; else at ``workload.KEY``."""
        clients = sorted((k for k in settings if k == "model.client" or k.startswith("model.client.")),
                         key=lambda k: not k.startswith("model.client.closed_population"))
        order = [f"workload.{key}", "workload", *(["duration"] if key == "max_checkouts" else []), *clients,
                 VARIANT_KEY, MODEL_FILE_KEY]
        blamed = next((k for k in order if k in settings), None)
        if blamed is None or self.doc is None or self.locate is None:
            return ConfigError(problem, file=self.file, key=f"workload.{key}", hint=self.note)
        loc = self.locate(blamed)
        node = node_at(self.doc.root, loc) or key_node_at(self.doc.root, loc[:2])
        return ConfigError(f"workload.{key}: {problem}", file=self.file,
                           line=node.start_mark.line + 1 if node is not None else None,
                           column=node.start_mark.column + 1 if node is not None else None,
                           key=".".join(map(str, loc[:2])), hint=self.note)

    def validation_error(self, exc: ValidationError, model: type[BaseModel], data: dict,
                         settings: dict[str, Any], key_prefix: str) -> ConfigError:
        """A value the schema rejects, at the setting that wrote it (the one translation of the loader)."""
        blamed = setting_to_blame(exc, data, [k[len(key_prefix):] for k in settings if k.startswith(key_prefix)])
        anchor = self.locate(key_prefix + blamed) if blamed is not None and self.locate is not None else None
        shown = f"{anchor[0]}.{key_prefix}" if anchor else key_prefix  # parameters.model.executor.psp_timeout
        return config_error(exc, model, self.doc, data, anchor=anchor, key_prefix=shown, file=self.file,
                            note=self.note)


def resolve_settings(base: LoadedScenario, raw_scenario: dict, settings: dict[str, Any], here: Path,
                     source: SettingsSource | None = None) -> Resolved:
    """Apply ``settings`` (key path → value, the sweep convention) to the scenario file's raw
    mapping and its model; validate both once. Raises ConfigError placed in ``source`` (by default
    the scenario file)."""
    source = source or SettingsSource(base.scenario_path)
    scenario_settings = {k: v for k, v in settings.items()
                         if not k.startswith(MODEL_PREFIX) and k not in (VARIANT_KEY, MODEL_FILE_KEY)}
    model_settings = {k[len(MODEL_PREFIX):]: v for k, v in settings.items() if k.startswith(MODEL_PREFIX)}
    scenario = base.scenario
    try:
        scenario_data = set_paths(raw_scenario, scenario_settings)
        model_data, model_path = base.model_data, base.model_path
        if MODEL_FILE_KEY in settings:
            model_path = (here / str(settings[MODEL_FILE_KEY])).as_posix()
            model_doc = read_yaml(model_path)
            validate(SystemModel, model_doc.data, model_doc)
            model_data = model_doc.data
        model_data = set_paths(model_data, scenario.overrides, "overrides.")
        if VARIANT_KEY in settings:
            variant = settings[VARIANT_KEY]
            if variant not in scenario.variants:
                known = ", ".join(scenario.variants) or "none defined"
                raise SettingError(VARIANT_KEY, f"unknown variant {variant!r}; variants of the scenario: {known}",
                                   did_you_mean(variant, list(scenario.variants)))
            model_data = set_paths(model_data, scenario.variants[variant], f"variants.{variant}.")
        model_data = set_paths(model_data, model_settings, MODEL_PREFIX)
    except SettingError as exc:
        raise source.setting_error(exc) from None
    try:
        validated_scenario = Scenario.model_validate(scenario_data)
    except ValidationError as exc:
        raise source.validation_error(exc, Scenario, scenario_data, scenario_settings, "") from None
    try:
        validated_model = SystemModel.model_validate(model_data)
    except ValidationError as exc:
        raise source.validation_error(exc, SystemModel, model_data, settings, MODEL_PREFIX) from None
    fit = closed_population_problem(validated_scenario, validated_model, Path(model_path).parent)
    if fit is not None:  # what ``paychaos run`` refuses at load, refused here before anything runs
        raise source.workload_error(*fit, settings)
    loaded = LoadedScenario(validated_scenario, validated_model, base.scenario_path, model_path, model_data)
    return Resolved(loaded, scenario_data, model_data)


def setting_value(resolved: Resolved, key: str, written: Any) -> Any:
    """The validated value a key path took (``250ms`` → 0.25), plain enough for a table."""
    if key in (VARIANT_KEY, MODEL_FILE_KEY):
        return written
    if key.startswith(MODEL_PREFIX):
        return _plain(value_at(resolved.loaded.model, split(key[len(MODEL_PREFIX):])))
    return _plain(value_at(resolved.loaded.scenario, split(key)))


def _point(index: int, params: dict[str, Any], spec: SweepSpec, base: LoadedScenario, raw_scenario: dict,
           here: Path, doc: YamlDocument) -> Point:
    settings = {**spec.fixed, **params}

    def locate(key: str) -> tuple:
        """Where ``key`` is set in the sweep file; for a list of values, this point's item."""
        loc = _where(spec, key)
        written = spec.parameters.get(key)
        if isinstance(written, list):  # the item itself: 1 == True, so equal values of another type are not it
            value = settings[key]
            loc += tuple(i for i, v in enumerate(written) if type(v) is type(value) and v == value)[:1]
        return loc

    point = ", ".join(f"{k}={v}" for k, v in params.items())
    source = SettingsSource(doc.path, doc, locate, note=f"at point ({point})")
    resolved = resolve_settings(base, raw_scenario, settings, here, source)
    values = {key: setting_value(resolved, key, value) for key, value in params.items()}
    return Point(index, dict(params), values, resolved.scenario_data, resolved.model_data, resolved.loaded.model_path)


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
        root, parts, shown = SystemModel, split(key[len(MODEL_PREFIX):]), "the model"
    else:
        root, parts, shown = Scenario, split(key), "the scenario"
    if parts[0] in ("model", "overrides", "variants", "name"):
        return (f"{key!r} cannot be set this way",
                "set model values with the 'model.' prefix (model.executor.psp_timeout), variants with "
                "'variant', the model file with 'model'")
    problem = path_problem(root, parts)
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


# ---------------------------------------------------------------------------- errors

def _where(spec: SweepSpec, key: str) -> tuple:
    return ("parameters", key) if key in spec.parameters else ("fixed", key)


def _error(doc, loc: tuple, message: str, hint: str | None = None, key_only: bool = False) -> ConfigError:
    node = key_node_at(doc.root, loc) if key_only else node_at(doc.root, loc)
    return ConfigError(message, file=doc.path, line=node.start_mark.line + 1 if node is not None else None,
                       key=".".join(map(str, loc)), hint=hint)
