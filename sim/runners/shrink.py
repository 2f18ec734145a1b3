"""Shrinking to the essence: a delta-debugging pass over a failing plan.

Hypothesis shrinks what it drew toward simpler draws; it can stop with faults, checkouts and
parameters that the failure does not need (a ``dlq_replay`` next to the forged redirect that
mattered). This pass removes, one at a time and greedily until nothing more can go, every fault,
every workload key and fault parameter (back to its default), and shortens the workload, the load
phase and each fault's window, keeping a change only when the plan still breaks the same oracle
(Zeller's ddmin with single-element steps: plans hold at most four faults).
"""

from __future__ import annotations

import copy
from typing import Callable, Iterator

from sim.runners.space import CHECKOUT_LEVELS, LOAD_LEVELS_S, RATE_LEVELS_PER_S, seconds

_FIXED_FAULT_KEYS = ("kind", "at", "for")
_OPTIONAL_WORKLOAD_KEYS = ("buyers", "sellers", "currencies")


def minimize(plan: dict, still_fails: Callable[[dict], bool]) -> dict:
    """The smallest plan reachable from ``plan`` by the removals and reductions of
    :func:`candidates` that ``still_fails``; ``plan`` itself if none does."""
    best = _fewest_checkouts(plan, still_fails)
    improved = True
    while improved:
        improved = False
        for candidate in candidates(best):
            if still_fails(candidate):
                best, improved = candidate, True
                break
    return best


def _fewest_checkouts(plan: dict, still_fails: Callable[[dict], bool]) -> dict:
    """Bisect ``max_checkouts`` down to the fewest that still fail: arrivals stop earlier and
    everything before them replays the same, so a violation needs at least the checkouts up to
    the one it happens to (about log2(n) runs)."""
    workload = plan["workload"]
    low, high = 1, workload.get("max_checkouts") or 0
    best = plan
    while low < high:
        middle = (low + high) // 2
        candidate = _with(plan, workload={**workload, "max_checkouts": middle})
        if still_fails(candidate):
            best, high = candidate, middle
        else:
            low = middle + 1
    return best


def candidates(plan: dict) -> Iterator[dict]:
    """Simpler neighbours of ``plan``, the biggest simplifications first."""
    faults = plan["faults"]
    for i in range(len(faults)):
        yield _with(plan, faults=faults[:i] + faults[i + 1:])
    workload = plan["workload"]
    checkouts = workload.get("max_checkouts") or max(CHECKOUT_LEVELS)
    for level in sorted({*CHECKOUT_LEVELS, checkouts // 2}):
        if 0 < level < checkouts:
            yield _with(plan, workload={**workload, "max_checkouts": level})
    load_s = seconds(plan["duration"])
    for level in sorted(LOAD_LEVELS_S):
        if level < load_s and all(seconds(f["at"]) < level for f in faults):
            shorter = [{**f, "for": f"{min(seconds(f['for']), level - seconds(f['at']))}s"} for f in faults]
            yield _with(plan, duration=f"{level}s", faults=shorter)
    for key in _OPTIONAL_WORKLOAD_KEYS:
        if key in workload:
            yield _with(plan, workload={k: v for k, v in workload.items() if k != key})
    rate = workload.get("rate")
    if isinstance(rate, str) and rate.endswith("/s"):
        for level in sorted(RATE_LEVELS_PER_S):
            if level < float(rate[:-2]):  # only lower: every step makes the plan strictly smaller
                yield _with(plan, workload={**workload, "rate": f"{level}/s"})
    for i, fault in enumerate(faults):
        for key in fault:
            if key not in _FIXED_FAULT_KEYS:
                yield _with_fault(plan, i, {k: v for k, v in fault.items() if k != key})
        at_s, for_s = seconds(fault["at"]), seconds(fault["for"])
        if at_s > 0:
            yield _with_fault(plan, i, {**fault, "at": "0s"})
        for shorter in sorted({1, for_s // 2}):
            if 0 < shorter < for_s:
                yield _with_fault(plan, i, {**fault, "for": f"{shorter}s"})


def _with(plan: dict, **changes) -> dict:
    new = copy.deepcopy(plan)
    new.update(copy.deepcopy(changes))
    return new


def _with_fault(plan: dict, index: int, fault: dict) -> dict:
    faults = list(plan["faults"])
    faults[index] = fault
    return _with(plan, faults=faults)
