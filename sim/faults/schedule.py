"""When a fault is active: at t for d, periodic, or random with MTBF/MTTR."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.config.base import Frozen, Seconds


class FaultSchedule(Frozen):
    """Schedule fields shared by every fault kind."""

    at_s: Seconds = Field(0.0, alias="at", description="when the fault starts")
    for_s: Seconds | None = Field(
        None, alias="for", description="how long it lasts; absent = until the end of the load phase"
    )
    every_s: Seconds | None = Field(None, alias="every", description="repeat with this period (periodic faults)")
    mtbf_s: Seconds | None = Field(None, alias="mtbf", description="random schedule: mean time between failures")
    mttr_s: Seconds | None = Field(None, alias="mttr", description="random schedule: mean time to repair")

    @model_validator(mode="after")
    def _consistent(self) -> "FaultSchedule":
        if (self.mtbf_s is None) != (self.mttr_s is None):
            raise ValueError("mtbf and mttr go together: give both for a random schedule, or neither")
        if self.mtbf_s is not None and self.mtbf_s <= 0:
            raise ValueError("mtbf must be > 0")
        if self.every_s is not None:
            if self.for_s is None:
                raise ValueError("a periodic fault needs 'for' (how long each occurrence lasts)")
            if self.every_s <= self.for_s:
                raise ValueError("'every' must be longer than 'for'")
        return self
