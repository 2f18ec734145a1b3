"""Plays each fault's schedule and records every window it was active.

Faults act during the load phase only (the drain is fault-free); operator actions
(``dlq_replay``) may also happen during the drain. A ramped fault is applied in ``ramp_steps``
steps of growing intensity (each step replaces the previous one), then holds its full value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generator

import simpy

from sim.faults.injectors import INJECTORS
from sim.config.fault_specs import ACTIONS

if TYPE_CHECKING:
    from sim.world import World


@dataclass(frozen=True)
class FaultWindow:
    index: int
    kind: str
    target: str
    start_s: float
    end_s: float


def start_faults(world: "World", faults: list, load_end_s: float) -> list[FaultWindow]:
    """Start one process per fault; returns the (filled-in-as-it-runs) list of windows."""
    windows: list[FaultWindow] = []
    for index, fault in enumerate(faults):
        horizon = world.end_s if fault.kind in ACTIONS else load_end_s
        world.env.process(_play(world, index, fault, horizon, windows))
    return windows


def _occurrences(fault, load_end_s: float, rng) -> Generator[tuple[float, float], None, None]:
    """(start, end) of each activation, in order, clipped to the load phase."""
    if fault.kind in ACTIONS:
        if fault.at_s <= load_end_s:
            yield fault.at_s, fault.at_s
        return
    if fault.mtbf_s is not None:
        t = fault.at_s
        while True:
            t += rng.expovariate(1.0 / fault.mtbf_s)
            if t >= load_end_s:
                return
            end = min(load_end_s, t + rng.expovariate(1.0 / fault.mttr_s))
            yield t, end
            t = end
    start = fault.at_s
    length = fault.for_s if fault.for_s is not None else load_end_s - start
    while start < load_end_s:
        yield start, min(load_end_s, start + length)
        if fault.every_s is None:
            return
        start += fault.every_s


def _ramped(fault, step: int):
    """``fault`` at ``step / ramp_steps`` of its intensity."""
    field = fault.ramp_field
    return fault.model_copy(update={field: getattr(fault, field) * step / fault.ramp_steps})


def _play(world: "World", index: int, fault, load_end_s: float, windows: list[FaultWindow]) -> Generator[simpy.Event, None, None]:
    env = world.env
    inject = INJECTORS[fault.kind]
    rng = world.streams.stream(f"faults.{index}.{fault.kind}")
    counters = world.metrics.counters
    for start, end in _occurrences(fault, load_end_s, rng):
        if start > env.now:
            yield env.timeout(start - env.now)
        counters[f"faults.{fault.kind}.activations"] += 1
        if fault.ramp_s is None:
            undo = inject(world, fault, rng, end)
        else:
            steps = fault.ramp_steps
            step_s = fault.ramp_s / steps
            undo = inject(world, _ramped(fault, 1), rng, end)
            for step in range(2, steps + 1):
                at = start + (step - 1) * step_s
                if at >= end:
                    break
                yield env.timeout(at - env.now)
                previous = undo
                undo = inject(world, _ramped(fault, step), rng, end)
                previous()
        if end > env.now:
            yield env.timeout(end - env.now)
        undo()
        windows.append(FaultWindow(index, fault.kind, fault.target, start, end))
