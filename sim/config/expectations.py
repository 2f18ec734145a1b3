"""Expectations and coverage requirements: ``">= 0.99"``, ``"<= 3000"``, or a bare number (==)."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Annotated, Callable

from pydantic import BeforeValidator, WithJsonSchema

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt, "!=": operator.ne,
}
_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
COMPARISON_PATTERN = _RE.pattern
COMPARISON_EXAMPLES = 'a number (means ==) or a comparison such as ">= 0.99", "<= 3000", "== 0"'


@dataclass(frozen=True)
class Comparison:
    op: str
    value: float

    def holds(self, observed: float | None) -> bool:
        return observed is not None and observed == observed and _OPS[self.op](observed, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_comparison(raw: object) -> Comparison:
    if isinstance(raw, Comparison):
        return raw
    if isinstance(raw, bool):
        raise ValueError(f"expected {COMPARISON_EXAMPLES}, got {raw!r}")
    if isinstance(raw, (int, float)):
        try:
            return Comparison("==", float(raw))
        except OverflowError:  # an integer beyond any float
            raise ValueError(f"{raw} is too large to compare with; write {COMPARISON_EXAMPLES}") from None
    if isinstance(raw, str):
        match = _RE.match(raw)
        if match:
            return Comparison(match.group(1) or "==", float(match.group(2)))
    raise ValueError(f"{raw!r} is not a comparison; write {COMPARISON_EXAMPLES}")


Check = Annotated[
    Comparison,
    BeforeValidator(parse_comparison),
    WithJsonSchema({"type": ["string", "number"], "pattern": COMPARISON_PATTERN, "description": COMPARISON_EXAMPLES}),
]
