"""Dotted key paths into configuration: the one way to set a value by path, and to check a path
against the schema.

``executor.psp_timeout`` names a key of a mapping inside a mapping; an integer part indexes a list
(``faults.0.at`` is the first fault's ``at``). Used by a scenario's ``overrides`` and ``variants``,
by sweep files' ``fixed`` and ``parameters``, and by the Python API's settings.

Setting rules: the data is copied first (without sharing: a value written once under an anchor and
reused by an alias is copied to each place, so setting one place never changes the other); a
missing or null mapping on the way is created; a list index must name an item the list has; a
path through a plain value is an error (``SettingError`` naming the path).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, get_args, get_origin

from pydantic import BaseModel

from sim.errors import SettingError


def split(path: str) -> list[str]:
    """``"faults.0.at"`` → ``["faults", "0", "at"]``."""
    return str(path).split(".")


def set_paths(data: dict, settings: Mapping[str, Any], where: str = "") -> dict:
    """A copy of ``data`` with each dotted path of ``settings`` set to its value (copied too).

    ``where`` prefixes the key a SettingError names (``"overrides."``, ``"model."``)."""
    result = copy_tree(data)
    for dotted, value in settings.items():
        parts = split(dotted)
        cursor: Any = result
        for depth, part in enumerate(parts[:-1]):
            cursor = _child(cursor, part, str(dotted), parts[:depth], where)
        if isinstance(cursor, list):
            cursor[_index(parts[-1], cursor, str(dotted), parts[:-1], where)] = copy_tree(value)
        else:
            cursor[parts[-1]] = copy_tree(value)
    return result


def _child(cursor: dict | list, part: str, dotted: str, before: list[str], where: str) -> dict | list:
    """The mapping or list at ``part`` of ``cursor`` (a missing or null mapping is created)."""
    if isinstance(cursor, list):
        child = cursor[_index(part, cursor, dotted, before, where)]
    else:
        child = cursor.get(part)
        if child is None:
            child = cursor[part] = {}
    if not isinstance(child, (dict, list)):
        raise SettingError(where + dotted, f"cannot set {dotted!r}: {'.'.join(before + [part])!r} is a value "
                           f"({child!r}), not a mapping or a list")
    return child


def _index(part: str, items: list, dotted: str, before: list[str], where: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        shown = repr(".".join(before)) if before else "the top level"
        raise SettingError(where + str(dotted), f"cannot set {dotted!r}: {shown} is a list of {len(items)} item(s), "
                           f"and {part!r} is not the index of one",
                           "a list index counts from 0 and names an item the list has: faults.0 is the first fault")
    return int(part)


def overlapping(keys: Iterable[str], loc: tuple | list) -> str | None:
    """The first of ``keys`` (dotted paths) that sets ``loc`` or something above or below it: the
    setting to blame for a validation error at ``loc``."""
    dotted = ".".join(map(str, loc))
    for key in keys:
        key = str(key)
        if key == dotted or dotted.startswith(key + ".") or (dotted and key.startswith(dotted + ".")):
            return key
    return None


def copy_tree(value: Any) -> Any:
    """A copy of nested mappings and lists that shares nothing (aliases become separate copies)."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def value_at(obj: Any, parts: list[str]) -> Any:
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


def field_name(root: Any, parts: list[str]) -> str:
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


def path_problem(annotation: Any, parts: list[str], depth: int = 0) -> tuple[int, list[str]] | None:
    """None when ``parts`` is a path the schema ``annotation`` has, else (the depth of the first
    bad part, the keys valid there)."""
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
                    problem = path_problem(field.annotation, parts[1:], depth + 1)
                    if problem is None:
                        return None
                    worst = problem if worst is None or problem[0] > worst[0] else worst
        elif kind == "dict":
            problem = path_problem(inner, parts[1:], depth + 1)
            if problem is None:
                return None
            worst = problem if worst is None or problem[0] > worst[0] else worst
        elif kind == "list" and part.isdigit():
            problem = path_problem(inner, parts[1:], depth + 1)
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
