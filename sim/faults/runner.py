"""Plays each fault's schedule during the load phase and records every window it was active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generator

import simpy

from sim.faults.injectors import INJECTORS

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
        world.env.process(_play(world, index, fault, load_end_s, windows))
    return windows


def _occurrences(fault, load_end_s: float, rng) -> Generator[tuple[float, float], None, None]:
    """(start, end) of each activation, in order, clipped to the load phase."""
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


def _play(world: "World", index: int, fault, load_end_s: float, windows: list[FaultWindow]) -> Generator[simpy.Event, None, None]:
    env = world.env
    inject = INJECTORS[fault.kind]
    rng = world.streams.stream(f"faults.{index}.{fault.kind}")
    for start, end in _occurrences(fault, load_end_s, rng):
        if start > env.now:
            yield env.timeout(start - env.now)
        undo = inject(world, fault, rng)
        world.metrics.counters[f"faults.{fault.kind}.activations"] += 1
        if end > env.now:
            yield env.timeout(end - env.now)
        undo()
        windows.append(FaultWindow(index, fault.kind, getattr(fault, "target", ""), start, end))
