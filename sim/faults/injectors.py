"""How each fault kind acts on a running world: ``apply`` returns the function that undoes it.

Faults of the same kind stack: each injector adds its effect and removes exactly that effect.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Callable

from sim.config.distributions import make_sampler
from sim.faults import specs

if TYPE_CHECKING:
    from sim.world import World

Undo = Callable[[], None]


def _add_probability(world: "World", label: str, obj: object, name: str, probability: float) -> Undo:
    """Combine active faults' independent probabilities on ``obj.name``: 1 - (1 - p1)(1 - p2)...
    ``label`` names the knob in ``world.fault_stacks`` (one stack per knob)."""
    stack = world.fault_stacks.setdefault(label, [])
    stack.append(probability)

    def recompute() -> None:
        keep = 1.0
        for p in stack:
            keep *= 1.0 - p
        setattr(obj, name, 1.0 - keep)

    recompute()

    def undo() -> None:
        stack.remove(probability)
        recompute()

    return undo


def reply_lost(world: "World", fault: specs.PspReplyLostAfterCommit, rng: random.Random) -> Undo:
    return _add_probability(world, "psp.reply_lost", world.psp.faults, "reply_lost_probability", fault.probability)


def no_reply(world: "World", fault: specs.PspNoReply, rng: random.Random) -> Undo:
    return _add_probability(world, "psp.no_reply", world.psp.faults, "no_reply_probability", fault.probability)


def psp_errors(world: "World", fault: specs.PspErrors, rng: random.Random) -> Undo:
    return _add_probability(world, "psp.errors", world.psp.faults, "error_probability", fault.probability)


def psp_outage(world: "World", fault: specs.PspOutage, rng: random.Random) -> Undo:
    faults = world.psp.faults
    if fault.fraction >= 1.0:
        faults.outage += 1

        def undo() -> None:
            faults.outage -= 1

        return undo
    return _add_probability(world, "psp.partial_outage", faults, "partial_outage_fraction", fault.fraction)


def psp_latency(world: "World", fault: specs.PspLatency, rng: random.Random) -> Undo:
    sampler = make_sampler(fault.added, rng)
    world.psp.faults.extra_latency.append(sampler)
    return lambda: world.psp.faults.extra_latency.remove(sampler)


def consumer_crash(world: "World", fault: specs.ConsumerCrash, rng: random.Random) -> Undo:
    group = world.consumer_groups[fault.target]
    instance = fault.instance
    group.crash(instance)
    return lambda: group.restart(instance)


INJECTORS: dict[str, Callable[["World", object, random.Random], Undo]] = {
    "psp_reply_lost_after_commit": reply_lost,
    "psp_no_reply": no_reply,
    "psp_errors": psp_errors,
    "psp_outage": psp_outage,
    "psp_latency": psp_latency,
    "consumer_crash": consumer_crash,
}
