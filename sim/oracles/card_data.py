"""No card data on our side (docs/design.md §9.10): no card number ever reaches an internal store or
message. The scan walks the real values the platform holds at the end of the run — database
tables, Kafka logs, the DLQ, the executor, wallet, ledger, the service's logs, the trace — and
looks for any issued card number, as text or as a number. The PSP, the banks and the population
(the outside world, where card numbers legitimately live) are not scanned."""

from __future__ import annotations

import random
import re
from array import array
from collections import deque
from types import GetSetDescriptorType
from typing import TYPE_CHECKING, Callable

import simpy

from sim.native import COMPILED
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World

_DIGITS = re.compile(r"\d{12,19}")
MAX_DEPTH = 8


def platform_stores(world: "World") -> dict[str, object]:
    """Where the platform keeps data: every root the scan starts from, by name."""
    return {
        "dlq": world.dlq,
        "ledger": world.ledger,
        "wallet": world.wallet,
        "orders": world.orders,
        "checkouts": world.checkouts,
        "kafka": world.topics,
        "executor": world.executor,
        "monitor": world.monitor,
        "trace": world.trace,
        "payment_service": world.payment_service,
    }
    """Specific stores first: a store reachable from several roots is reported under the first."""


def no_card_data(world: "World") -> list[Violation]:
    numbers = {card.number for card in world.population.cards}
    as_ints = {int(n) for n in numbers}
    outside = (world.psp, world.banks, world.population, world.truth, world.metrics, world.streams, world.env)
    skip = {id(x) for x in outside}
    violations: list[Violation] = []
    seen_paths: set[str] = set()
    visited: set[int] = set()

    def check(path: str, value: object) -> None:
        found = _card_in(value, numbers, as_ints)
        if found and path not in seen_paths:
            seen_paths.add(path)
            violations.append(Violation(
                "no_card_data", f"card number {_masked(found)} stored in {path}",
            ))

    for root, store in platform_stores(world).items():
        _collect(store, root, skip, visited, 0, check)
    return violations


def _card_in(value: object, numbers: set[str], as_ints: set[int]) -> str | None:
    if isinstance(value, str):
        for match in _DIGITS.findall(value):
            if match in numbers:
                return match
    elif isinstance(value, array):
        if value.typecode in "lLqQ":
            hit = as_ints.intersection(value)
            if hit:
                return str(min(hit))
    elif isinstance(value, int) and value in as_ints:
        return str(value)
    return None


def _collect(obj: object, path: str, skip: set[int], visited: set[int], depth: int,
             leaf: Callable[[str, object], None]) -> None:
    """Call ``leaf(path, value)`` for each leaf value (text, numbers, integer arrays) under
    ``obj``, depth first, with a readable path: checked as found, not gathered into a list (a
    tuple per leaf, millions in a long run). A plain recursive call per value, not a generator
    chain that hands each leaf up through every level; the path of a container's items is
    formatted once per container."""
    if isinstance(obj, (str, int, array)):
        leaf(path, obj)
        return
    if obj is None or isinstance(obj, (float, bytes, bytearray, bool, random.Random, simpy.Environment)):
        return
    if id(obj) in skip or id(obj) in visited or depth > MAX_DEPTH or callable(obj) and not hasattr(obj, "__dict__"):
        return
    visited.add(id(obj))
    depth += 1
    if isinstance(obj, dict):
        key_path, item_path = f"{path}[key]", f"{path}[]"
        for key, value in obj.items():
            _collect(key, key_path, skip, visited, depth, leaf)
            _collect(value, f"{path}[{key!r}]" if isinstance(key, str) else item_path, skip, visited, depth, leaf)
    elif isinstance(obj, (list, tuple, set, frozenset, deque)):
        item_path = f"{path}[]"
        for item in obj:
            _collect(item, item_path, skip, visited, depth, leaf)
    elif isinstance(obj, simpy.Event):
        return
    else:
        names = list(getattr(obj, "__dict__", {}))
        for cls in type(obj).__mro__:
            names.extend(getattr(cls, "__slots__", ()))
            if cls.__module__ in COMPILED:  # compiled (sim.native), a class keeps its attributes as descriptors
                names.extend(name for name, value in vars(cls).items() if type(value) is GetSetDescriptorType)
        for name in dict.fromkeys(names):
            if name.startswith("__"):
                continue
            try:
                value = getattr(obj, name)
            except AttributeError:
                continue
            _collect(value, f"{path}.{name.lstrip('_')}", skip, visited, depth, leaf)


def _masked(number: str) -> str:
    return f"{number[:6]}…{number[-4:]}"
