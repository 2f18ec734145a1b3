"""Service-level objectives of a design (``slo:`` in a model, or ``overrides: {slo.<key>: ...}``
in a scenario): bounds an architect cares about beyond correctness. The ``slo`` oracle checks them
after every run, so ``paychaos explore`` hunts for schedules that break them as it does for
double charges. Each is a comparison such as ``"<= 3"``; an absent one is not checked."""

from __future__ import annotations

from pydantic import Field

from sim.config.base import Frozen
from sim.config.expectations import Check


class Slo(Frozen):
    """Bounds every run must meet (absent = not checked)."""

    psp_requests_per_order: Check | None = Field(
        None, description="retry amplification: PSP requests (charges and status queries) per order, e.g. '<= 3'"
    )
    p99_latency_ms: Check | None = Field(None, description="p99 end-to-end latency of orders that ended, in ms")
    goodput_per_s: Check | None = Field(
        None, description="orders that reached SUCCESS per second of the load phase (depends on the workload)"
    )
    time_to_recover_s: Check | None = Field(
        None, description="worst time to recover after a fault ends (never recovered: the rest of the run)"
    )
    success_rate: Check | None = Field(None, description="share of orders that ended SUCCESS")
