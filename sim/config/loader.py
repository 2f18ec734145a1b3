"""Load scenario and model files: safe YAML, one schema, errors that say file:line, key, fix.

Nothing in a file is evaluated as code, and reading is bounded (``sim.config.yaml_reader``).
Validation errors from pydantic are mapped back to the YAML node they came from, so the user sees
the line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sim.config.keypaths import overlapping, set_paths
from sim.config.messages import describe, did_you_mean, valid_fields, vocabulary
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.config.currencies import check_fx
from sim.config.fault_targets import check_targets
from sim.config.workload_fit import check_workload_fits
from sim.config.graph import graph_problems
from sim.config.yaml_reader import UnreadableFile, YamlDocument, read_yaml
from sim.errors import ConfigError, SettingError

T = TypeVar("T", bound=BaseModel)
MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with its model resolved (overrides applied), ready to run."""

    scenario: Scenario
    model: SystemModel
    scenario_path: str
    model_path: str
    model_data: dict
    """The model file's mapping before overrides (variants apply theirs on top)."""


def node_at(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """The deepest YAML node along the key path ``loc`` (for its line number)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    node = value_node
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def key_node_at(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """The node of the last key in ``loc`` itself (for unknown-key errors)."""
    parent = node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key_node, _ in parent.value:
            if key_node.value == str(loc[-1]):
                return key_node
    return parent


def clean_loc(loc: tuple, data: Any) -> tuple:
    """``loc`` without pydantic's union tags (``psp_outage``, ``function-after[...]``), which are not
    YAML keys: every part but the last must index into ``data``; a part that does not is a tag."""
    kept: list = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif last and not (isinstance(part, str) and part.startswith(("function-", "tagged-union["))):
            if not (isinstance(current, dict) and part in current.values()):  # a union tag ('empirical')
                kept.append(part)
    return tuple(kept)


def key_path(loc: tuple) -> str:
    """``('faults', 0, 'at')`` → ``faults[0].at``; a key that is not a plain name (a space, a
    newline, a dot) shows quoted, ``workload['a b']``, so an error stays one readable line."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _plain_key(str(part)):
            text += f"[{str(part)!r}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _plain_key(key: str) -> bool:
    return bool(key) and key.isprintable() and not any(c.isspace() or c in ".[]" for c in key)


def _position(node: yaml.Node | None) -> tuple[int | None, int | None]:
    if node is None:
        return None, None
    return node.start_mark.line + 1, node.start_mark.column + 1


def _error_loc(error: dict, data: Any, prefix: tuple) -> tuple:
    """Where an error sits in the document; a validator may point at a key with ctx ``at``."""
    loc = prefix + clean_loc(tuple(error["loc"]), _at(data, prefix))
    if error["type"] == "union_tag_invalid":
        loc += (str((error.get("ctx") or {}).get("discriminator", "kind")).strip("'"),)
    extra = (error.get("ctx") or {}).get("at")
    if extra:
        loc += tuple(int(p) if p.isdigit() else p for p in str(extra).split("."))
    return loc


def _at(data: Any, prefix: tuple) -> Any:
    for part in prefix:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def validate(model: type[T], data: Any, doc: YamlDocument, prefix: tuple = (), base_dir: Path | None = None) -> T:
    """Validate ``data`` as ``model``; on failure raise a ConfigError pointing into ``doc``.

    ``base_dir`` is where relative paths in the document (empirical CSVs) are resolved."""
    if not isinstance(data, dict):
        line, column = _position(node_at(doc.root, prefix))
        got = "an empty file" if data is None and not prefix else f"{type(data).__name__} {data!r}"[:80]
        raise ConfigError(
            f"expected a mapping of keys to values, got {got}", file=doc.path, line=line or 1, column=column,
            key=key_path(prefix) or None, hint="a scenario or model file is a mapping that starts with 'name: ...'",
        )
    try:
        return model.model_validate(data, context=_context(base_dir or Path(doc.path).parent))
    except ValidationError as exc:
        raise config_error(exc, model, doc, doc.data, prefix) from None


def _context(base_dir: Path) -> dict:
    return {"base_dir": base_dir}


def config_error(exc: ValidationError, model: type[BaseModel], doc: YamlDocument | None, data: Any,
                 prefix: tuple = (), anchor: tuple | None = None, key_prefix: str = "", file: str | None = None,
                 note: str | None = None) -> ConfigError:
    """The one translation of pydantic's errors: one paragraph naming every problem (up to a few),
    each with file:line:column, key path, what is wrong and what would be right.

    ``data`` is what was validated; ``prefix`` where it sits in ``doc``. ``anchor`` (for settings
    such as overrides) points every line at that node of ``doc`` instead of the key path; without a
    ``doc`` (settings given in Python) only ``file`` is named. ``note`` ends the first hint."""
    words = vocabulary(model)
    errors = exc.errors()
    root = doc.root if doc is not None else None
    found = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        loc = _error_loc(error, data, prefix)
        if anchor is not None:
            node = node_at(root, anchor)
        elif error["type"] == "extra_forbidden":
            node = key_node_at(root, loc)
        else:
            node = node_at(root, loc)
        message, hint = describe(error, words)
        if error["type"] == "extra_forbidden" and hint and hint.startswith("remove"):
            fields = valid_fields(model, loc[len(prefix):-1]) if anchor is None else []
            if fields:
                hint = "valid keys here: " + ", ".join(fields)
        found.append((*_position(node), key_prefix + key_path(loc), message, hint))
    line, column, key, message, hint = found[0]
    if note:
        hint = f"{hint}; {note}" if hint else note
    also = [
        (f"line {l}" + (f":{c}" if c else "") + " " if l else "") + f"{k}: {m}" + (f" ({h})" if h else "")
        for l, c, k, m, h in found[1:]
    ]
    if len(errors) > MAX_REPORTED_ERRORS:
        also.append(f"and {len(errors) - MAX_REPORTED_ERRORS} more")
    return ConfigError(message, file=file or (doc.path if doc is not None else None), line=line, column=column,
                       key=key or None, hint=hint, also=also)


def setting_to_blame(exc: ValidationError, data: Any, keys: Iterable[str]) -> str | None:
    """Which of the settings ``keys`` (dotted paths) set the value of ``exc``'s first error."""
    return overlapping(keys, clean_loc(tuple(exc.errors()[0]["loc"]), data))


def load_model(path: str | Path, overrides: dict[str, Any] | None = None, where: str = "overrides") -> SystemModel:
    """Read and validate a model file (with optional dotted-path overrides) and its system graph."""
    doc = read_yaml(path)
    model = validate(SystemModel, doc.data, doc)
    if overrides:
        model = validate(SystemModel, set_paths(doc.data, overrides, f"{where}."), doc)
    check_model_graph(model, doc)
    return model


def check_model_graph(model: SystemModel, doc: YamlDocument, where: tuple = ()) -> None:
    """Raise a ConfigError if the model's system graph is broken (see ``sim.config.graph``)."""
    problems = graph_problems(model)
    if problems:
        first = problems[0]
        line, column = _position(node_at(doc.root, where + first.loc) if first.loc or where else None)
        raise ConfigError(
            f"the system graph is broken: {first.message}", file=doc.path, line=line, column=column,
            key=key_path(where + first.loc) or None, hint=first.hint, also=[p.message for p in problems[1:]],
        )


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file, the model it names, its overrides and every variant."""
    doc = read_yaml(path)
    scenario = validate(Scenario, doc.data, doc)
    model_path = Path(path).parent / scenario.model
    try:
        model_doc = read_yaml(model_path)
    except UnreadableFile as exc:
        line, column = _position(node_at(doc.root, ("model",)))
        raise ConfigError(
            f"model file {scenario.model!r} {exc.reason} (looked at {model_path.as_posix()})",
            file=doc.path, line=line, column=column, key="model",
            hint=exc.hint or "the path is relative to the scenario file, e.g. ../models/async-kafka.yaml",
        ) from None
    check_model_graph(validate(SystemModel, model_doc.data, model_doc), model_doc)
    model_data = model_doc.data
    base_dir = model_path.parent
    model = resolve_model(model_data, scenario.overrides, doc, ("overrides",), base_dir)
    check_targets(scenario, model, doc)
    check_workload_fits(scenario, model, doc, base_dir=base_dir)
    check_fx(scenario, model, doc)
    with_overrides = set_paths(model_data, scenario.overrides, "overrides.")
    for name, variant in scenario.variants.items():
        variant_resolved = resolve_model(with_overrides, variant, doc, ("variants", name), base_dir)
        check_targets(scenario, variant_resolved, doc, where=f" (in variant {name!r})")
        check_workload_fits(scenario, variant_resolved, doc, where=f" (in variant {name!r})", base_dir=base_dir)
        check_fx(scenario, variant_resolved, doc, where=f" (in variant {name!r})")
    return LoadedScenario(scenario, model, str(path), model_path.as_posix(), model_data)


def resolve_model(model_data: dict, overrides: dict[str, Any], doc: YamlDocument, where: tuple,
                  base_dir: Path | None = None) -> SystemModel:
    """The model with ``overrides`` applied; errors point at the overriding lines in ``doc``."""
    try:
        data = set_paths(model_data, overrides, key_path(where) + ".")
    except SettingError as exc:
        line, column = _position(node_at(doc.root, where))
        raise ConfigError(exc.message, file=doc.path, line=line, column=column, key=exc.key, hint=exc.hint) from None
    try:
        model = SystemModel.model_validate(data, context=_context(base_dir or Path(doc.path).parent))
    except ValidationError as exc:
        match = setting_to_blame(exc, data, overrides)
        anchor = where + ((match,) if match is not None else ())
        raise config_error(exc, SystemModel, doc, data, prefix=(), anchor=anchor,
                           key_prefix=key_path(where) + ".") from None
    check_model_graph(model, doc, where)
    return model


def variant_model(loaded: LoadedScenario, variant: str | None) -> SystemModel:
    """The model for ``variant`` (None = the scenario's own overrides only)."""
    if variant is None:
        return loaded.model
    if variant not in loaded.scenario.variants:
        known = ", ".join(loaded.scenario.variants) or "none defined"
        raise ConfigError(f"unknown variant {variant!r}; variants in this scenario: {known}", file=loaded.scenario_path,
                          hint=did_you_mean(variant, list(loaded.scenario.variants)))
    base = set_paths(loaded.model_data, loaded.scenario.overrides, "overrides.")
    data = set_paths(base, loaded.scenario.variants[variant], f"variants.{variant}.")
    return SystemModel.model_validate(data, context=_context(Path(loaded.model_path).parent))


def resolved_config(loaded: LoadedScenario, variant: str | None = None) -> dict:
    """The full configuration of a run, defaults filled in, as echoed into every result."""
    return {
        "scenario": loaded.scenario.model_dump(mode="json", by_alias=True),
        "model": variant_model(loaded, variant).model_dump(mode="json", by_alias=True),
    }


def file_kind(path: str | Path) -> str:
    """``"scenario"`` if the file names a model (has a ``model`` key), else ``"model"``."""
    data = read_yaml(path).data
    return "scenario" if isinstance(data, dict) and "model" in data else "model"
