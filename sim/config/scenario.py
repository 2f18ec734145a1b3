"""A scenario: the model it plays against, traffic, faults, variants and expectations."""

from __future__ import annotations

from typing import Any

import difflib

from pydantic import Field, field_validator, model_validator

from sim.config.base import Frozen, PerSecond, PositiveInt, Probability, Seconds
from sim.config.expectations import Check
from sim.faults.specs import Fault
from sim.oracles.coverage import PATHS, known_paths_hint


class Spike(Frozen):
    """A burst of traffic (flash sale): the rate times ``multiplier`` from ``at`` for ``for``."""

    at_s: Seconds = Field(alias="at")
    for_s: Seconds = Field(alias="for")
    multiplier: float = Field(gt=0)


class Workload(Frozen):
    """Checkouts arriving at the store."""

    rate_per_s: PerSecond = Field(10.0, alias="rate", description="mean checkouts per second (Poisson)")
    spikes: list[Spike] = Field(default_factory=list)
    max_checkouts: PositiveInt | None = Field(None, description="stop arrivals after this many checkouts")
    max_orders_per_checkout: PositiveInt = Field(3, le=20, description="sellers per checkout, 1..k")
    amount_median_minor: PositiveInt = 4500
    amount_p99_minor: PositiveInt = 60000
    currencies: list[str] = Field(default_factory=lambda: ["EUR"], min_length=1)
    buyers: PositiveInt = Field(2000, le=1_000_000)
    sellers: PositiveInt = Field(200, le=1_000_000)
    hot_seller_share: Probability = Field(0.0, description="share of orders that go to seller 0 (contention)")

    @model_validator(mode="after")
    def _amounts(self) -> "Workload":
        if self.amount_p99_minor < self.amount_median_minor:
            raise ValueError("amount_p99_minor must be >= amount_median_minor")
        for code in self.currencies:
            if len(code) != 3 or not code.isalpha() or not code.isupper():
                raise ValueError(f"currency {code!r} is not an ISO 4217 code such as EUR or USD")
        return self


class Expectations(Frozen):
    """What must hold for the run to pass (exit 0); anything else exits 1."""

    double_charges: Check | None = None
    lost_payments: Check | None = None
    success_rate: Check | None = None
    p99_latency_ms: Check | None = None
    psp_attempts_per_order: Check | None = None
    dead_lettered: Check | None = None
    stuck: Check | None = None


class Scenario(Frozen):
    name: str
    description: str = ""
    model: str = Field(description="path of the model file, relative to this scenario file")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="model values to change, by dotted key path (executor.psp_timeout: 2s)"
    )
    seed: int = Field(1, ge=0, lt=2**63)
    duration_s: Seconds = Field(3600.0, alias="duration", gt=0, description="load phase: arrivals and faults")
    drain_s: Seconds = Field(1800.0, alias="drain", description="fault-free phase after the load to let queues drain")
    replications: PositiveInt = Field(1, le=10_000)
    workload: Workload = Workload()
    faults: list[Fault] = Field(default_factory=list)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named model overrides to compare (paychaos compare)"
    )
    expect: Expectations = Expectations()
    coverage: dict[str, Check] = Field(
        default_factory=dict,
        description="dangerous paths the run must hit, e.g. {reply_lost_after_commit: \">= 1\"} (fails otherwise)",
    )
    trace: bool = Field(False, description="record a per-order event trace (slower)")

    @field_validator("coverage")
    @classmethod
    def _known_paths(cls, value: dict) -> dict:
        for name in value:
            if name not in PATHS:
                close = difflib.get_close_matches(name, list(PATHS), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"unknown coverage path {name!r}; {hint}known paths: {known_paths_hint()}")
        return value
