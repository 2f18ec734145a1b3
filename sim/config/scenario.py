"""A scenario: the model it plays against, traffic, faults, variants and expectations.

The arrival rate at time t is ``rate × daily_shape[slice of the day] × every active spike's
multiplier``. A scenario whose expected size would take hours to simulate is refused up front.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import difflib

from pydantic import Field, Strict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sim.config.base import Frozen, PerSecond, PositiveInt, Probability, Seconds
from sim.config.expectations import Check
from sim.config.fault_specs import ACTIONS, Fault
from sim.config.coverage import PATHS, known_paths_hint


MAX_SPIKES = 1_000
"""Most traffic spikes in a workload (each rate change looks at every spike)."""
MAX_FAULTS = 1_000
"""Most faults in a scenario (each is a process in the simulation)."""
MAX_VARIANTS = 200
"""Most variants in a scenario (each is validated when the scenario loads)."""


class Spike(Frozen):
    """A burst of traffic (flash sale): the rate times ``multiplier`` from ``at`` for ``for``."""

    at_s: Seconds = Field(alias="at")
    for_s: Seconds = Field(alias="for")
    multiplier: float = Field(gt=0)


class Workload(Frozen):
    """Checkouts arriving at the store."""

    rate_per_s: PerSecond = Field(10.0, alias="rate", description="mean checkouts per second (Poisson)")
    spikes: list[Spike] = Field(default_factory=list, max_length=MAX_SPIKES)
    max_checkouts: PositiveInt | None = Field(None, description="stop arrivals after this many checkouts")
    max_orders_per_checkout: PositiveInt = Field(3, le=20, description="sellers per checkout, 1..k")
    amount_median_minor: PositiveInt = 4500
    amount_p99_minor: PositiveInt = 60000
    currencies: list[str] = Field(default_factory=lambda: ["EUR"], min_length=1)
    buyers: PositiveInt = Field(2000, le=1_000_000)
    sellers: PositiveInt = Field(200, le=1_000_000)
    hot_seller_share: Probability = Field(0.0, description="share of orders that go to seller 0 (contention)")
    daily_shape: list[float] | None = Field(
        None, min_length=1, max_length=1440,
        description="rate multipliers over the day in equal slices (24 values = one per hour), 1.0 = rate",
    )
    start_time_of_day_s: Seconds = Field(
        0.0, alias="start_time_of_day", description="time of day at simulated t = 0 (for daily_shape), e.g. 8h"
    )

    @model_validator(mode="after")
    def _amounts(self) -> "Workload":
        if self.amount_p99_minor < self.amount_median_minor:
            raise ValueError("amount_p99_minor must be >= amount_median_minor")
        for code in self.currencies:
            if len(code) != 3 or not code.isalpha() or not code.isupper():
                raise ValueError(f"currency {code!r} is not an ISO 4217 code such as EUR or USD")
        if self.daily_shape is not None:
            if any(not (0 <= m < math.inf) for m in self.daily_shape) or not any(self.daily_shape):
                raise PydanticCustomError(
                    "daily_shape", "daily_shape needs finite multipliers >= 0, not all zero", {"at": "daily_shape"}
                )
        if self.start_time_of_day_s >= DAY_S:
            raise PydanticCustomError("time_of_day", "start_time_of_day must be < 24h", {"at": "start_time_of_day"})
        return self

    def rate_multiplier(self, now_s: float) -> float:
        """The factor on ``rate`` at simulated time ``now_s`` (daily shape times active spikes)."""
        multiplier = 1.0
        shape = self.daily_shape
        if shape:
            day_s = (now_s + self.start_time_of_day_s) % DAY_S
            multiplier = shape[min(len(shape) - 1, int(day_s * len(shape) / DAY_S))]
        for spike in self.spikes:
            if spike.at_s <= now_s < spike.at_s + spike.for_s:
                multiplier *= spike.multiplier
        return multiplier

    def next_rate_change(self, now_s: float) -> float:
        """The next time after ``now_s`` the arrival rate may change (slice or spike edge), or +inf."""
        edges = [t for spike in self.spikes for t in (spike.at_s, spike.at_s + spike.for_s) if t > now_s]
        shape = self.daily_shape
        if shape and len(shape) > 1:
            slice_s = DAY_S / len(shape)
            day_s = now_s + self.start_time_of_day_s
            edge = (math.floor(day_s / slice_s) + 1) * slice_s - self.start_time_of_day_s
            edges.append(edge if edge > now_s else edge + slice_s)
        return min(edges, default=math.inf)

    def expected_checkouts(self, duration_s: float) -> float:
        """Mean number of checkouts arriving in ``[0, duration_s)`` (before ``max_checkouts``)."""
        total, now = 0.0, 0.0
        last_spike_end_s = max((spike.at_s + spike.for_s for spike in self.spikes), default=0.0)
        if self.daily_shape and duration_s - last_spike_end_s > 2 * DAY_S:  # whole days in closed form
            days = math.floor((duration_s - last_spike_end_s) / DAY_S) - 1
            total += self.rate_per_s * sum(self.daily_shape) / len(self.daily_shape) * DAY_S * days
            duration_s -= days * DAY_S  # the shape repeats daily, so the remaining span has the same mean
        while now < duration_s:
            change = min(self.next_rate_change(now), duration_s)
            total += self.rate_per_s * self.rate_multiplier(now) * (change - now)
            now = change
        if self.max_checkouts is not None:
            total = min(total, float(self.max_checkouts))
        return total


DAY_S = 86400.0
MAX_DURATION_S = 366 * DAY_S
"""Longest simulated time (load plus drain) a scenario may ask for."""
MAX_CHECKOUTS_PER_RUN = 20_000_000
"""Largest expected number of checkouts in one run (roughly an hour of simulation)."""
MAX_CHECKOUTS_IN_TOTAL = 200_000_000
"""Largest expected number over all replications and variants of a scenario."""
MAX_BINS = 100_000
"""Most time bins in a run's series ((duration + drain) / bin); each bin is also a gauge sample."""
MAX_FAULT_OCCURRENCES = 100_000
"""Most activations one fault may be expected to have in the load phase (an event storm otherwise)."""


class Expectations(Frozen):
    """What must hold for the run to pass (exit 0); anything else exits 1."""

    double_charges: Check | None = None
    lost_payments: Check | None = None
    success_rate: Check | None = None
    p99_latency_ms: Check | None = None
    psp_attempts_per_order: Check | None = None
    dead_lettered: Check | None = None
    stuck: Check | None = None
    time_to_recover_s: Check | None = Field(
        None, description="worst time to recover after a fault, in seconds (goodput back to 90 % of its level "
        "and the backlog drained; a fault never recovered from counts as the rest of the run)"
    )
    time_collapsed_s: Check | None = Field(
        None, description="seconds of the load phase with goodput below half its level before the first fault"
    )
    wasted_work_share: Check | None = Field(
        None, description="share of all service time spent on requests whose caller had already given up"
    )
    late_ledger_bookings: Check | None = Field(
        None, description="payments the ledger booked later than ledger.on_time_within after they succeeded "
        "(timeliness)"
    )


class Scenario(Frozen):
    name: str
    description: str = ""
    model: str = Field(description="path of the model file, relative to this scenario file")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="model values to change, by dotted key path (executor.psp_timeout: 2s)"
    )
    seed: Annotated[int, Strict()] = Field(1, ge=0, lt=2**63)
    duration_s: Seconds = Field(3600.0, alias="duration", gt=0, description="load phase: arrivals and faults")
    drain_s: Seconds = Field(1800.0, alias="drain", description="fault-free phase after the load to let queues drain")
    replications: PositiveInt = Field(1, le=10_000)
    workload: Workload = Workload()
    faults: list[Fault] = Field(default_factory=list, max_length=MAX_FAULTS)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, max_length=MAX_VARIANTS, description="named model overrides to compare (paychaos compare)"
    )
    expect: Expectations = Expectations()
    coverage: dict[str, Check] = Field(
        default_factory=dict,
        description="dangerous paths the run must hit, e.g. {reply_lost_after_commit: \">= 1\"} (fails otherwise)",
    )
    trace: bool = Field(False, description="record a per-order event trace (slower)")
    bin_s: Seconds | None = Field(
        None, alias="bin", gt=0,
        description="time-series bin width, e.g. 100ms to see sub-second bursts (default: a few hundred bins per run)",
    )

    @model_validator(mode="after")
    def _feasible(self) -> "Scenario":
        """Refuse sizes that would run for days instead of failing slowly (or never finishing)."""
        total_s = self.duration_s + self.drain_s
        if total_s > MAX_DURATION_S:
            raise PydanticCustomError(
                "too_large", "duration plus drain is {days} days of simulated time; at most 366 days can be "
                "simulated (shorten duration or drain)", {"at": "duration", "days": f"{total_s / DAY_S:.3g}"},
            )
        per_run = self.workload.expected_checkouts(self.duration_s)
        if per_run > MAX_CHECKOUTS_PER_RUN:
            raise PydanticCustomError(
                "too_large", "this workload means about {count} checkouts per run (rate × duration, with spikes "
                "and the daily shape); at most {limit} can be simulated in reasonable time: lower workload.rate, "
                "shorten duration, or set workload.max_checkouts",
                {"at": "workload.rate", "count": f"{per_run:.3g}", "limit": f"{MAX_CHECKOUTS_PER_RUN:.0e}"},
            )
        # replications × variants is checked at load, when the model says which clients play
        # (sim.config.workload_fit.check_workload_fits): a closed population is sized by N × duration / think time
        self._check_bins(total_s)
        for index, fault in enumerate(self.faults):
            _check_fault_timing(index, fault, self.duration_s, total_s)
        return self

    def total_size_problem(self, runs: int, formula: str = "replications", per_run: float | None = None) -> str | None:
        """Why ``runs`` runs of this scenario would be too many checkouts in total (None if not).
        ``per_run``: checkouts one run makes, from the clients that play
        (:func:`sim.config.workload_fit.expected_checkouts`: a closed population's N × duration / think
        time); None: the open rate's (this file alone does not say which clients play)."""
        if per_run is None:
            per_run = self.workload.expected_checkouts(self.duration_s)
        if per_run * runs <= MAX_CHECKOUTS_IN_TOTAL:
            return None
        return (f"{runs} runs ({formula}) of about {per_run:.3g} checkouts each exceed "
                f"{MAX_CHECKOUTS_IN_TOTAL:.0e} checkouts in total: lower replications or the workload")

    def _check_bins(self, total_s: float) -> None:
        if self.bin_s is not None and total_s / self.bin_s > MAX_BINS:
            raise PydanticCustomError(
                "too_large", "bin {bin} over duration + drain = {total} s makes {bins} time bins ((duration + drain) "
                "/ bin); at most {limit}: widen bin to at least {least} s",
                {"at": "bin", "bin": f"{self.bin_s:g} s", "total": f"{total_s:g}", "bins": f"{total_s / self.bin_s:.3g}",
                 "limit": str(MAX_BINS), "least": f"{total_s / MAX_BINS:.3g}"},
            )

    @field_validator("coverage")
    @classmethod
    def _known_paths(cls, value: dict) -> dict:
        for name in value:
            if name not in PATHS:
                close = difflib.get_close_matches(name, list(PATHS), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"unknown coverage path {name!r}; {hint}known paths: {known_paths_hint()}")
        return value


def _check_fault_timing(index: int, fault: Fault, duration_s: float, total_s: float) -> None:
    """A fault must start while it can act (an action by the end of the drain, any other kind
    before the load phase ends: faults stop with the load) and must not be an event storm."""
    if fault.kind in ACTIONS:
        if fault.at_s > total_s:
            raise PydanticCustomError(
                "fault_after_end", "this action is at {at} s, after the run ends (duration + drain = {end} s): it "
                "would never happen; move 'at' before {end} s", {"at": f"faults.{index}.at", "end": f"{total_s:g}"}
            )
        return
    if fault.at_s >= duration_s:
        raise PydanticCustomError(
            "fault_after_end", "this fault starts at {start} s, when the load phase (duration = {end} s) has ended; "
            "faults act only during the load phase, so it would never be active: move 'at' before {end} s or "
            "lengthen duration", {"at": f"faults.{index}.at", "start": f"{fault.at_s:g}", "end": f"{duration_s:g}"}
        )
    window_s = duration_s - fault.at_s
    for key, period_s, formula in (("every", fault.every_s, "(duration - at) / every"),
                                   ("mtbf", None if fault.mtbf_s is None else fault.mtbf_s + fault.mttr_s,
                                    "(duration - at) / (mtbf + mttr)")):
        if period_s is None:
            continue
        count = window_s / period_s * (1 + (fault.ramp_steps if fault.ramp_s is not None else 0))
        if count > MAX_FAULT_OCCURRENCES:
            raise PydanticCustomError(
                "too_large", "this schedule means about {count} activations in the load phase ({formula}{ramp}); "
                "at most {limit}: lengthen {key}",
                {"at": f"faults.{index}.{key}", "count": f"{count:.3g}", "formula": formula,
                 "ramp": " × (1 + ramp_steps)" if fault.ramp_s is not None else "", "limit": str(MAX_FAULT_OCCURRENCES),
                 "key": key},
            )
