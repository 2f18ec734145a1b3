"""Shared building blocks of the configuration schema.

YAML keys read naturally (``timeout: 250ms``); the Python attribute carries the unit
(``timeout_s``) through a pydantic alias. Every object is frozen and rejects unknown keys.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from sim.units import (
    DURATION_EXAMPLES, DURATION_PATTERN, RATE_EXAMPLES, RATE_PATTERN, SIGNED_DURATION_PATTERN, parse_duration_s,
    parse_rate_per_s, parse_signed_duration_s,
)


class Frozen(BaseModel):
    """Base of every config object: immutable, strict about unknown keys, YAML names as aliases."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


Seconds = Annotated[
    float,
    BeforeValidator(parse_duration_s),
    WithJsonSchema({"type": ["string", "number"], "pattern": DURATION_PATTERN, "minimum": 0, "description": DURATION_EXAMPLES}),
]
"""A duration written with a unit (``250ms``), held as seconds."""

SignedSeconds = Annotated[
    float,
    BeforeValidator(parse_signed_duration_s),
    WithJsonSchema({"type": ["string", "number"], "pattern": SIGNED_DURATION_PATTERN,
                    "description": "an offset that may be negative, e.g. -20m or 90s"}),
]
"""A duration that may be negative (an offset), held as seconds."""

PerSecond = Annotated[
    float,
    BeforeValidator(parse_rate_per_s),
    WithJsonSchema({"type": ["string", "number"], "pattern": RATE_PATTERN, "minimum": 0, "description": RATE_EXAMPLES}),
]
"""A rate written with a unit (``200/s``), held as events per second."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
"""A count of at least one; strict, so ``true`` or ``2.5`` is refused rather than coerced to 1 or 2."""
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
"""A count that may be zero; strict like ``PositiveInt``."""
