"""Turn pydantic's validation errors into sentences an architect can act on.

Each error becomes (key path, what is wrong, what would be valid): "expected an integer, got
'many'", "unknown key 'worklaod' (did you mean 'workload'?)". The loader adds file, line, column.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

_TYPE_NAMES = {
    "int": "an integer", "float": "a number", "bool": "true or false", "string": "text (quote it)",
    "list": "a list ([a, b] or one '- item' per line)", "dict": "a mapping (key: value)",
    "model_attributes": "a mapping (key: value)", "model": "a mapping (key: value)",
}
_BOUNDS = {
    "greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="), "less_than": ("lt", "<"),
}


def vocabulary(model: type[BaseModel], seen: set | None = None) -> set[str]:
    """Every key name the schema under ``model`` accepts (for did-you-mean)."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    words: set[str] = set()
    for name, field in model.model_fields.items():
        words.add(field.alias or name)
        for candidate in _classes_in(field.annotation):
            words |= vocabulary(candidate, seen)
    return words


def _classes_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_classes_in(arg))
    if getattr(annotation, "__metadata__", ()):
        found.extend(_classes_in(getattr(annotation, "__origin__", None)))
    return found


def did_you_mean(given: object, options: list[str] | set[str], cutoff: float = 0.6) -> str | None:
    """A hint naming the closest option to ``given``, if any is close."""
    close = difflib.get_close_matches(str(given), sorted(options), n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else None


def _options(expected: str) -> list[str]:
    """'a', 'b' or 'c' → [a, b, c]."""
    return [part.strip(" '\"") for part in str(expected).replace(" or ", ",").split(",") if part.strip(" '\"")]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def valid_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys accepted at ``loc`` (best effort), for 'valid keys here are ...' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            classes = _classes_in(field.annotation)
            current = classes[0] if len(classes) == 1 else None
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or n for n, f in current.model_fields.items())
    return []


def describe(error: dict, words: set[str]) -> tuple[str, str | None]:
    """(what is wrong, what would be valid) for one pydantic error."""
    kind = error["type"]
    message = str(error["msg"])
    given = error.get("input")
    ctx = error.get("ctx") or {}
    hint = None
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    elif message.startswith("Assertion failed, "):
        message = message[len("Assertion failed, "):]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        message = f"unknown key {key!r}"
        hint = did_you_mean(key, words) or "remove it, or check the spelling against `paychaos schema`"
    elif kind == "missing":
        message = "required key is missing"
    elif kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        message = f"{_shown(given)} is not allowed; expected one of {expected}"
        hint = did_you_mean(given, _options(expected), cutoff=0.5)
    elif kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        field = str(ctx.get("discriminator", "kind")).strip("'")
        hint = did_you_mean(ctx.get("tag"), _options(expected), cutoff=0.5)
        known = len(_options(expected))  # with a close match, the match alone; else the whole list
        message = (f"{field} {ctx.get('tag')!r} is not known" + (f" (one of {known}; `paychaos catalog` lists them)"
                   if hint else f"; known: {expected}"))
    elif kind == "union_tag_not_found":
        field = str(ctx.get("discriminator", "kind")).strip("'")
        message = f"needs a {field!r} key saying which kind this is"
    elif kind.endswith(("_type", "_parsing")) and kind.rsplit("_", 1)[0] in _TYPE_NAMES:
        message = f"expected {_TYPE_NAMES[kind.rsplit('_', 1)[0]]}, got {_shown(given)}"
    elif kind in _BOUNDS:
        name, op = _BOUNDS[kind]
        message = f"must be {op} {ctx.get(name)}, got {_shown(given)}"
    elif kind in ("too_short", "too_long"):
        message = f"{message[0].lower()}{message[1:]}"
    return message, hint
