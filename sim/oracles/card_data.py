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
from typing import TYPE_CHECKING

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
    outside = (world.psp, world.banks, world.population, world.truth, world.metrics, world.streams, world.env)
    scan = _Scan({card.number for card in world.population.cards}, {id(x) for x in outside})
    for root, store in platform_stores(world).items():
        scan.visit(store, root, 0)
    return scan.violations


def _card_in(value: object, numbers: set[str], as_ints: set[int]) -> str | None:
    if isinstance(value, str):
        if len(value) >= 12:
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


class _Scan:
    """One scan: the issued card numbers (as text and as integers), what was visited, what was
    found. Leaves (text, numbers, integer arrays) are checked as found, not gathered into a list (a
    tuple per leaf, millions in a long run); a plain recursive call per value, not a generator chain
    that hands each leaf up through every level. A container's items that are plain floats, integers,
    booleans or None, most of what a run holds, are checked in the container's loop without a call."""

    def __init__(self, numbers: set[str], skip: set[int]) -> None:
        self.numbers = numbers
        self.as_ints = {int(n) for n in numbers}
        self.skip = skip
        self.visited: set[int] = set()
        self.violations: list[Violation] = []
        self.seen_paths: set[str] = set()
        self.declared: dict[type, list[str]] = {}

    def leaf(self, path: str, value: object) -> None:
        found = _card_in(value, self.numbers, self.as_ints)
        if found and path not in self.seen_paths:
            self.seen_paths.add(path)
            self.violations.append(Violation("no_card_data", f"card number {_masked(found)} stored in {path}"))

    def class_attributes(self, kind: type) -> list[str]:
        """The attributes a class declares outside instance dictionaries (slots; a compiled class's
        fields, which are descriptors), looked up once per class and scan."""
        names = self.declared.get(kind)
        if names is None:
            names = []
            for cls in kind.__mro__:
                names.extend(getattr(cls, "__slots__", ()))
                if cls.__module__ in COMPILED:  # compiled (sim.native), a class keeps its attributes as descriptors
                    names.extend(name for name, value in vars(cls).items() if type(value) is GetSetDescriptorType)
            self.declared[kind] = names
        return names

    def item(self, value: object, path: str, depth: int) -> None:
        """``visit`` for a container's item, with the common scalar types checked inline."""
        kind = type(value)
        if kind is float or value is None or kind is bool:
            return
        if kind is int:
            if value in self.as_ints:
                self.leaf(path, value)
            return
        self.visit(value, path, depth)

    def visit(self, obj: object, path: str, depth: int) -> None:
        """Check every leaf value under ``obj``, depth first, with a readable path; the path of a
        container's items is formatted once per container."""
        if isinstance(obj, (str, int, array)):
            self.leaf(path, obj)
            return
        if obj is None or isinstance(obj, (float, bytes, bytearray, bool, random.Random, simpy.Environment)):
            return
        key = id(obj)
        if key in self.skip or key in self.visited or depth > MAX_DEPTH or callable(obj) and not hasattr(obj, "__dict__"):
            return
        self.visited.add(key)
        depth += 1
        item = self.item
        if isinstance(obj, dict):
            key_path, item_path = f"{path}[key]", f"{path}[]"
            for key, value in obj.items():
                item(key, key_path, depth)
                item(value, f"{path}[{key!r}]" if isinstance(key, str) else item_path, depth)
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            item_path = f"{path}[]"
            as_ints = self.as_ints
            for value in obj:
                kind = type(value)
                if kind is float or value is None or kind is bool:
                    continue
                if kind is int:
                    if value in as_ints:
                        self.leaf(item_path, value)
                    continue
                self.visit(value, item_path, depth)
        elif isinstance(obj, simpy.Event):
            return
        else:
            names = [*getattr(obj, "__dict__", ()), *self.class_attributes(type(obj))]
            for name in dict.fromkeys(names):
                if name.startswith("__"):
                    continue
                try:
                    value = getattr(obj, name)
                except AttributeError:
                    continue
                item(value, f"{path}.{name.lstrip('_')}", depth)


def _masked(number: str) -> str:
    return f"{number[:6]}…{number[-4:]}"
