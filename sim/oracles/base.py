"""A violation record: which oracle, which orders, what happened, when, under which seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Violation:
    oracle: str
    message: str
    orders: list[int] = field(default_factory=list)
    at_s: float | None = None
    events: list[tuple[float, str]] = field(default_factory=list)
    """What happened to the first order, from a traced deterministic re-run."""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["at_s"] = None if self.at_s is None else round(self.at_s, 6)
        data["events"] = [[round(t, 6), what] for t, what in self.events]
        return data


@dataclass
class Verdict:
    oracle: str
    description: str
    violations: list[Violation]
    count: int
    """Total violations (``violations`` keeps the first few)."""

    @property
    def passed(self) -> bool:
        return self.count == 0

    def to_dict(self) -> dict:
        return {
            "oracle": self.oracle,
            "description": self.description,
            "passed": self.passed,
            "count": self.count,
            "violations": [v.to_dict() for v in self.violations],
        }


MAX_KEPT = 20
