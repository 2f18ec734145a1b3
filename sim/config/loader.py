"""Load scenario and model files: safe YAML, one schema, errors that say file:line, key, fix.

Nothing in a file is evaluated as code (``yaml.SafeLoader`` only). Validation errors from pydantic
are mapped back to the YAML node they came from, so the user sees the line and column.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.faults.targets import check_targets

T = TypeVar("T", bound=BaseModel)
MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True)
class YamlDocument:
    path: str
    data: Any
    root: yaml.Node | None


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with its model resolved (overrides applied), ready to run."""

    scenario: Scenario
    model: SystemModel
    scenario_path: str
    model_path: str
    model_data: dict
    """The model file's mapping before overrides (variants apply theirs on top)."""


def read_yaml(path: str | Path) -> YamlDocument:
    """Parse ``path`` safely, keeping the node tree for line numbers."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", file=path) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"YAML syntax error: {problem}",
            file=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="check indentation, colons and quotes around this point",
        ) from None
    return YamlDocument(path, data, root)


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


def _vocabulary(model: type[BaseModel], seen: set | None = None) -> set[str]:
    """Every key name the schema under ``model`` accepts (for did-you-mean)."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    words: set[str] = set()
    for name, field in model.model_fields.items():
        words.add(field.alias or name)
        for candidate in _classes_in(field.annotation):
            words |= _vocabulary(candidate, seen)
    return words


def _classes_in(annotation: Any) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_classes_in(arg))
    metadata = getattr(annotation, "__metadata__", ())
    if metadata:
        found.extend(_classes_in(getattr(annotation, "__origin__", None)))
    return found


def _describe(error: dict, vocabulary: set[str]) -> tuple[str, str | None]:
    kind = error["type"]
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    hint = None
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        message = f"unknown key {key!r}"
        close = difflib.get_close_matches(key, sorted(vocabulary), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "remove it, or check the spelling against `paychaos schema`"
    elif kind == "missing":
        message = "required key is missing"
    elif kind in ("literal_error", "enum"):
        given = error.get("input")
        expected = error.get("ctx", {}).get("expected", "")
        options = [part.strip(" '\"") for part in expected.replace(" or ", ",").split(",") if part.strip()]
        close = difflib.get_close_matches(str(given), options, n=1, cutoff=0.5)
        message = f"{given!r} is not allowed; expected {expected}"
        if close:
            hint = f"did you mean {close[0]!r}?"
    elif kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        given, expected = ctx.get("tag"), ctx.get("expected_tags", "")
        options = [part.strip(" '\"") for part in str(expected).split(",")]
        close = difflib.get_close_matches(str(given), options, n=1, cutoff=0.5)
        message = f"{given!r} is not a known kind; known kinds: {expected}"
        if close:
            hint = f"did you mean {close[0]!r}?"
    elif kind == "union_tag_not_found":
        message = f"needs a '{error.get('ctx', {}).get('discriminator', 'kind').strip(chr(39))}' key"
    return message, hint


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's union-member tags (e.g. 'psp_outage') that are not YAML keys."""
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith(("function-", "tagged-union["))))


def validate(model: type[T], data: Any, doc: YamlDocument, prefix: tuple = ()) -> T:
    """Validate ``data`` as ``model``; on failure raise a ConfigError pointing into ``doc``."""
    if not isinstance(data, dict):
        node = node_at(doc.root, prefix)
        raise ConfigError(
            f"expected a mapping of keys to values, got {type(data).__name__}",
            file=doc.path, line=node.start_mark.line + 1 if node else None,
            key=".".join(map(str, prefix)) or None,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, model, doc, prefix) from None


def _config_error(exc: ValidationError, model: type[BaseModel], doc: YamlDocument, prefix: tuple) -> ConfigError:
    vocabulary = _vocabulary(model)
    errors = exc.errors()
    parts = []
    first = None
    for error in errors[:MAX_REPORTED_ERRORS]:
        loc = prefix + _clean_loc(error["loc"])
        node = key_node_at(doc.root, loc) if error["type"] == "extra_forbidden" else node_at(doc.root, loc)
        line = node.start_mark.line + 1 if node is not None else None
        column = node.start_mark.column + 1 if node is not None else None
        message, hint = _describe(error, vocabulary)
        key = ".".join(str(p) for p in loc) or None
        if first is None:
            first = (line, column, key, message, hint)
        else:
            parts.append(f"line {line}: {key}: {message}" + (f" ({hint})" if hint else ""))
    line, column, key, message, hint = first
    if parts:
        more = len(errors) - MAX_REPORTED_ERRORS
        message += "; also " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return ConfigError(message, file=doc.path, line=line, column=column, key=key, hint=hint)


def apply_overrides(data: dict, overrides: dict[str, Any], where: str) -> dict:
    """A copy of ``data`` with each dotted key path in ``overrides`` set to its value."""
    result = _deep_copy(data)
    for dotted, value in overrides.items():
        cursor = result
        parts = str(dotted).split(".")
        for part in parts[:-1]:
            child = cursor.get(part)
            if child is None:
                child = cursor[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"cannot override inside {part!r}: it is not a mapping", key=f"{where}.{dotted}")
            cursor = child
        cursor[parts[-1]] = _deep_copy(value)
    return result


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def load_model(path: str | Path, overrides: dict[str, Any] | None = None, where: str = "overrides") -> SystemModel:
    doc = read_yaml(path)
    data = doc.data
    if overrides:
        if not isinstance(data, dict):
            validate(SystemModel, data, doc)
        data = apply_overrides(data, overrides, where)
    return validate(SystemModel, data, doc)


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file and the model it names."""
    doc = read_yaml(path)
    scenario = validate(Scenario, doc.data, doc)
    model_path = Path(path).parent / scenario.model
    if not model_path.is_file():
        node = node_at(doc.root, ("model",))
        raise ConfigError(
            f"model file {scenario.model!r} not found (looked at {model_path.as_posix()})",
            file=doc.path, line=node.start_mark.line + 1 if node else None, key="model",
            hint="the path is relative to the scenario file, e.g. ../models/async-kafka.yaml",
        )
    model_doc = read_yaml(model_path)
    model_data = model_doc.data if isinstance(model_doc.data, dict) else {}
    validate(SystemModel, model_doc.data, model_doc)
    model = resolve_model(model_data, scenario.overrides, doc, ("overrides",))
    check_targets(scenario, model, doc)
    for name, variant in scenario.variants.items():
        variant_resolved = resolve_model(
            apply_overrides(model_data, scenario.overrides, "overrides"), variant, doc, ("variants", name)
        )
        check_targets(scenario, variant_resolved, doc, where=f" (under variant {name!r})")
    return LoadedScenario(scenario, model, str(path), model_path.as_posix(), model_data)


def resolve_model(model_data: dict, overrides: dict[str, Any], doc: YamlDocument, where: tuple) -> SystemModel:
    """The model with ``overrides`` applied; errors point at the overriding lines in ``doc``."""
    data = apply_overrides(model_data, overrides, ".".join(map(str, where)))
    try:
        return SystemModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _clean_loc(first["loc"])
        dotted = ".".join(map(str, loc))
        match = next((k for k in overrides if dotted.startswith(str(k)) or str(k).startswith(dotted)), None)
        node = node_at(doc.root, where + ((match,) if match else ()))
        message, hint = _describe(first, _vocabulary(SystemModel))
        return_error = ConfigError(
            message, file=doc.path, line=node.start_mark.line + 1 if node else None,
            key=".".join(map(str, where)) + f".{dotted}", hint=hint,
        )
        raise return_error from None


def variant_model(loaded: LoadedScenario, variant: str | None) -> SystemModel:
    """The model for ``variant`` (None = the scenario's own overrides only)."""
    if variant is None:
        return loaded.model
    if variant not in loaded.scenario.variants:
        known = ", ".join(loaded.scenario.variants) or "none defined"
        raise ConfigError(f"unknown variant {variant!r}; variants in this scenario: {known}", file=loaded.scenario_path)
    base = apply_overrides(loaded.model_data, loaded.scenario.overrides, "overrides")
    return SystemModel.model_validate(apply_overrides(base, loaded.scenario.variants[variant], "variants"))
