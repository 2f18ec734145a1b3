"""When a fault is active: at t for d, periodic, random with MTBF/MTTR, and optionally ramped."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from sim.config.base import Frozen, PositiveInt, Seconds


class FaultSchedule(Frozen):
    """Schedule fields shared by every fault kind."""

    ramp_field: ClassVar[str | None] = None
    """The parameter a ``ramp`` grows from 0 to its value (None: this kind cannot be ramped)."""
    needs_duration: ClassVar[bool] = False
    contract_breach: ClassVar[str | None] = None
    """Set on kinds where a dependency breaks its own documented guarantee, so that no design
    can be expected to survive them; exploration of a design leaves them out (and says why)."""
    """True when the kind acts over a window that must be given with ``for`` (or MTBF/MTTR)."""

    at_s: Seconds = Field(0.0, alias="at", description="when the fault starts")
    for_s: Seconds | None = Field(
        None, alias="for", description="how long it lasts; absent = until the end of the load phase"
    )
    every_s: Seconds | None = Field(None, alias="every", description="repeat with this period (periodic faults)")
    mtbf_s: Seconds | None = Field(None, alias="mtbf", description="random schedule: mean time between failures")
    mttr_s: Seconds | None = Field(None, alias="mttr", description="random schedule: mean time to repair")
    ramp_s: Seconds | None = Field(
        None, alias="ramp",
        description="grow the fault's intensity linearly from 0 to its value over this long, in ramp_steps steps",
    )
    ramp_steps: PositiveInt = Field(10, le=1000, description="steps of a ramp")

    @model_validator(mode="after")
    def _consistent(self) -> "FaultSchedule":
        if (self.mtbf_s is None) != (self.mttr_s is None):
            raise ValueError("mtbf and mttr go together: give both for a random schedule, or neither")
        if self.mtbf_s is not None and self.mtbf_s <= 0:
            raise ValueError("mtbf must be > 0")
        if self.mttr_s is not None and self.mttr_s <= 0:
            raise ValueError("mttr must be > 0")
        if self.every_s is not None:
            if self.for_s is None:
                raise ValueError("a periodic fault needs 'for' (how long each occurrence lasts)")
            if self.every_s <= self.for_s:
                raise ValueError("'every' must be longer than 'for'")
        if self.ramp_s is not None:
            if self.ramp_field is None:
                raise ValueError("this fault kind has no intensity to ramp; remove 'ramp'")
            if self.ramp_s <= 0:
                raise ValueError("ramp must be > 0")
            if self.for_s is not None and self.ramp_s > self.for_s:
                raise ValueError("'ramp' must not be longer than 'for'")
        if self.needs_duration and self.for_s is None and self.mtbf_s is None:
            raise ValueError("this fault kind needs 'for' (how long it lasts) or mtbf/mttr")
        return self
