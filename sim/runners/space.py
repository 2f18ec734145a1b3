"""The space of plans ``explore`` searches, shared by its strategies: which faults exist for a
model (every kind and target of the catalogue, each parameter's levels), and how a plan is made,
mutated (guided search) or enumerated (bounded-exhaustive search).

A plan is the YAML-ready scenario dict the random strategy draws (see ``sim.runners.explore``):
``name``, ``seed``, ``duration``, ``drain``, ``workload``, ``faults``. Every choice here is drawn
from an explicit ``random.Random`` given by the caller, uniformly over (kind, target) pairs, so a
rare target (a risk-service outage, a wallet consumer crash) is as likely as a frequent one.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Iterator

from sim.runners.swarm import MAX_FAULTS, KindInfo

DRAIN = "1h"
"""Fault-free drain after the load phase (as the random strategy's plans)."""
LOAD_LEVELS_S = (60, 30, 120)
RATE_LEVELS_PER_S = (5, 20, 1)
CHECKOUT_LEVELS = (300, 1200, 100, 30, 10, 3, 1)
"""300 at 5/s, 1200 at 20/s: traffic over the whole first load phase (a fault anywhere in it meets
payments)."""
LOADED = (20, 1200)
"""(rate, checkouts) of a loaded system: queues and polls hold several messages, so a crash finds
work in flight (an at-most-once consumer loses what it polled and had not processed)."""
WORKLOAD_DEFAULTS = {"buyers": 200, "sellers": 20}
EXPLORED_CURRENCIES = ("EUR", "USD")
"""The workload's currencies in explored plans (two: cross-currency mistakes need two), unless
the model's FX settles in others (:func:`workload_currencies`)."""


def workload_currencies(settlement_currency: str | None, rated: list[str]) -> list[str]:
    """The currencies a plan's workload pays in: EUR and USD, or with FX on (a settlement currency
    and starting rates), those of EUR and USD the model can settle, then its other currencies: a
    workload in a currency the model has no rate for is refused."""
    if settlement_currency is None:
        return list(EXPLORED_CURRENCIES)
    settled = [settlement_currency, *sorted(rated)]
    return [c for c in EXPLORED_CURRENCIES if c in settled] + [c for c in settled if c not in EXPLORED_CURRENCIES]


def parameter_values(strategy: Any, simplest: Any) -> list:
    """The values a swarm parameter strategy draws from (simplest first), read from the
    Hypothesis strategy: ``sampled_from`` levels, booleans, small integer ranges."""
    elements = getattr(strategy, "elements", None)
    if elements is not None:
        return list(elements)
    function = getattr(strategy, "function", None)
    args = getattr(strategy, "_LazyStrategy__args", ())
    name = getattr(function, "__name__", "")
    if name == "booleans":
        return [False, True]
    if name == "integers" and len(args) == 2:
        low, high = args
        return sorted({low, (low + high) // 2, high}, key=lambda v: v != simplest)
    return [simplest]


@dataclass(frozen=True)
class FaultChoice:
    """One (kind, target) a plan can hold, with each parameter's values (simplest first)."""

    kind: str
    target: str | None
    parameters: tuple[tuple[str, tuple], ...]

    def simplest(self) -> dict[str, Any]:
        return {key: values[0] for key, values in self.parameters}

    def make(self, at_s: int, for_s: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
        fault: dict[str, Any] = {"kind": self.kind, "at": f"{at_s}s", "for": f"{for_s}s"}
        if self.target is not None:
            fault["target"] = self.target
        fault.update(self.simplest() if params is None else params)
        return fault


def fault_choices(kinds: list[KindInfo]) -> list[FaultChoice]:
    """Every (kind, target) of the usable kinds, in catalogue order."""
    choices = []
    for info in kinds:
        parameters = tuple(
            (key, tuple(parameter_values(strategy, simplest))) for key, (strategy, simplest) in info.parameters.items()
        )
        for target in info.targets or (None,):
            choices.append(FaultChoice(info.kind, target, parameters))
    return choices


def seconds(text: str) -> int:
    return int(text.rstrip("s"))


class PlanSpace:
    """Plans for one model: a base plan, random faults, mutations, and an enumeration."""

    def __init__(self, kinds: list[KindInfo], name: str, currencies: list[str] | None = None) -> None:
        self.choices = fault_choices(kinds)
        self._by_kind_target = {(c.kind, c.target): c for c in self.choices}
        self.name = name
        self.currencies = list(currencies or EXPLORED_CURRENCIES)

    def plan(self, seed: int, load_s: int, rate: int, checkouts: int, faults: list[dict]) -> dict:
        return {
            "name": self.name, "seed": seed, "duration": f"{load_s}s", "drain": DRAIN,
            "workload": {"rate": f"{rate}/s", "max_checkouts": checkouts, **WORKLOAD_DEFAULTS,
                         "currencies": list(self.currencies)},
            "faults": faults,
        }

    def base(self, rng: random.Random, faults: list[dict] | None = None) -> dict:
        """A plan with a moderate workload over the whole load phase and ``faults`` (none by default)."""
        return self.plan(rng.getrandbits(32), LOAD_LEVELS_S[0], RATE_LEVELS_PER_S[0], CHECKOUT_LEVELS[0], faults or [])

    def seeds(self, rng: random.Random, rounds: int = 2) -> list[dict]:
        """The guided search's first plans: no fault, then each (kind, target) alone, under load,
        at random parameter levels, ``rounds`` times over: in a random window in the first round,
        over the whole load phase in the second (as the exhaustive search's last timing). A
        random window rarely spans a periodic job's every attempt (a payout run at 30 s retried
        for 15 s: about one window in five); the whole phase always does."""
        load_s = LOAD_LEVELS_S[0]
        singles = []
        for round_ in range(rounds):
            for choice in self.choices:
                if round_ % 2 == 0:
                    at_s = rng.randrange(load_s)
                    for_s = rng.randint(1, load_s - at_s)
                else:
                    at_s, for_s = 0, load_s
                fault = choice.make(at_s, for_s, {k: rng.choice(v) for k, v in choice.parameters})
                singles.append(self.plan(rng.getrandbits(32), load_s, *LOADED, [fault]))
        return [self.base(rng), *singles]

    def random_fault(self, rng: random.Random, load_s: int) -> dict:
        choice = rng.choice(self.choices)
        at_s = rng.randrange(load_s)
        for_s = rng.randint(1, load_s - at_s)
        return choice.make(at_s, for_s, {key: rng.choice(values) for key, values in choice.parameters})

    def mutate(self, parent: dict, rng: random.Random) -> dict:
        """A copy of ``parent`` with one to three random changes: add, drop or retime a fault,
        change one of its parameters, the workload, the load phase's length or the seed."""
        plan = copy.deepcopy(parent)
        for _ in range(rng.randint(1, 3)):
            self._mutate_once(plan, rng)
        return plan

    def _mutate_once(self, plan: dict, rng: random.Random) -> None:
        faults, load_s = plan["faults"], seconds(plan["duration"])
        operations = ["add", "workload", "seed", "load"]
        if faults:
            operations += ["drop", "retime", "parameter"]
        if len(faults) >= MAX_FAULTS:
            operations.remove("add")
        operation = rng.choice(operations)
        if operation == "add":
            faults.append(self.random_fault(rng, load_s))
        elif operation == "drop":
            faults.pop(rng.randrange(len(faults)))
        elif operation == "retime":
            fault = rng.choice(faults)
            at_s = rng.randrange(load_s)
            fault["at"], fault["for"] = f"{at_s}s", f"{rng.randint(1, load_s - at_s)}s"
        elif operation == "parameter":
            fault = rng.choice(faults)
            choice = self._by_kind_target.get((fault["kind"], fault.get("target")))
            if choice is not None and choice.parameters:
                key, values = rng.choice(choice.parameters)
                fault[key] = rng.choice(values)
        elif operation == "workload":
            workload = plan["workload"]
            if rng.random() < 0.5:
                workload["rate"] = f"{rng.choice(RATE_LEVELS_PER_S)}/s"
            else:
                workload["max_checkouts"] = rng.choice(CHECKOUT_LEVELS)
        elif operation == "seed":
            plan["seed"] = rng.getrandbits(32)
        else:
            new_load_s = rng.choice(LOAD_LEVELS_S)
            plan["duration"] = f"{new_load_s}s"
            for fault in faults:
                at_s = min(seconds(fault["at"]), new_load_s - 1)
                fault["at"] = f"{at_s}s"
                fault["for"] = f"{min(seconds(fault['for']), new_load_s - at_s)}s"

    # -- bounded-exhaustive ----------------------------------------------------------------
    EXHAUSTIVE_LOAD_S = 60
    EXHAUSTIVE_TIMINGS = ((10, 5), (25, 5), (40, 5), (0, 60))
    """Where a fault sits in the 60 s load phase: 5 s windows at 10, 25 and 40 s, or all of it."""
    EXHAUSTIVE_WORKLOADS = (LOADED, (1, 3))
    """(rate, checkouts): a loaded system over the whole load phase, and a three-checkout one."""
    EXHAUSTIVE_MAX_FAULTS = 2

    def exhaustive_faults(self) -> list[dict]:
        """Each (kind, target) at each timing, timing first: every fault is tried in the first
        window before any in the second."""
        return [choice.make(at_s, for_s) for at_s, for_s in self.EXHAUSTIVE_TIMINGS for choice in self.choices]

    def exhaustive_size(self) -> int:
        """How many cases :meth:`exhaustive` yields in all."""
        n = len(self.exhaustive_faults())
        sets = 1 + n + n * (n - 1) // 2
        return sets * len(self.EXHAUSTIVE_WORKLOADS)

    def exhaustive(self) -> Iterator[dict]:
        """Every plan of the bounded space, smallest first: no fault, then each fault alone, then
        each unordered pair of faults; under each workload in turn (the loaded one first); seed 0,
        simplest parameters (the most aggressive level: probabilities 1)."""
        faults = self.exhaustive_faults()
        singles = [[f] for f in faults]
        pairs = ([faults[i], faults[j]] for i in range(len(faults)) for j in range(i + 1, len(faults)))
        for size_class in ([[]], singles, pairs):
            sets = list(size_class)
            for rate, checkouts in self.EXHAUSTIVE_WORKLOADS:
                for fault_set in sets:
                    yield self.plan(0, self.EXHAUSTIVE_LOAD_S, rate, checkouts, copy.deepcopy(fault_set))
